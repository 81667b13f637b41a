"""The users' interpreter on the hub (cnnviz/deploy/hub_python.py)."""

from __future__ import annotations

from cnnviz.deploy import hub_python


def test_the_copied_interpreter_loads_its_own_libpython(tmp_path):
    """The copy's RUNPATH points at its own lib/, never back at the unreadable original (nor at another libpython)."""
    old = tmp_path / "versions" / "3.11.7"
    binary = tmp_path / "python3.11"
    body = b"\x7fELF...." + str(old / "lib").encode() + b"\0" + b"GLIBC_2.34\0" + str(old).encode() + b"\0"
    binary.write_bytes(body)
    hub_python._patch_runpath(binary, old)
    patched = binary.read_bytes()
    assert len(patched) == len(body)  # in place: no offset in the ELF file moves
    assert b"$ORIGIN/../lib\0" in patched and str(old / "lib").encode() not in patched
    assert str(old).encode() + b"\0" in patched  # the prefix itself is left alone
