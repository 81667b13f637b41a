"""The users' interpreter on the hub: the very Python the course's ``.venv`` runs, where every account may run it.

A Debian Python under ``/usr`` is used where it is. A Python no other account
can read (pyenv's under ``/root``, mode 0700) is copied, without its own
site-packages, to ``/srv/cnnviz-hub/python``, its RUNPATH pointed at its own
``lib/``, and checked as an unprivileged user. Never another build of the same
version: the lock is proven on this one (soupsieve ran on 3.11.7 and failed on
Debian's 3.11.2).
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

from cnnviz import CourseError
from cnnviz.deploy import hub_site

PYTHON_COPY = hub_site.SYSTEM / "python"  # the course venv's interpreter, for every user (course_python)


def _readable_by_all(path: Path) -> bool:
    """Whether any user can reach and run ``path`` (every parent folder searchable by others)."""
    path = path.resolve()
    if not path.exists() or not os.stat(path).st_mode & 0o005 == 0o005:
        return False
    return all(os.stat(parent).st_mode & 0o001 for parent in path.parents)


def course_python() -> Path:
    """The very interpreter of the course's ``.venv``, where every user may run it.

    Used in place when every user can read it (a Debian Python under /usr); else
    (pyenv's under /root, 0700) its installation, without its own site-packages, is
    copied to ``/srv/cnnviz-hub/python`` (``ensure_interpreter``). Never another
    build of the same version: the lock is proven on this one (the issue's
    soupsieve ran on 3.11.7 and failed on Debian's 3.11.2).
    """
    executable = Path(sys._base_executable).resolve()
    stdlib = Path(sys.base_prefix) / "lib" / python_name() / "os.py"
    if _readable_by_all(executable) and _readable_by_all(stdlib):
        return executable
    return PYTHON_COPY / "bin" / python_name()


def python_name() -> str:
    """``python3.11``: the interpreter's file name, and the folder of its standard library and site-packages."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def interpreter_identity() -> str:
    """What the users' interpreter is a copy of: its installation and its exact build."""
    return f"{sys.base_prefix} {sys.version} {sys.implementation.cache_tag}"


def _patch_runpath(binary: Path, old_prefix: Path) -> None:
    """Point the copied python's RUNPATH at its own lib/ (``$ORIGIN/../lib``), not the unreadable original.

    Without this a non-root user's python, denied /root/.pyenv/.../lib, would load
    another libpython of the same soname (Debian's 3.11.2 in /usr/lib): the same
    mismatch again, silently. The new path is shorter, so it replaces the old one
    in place, padded with NUL bytes (what patchelf does for a shorter path).
    """
    old = str(old_prefix / "lib").encode() + b"\0"
    new = b"$ORIGIN/../lib"
    data = binary.read_bytes()
    if data.count(old) == 0:
        return  # no RUNPATH into its own prefix (a static build): nothing to point elsewhere
    if data.count(old) != 1 or len(new) >= len(old):
        raise CourseError(f"cannot relocate {binary}: its library path {old_prefix / 'lib'} appears "
                          f"{data.count(old)} times; install a Python every user may run "
                          f"(apt-get install {python_name()})")
    binary.write_bytes(data.replace(old, new + b"\0" * (len(old) - len(new))))


def ensure_interpreter() -> Path:
    """The users' interpreter: ``course_python()``, copied and checked first when it must be."""
    python = course_python()
    if python.parent.parent != PYTHON_COPY:
        return python
    stamp = PYTHON_COPY / ".cnnviz-python"
    if stamp.is_file() and stamp.read_text() == interpreter_identity() and python.is_file():
        return python
    base = Path(sys.base_prefix)
    print(f"[hub] copying the course's Python ({platform.python_version()}, {base}) to {PYTHON_COPY}, "
          "without its site-packages, for every user", flush=True)
    if PYTHON_COPY.exists():
        shutil.rmtree(PYTHON_COPY)
    (PYTHON_COPY / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), python)  # a real copy: it is patched below
    _patch_runpath(python, base)
    for name in ("python3", "python"):
        (PYTHON_COPY / "bin" / name).symlink_to(python.name)
    (PYTHON_COPY / "lib").mkdir()
    for library in (base / "lib").glob("libpython*"):
        if library.is_symlink():
            (PYTHON_COPY / "lib" / library.name).symlink_to(os.readlink(library))
        elif library.is_file():
            hub_site.link_or_copy(str(library), str(PYTHON_COPY / "lib" / library.name))
    stdlib = base / "lib" / python_name()

    def not_copied(folder, names):
        # The base installation's own packages (pyenv's pip, aws, pytest, ...) and the stdlib's tests.
        return [n for n in names if folder == str(stdlib) and n in ("site-packages", "test")]

    shutil.copytree(stdlib, PYTHON_COPY / "lib" / python_name(), symlinks=True, copy_function=hub_site.link_or_copy,
                    ignore=not_copied)
    (PYTHON_COPY / "lib" / python_name() / "site-packages").mkdir()
    hub_site.run("chmod", "-R", "a+rX", str(PYTHON_COPY))
    _check_interpreter(python)
    stamp.write_text(interpreter_identity())
    return python


_PROBE = ("import sys; print(sys.version); "
          "print(*sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l}))")


def _check_interpreter(python: Path) -> None:
    """The copy, run by an unprivileged user, is this very build and loads its own libpython."""
    command = [str(python), "-I", "-c", _PROBE]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", *command]
    lines = hub_site.run(*command, cwd="/").stdout.splitlines()
    version, libraries = lines[0], lines[1].split() if len(lines) > 1 else []
    foreign = [lib for lib in libraries if not lib.startswith(str(PYTHON_COPY))]
    if version != sys.version or foreign:
        raise CourseError(f"the copied Python {python} is not the course's ({version!r}, loads {foreign}); "
                          f"install a Python every user may run (apt-get install {python_name()}) "
                          "and make .venv with it")
