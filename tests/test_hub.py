"""`make hub`'s JupyterHub configuration (cnnviz/deploy/hub.py), without starting anything.

The end-to-end class on a running hub is tests/e2e/test_hub_class.py (`make test-hub`).
"""

from __future__ import annotations

import pwd
import types

import pytest
from traitlets.config import Config

from cnnviz import CourseError
from cnnviz.deploy import hub


def test_the_hub_listens_on_loopback_only_with_pam_and_the_course_accounts(monkeypatch):
    monkeypatch.setenv("CNNVIZ_HUB_STUDENTS", "3")
    monkeypatch.setenv("CNNVIZ_HUB_PORT", "8123")
    c = Config()
    hub.configure(c)
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1" and c.JupyterHub.port == 8123
    # The hub's own and the proxy's API port follow CNNVIZ_HUB_PORT: a second hub collides with nothing.
    assert c.JupyterHub.hub_port == 8204 and c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8124"
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Authenticator.allowed_users == {"instructor", "student1", "student2", "student3"}
    # Users' servers run the users' environment, never the course venv, and inherit nothing of root's.
    assert c.Spawner.cmd[0] == str(hub.ENV / "bin" / "python")
    assert c.Spawner.env_keep == []
    assert str(hub.STATE) in c.JupyterHub.db_url


def test_a_port_taken_by_another_hub_is_refused_not_taken_for_this_one(tmp_path, monkeypatch):
    """Another checkout's hub on the same ports answers /hub/api/ too: `make hub` must not report it as started."""
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setenv("CNNVIZ_HUB_PORT", str(other.getsockname()[1]))
        monkeypatch.setattr(hub, "PID_FILE", tmp_path / "jupyterhub.pid")
        monkeypatch.setattr(hub, "LOG_FILE", tmp_path / "jupyterhub.log")
        with pytest.raises(CourseError, match=r"in use, not by this checkout's hub"):
            hub.start_hub()
    assert not (tmp_path / "jupyterhub.pid").exists()  # nothing started


@pytest.mark.parametrize("count", ["0", "x", "501"])
def test_a_bad_number_of_students_is_one_clear_error(monkeypatch, count):
    monkeypatch.setenv("CNNVIZ_HUB_STUDENTS", count)
    with pytest.raises(CourseError, match="CNNVIZ_HUB_STUDENTS"):
        hub.students()


def _spawner(name, monkeypatch):
    monkeypatch.setattr(pwd, "getpwnam", lambda n: types.SimpleNamespace(pw_dir=f"/home/{n}"))
    return types.SimpleNamespace(user=types.SimpleNamespace(name=name), environment={}, notebook_dir="")


def test_students_servers_get_the_student_config_and_no_course(monkeypatch):
    spawner = _spawner("student1", monkeypatch)
    hub._pre_spawn(spawner)
    assert spawner.notebook_dir == "/home/student1"
    assert spawner.environment["JUPYTER_CONFIG_PATH"] == str(hub.STUDENT_CONFIG)
    assert "PYTHONPATH" not in spawner.environment
    assert spawner.environment["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_the_instructors_server_opens_the_course_with_the_full_package(monkeypatch):
    spawner = _spawner("instructor", monkeypatch)
    hub._pre_spawn(spawner)
    assert spawner.notebook_dir == str(hub.instructor_course())
    assert spawner.environment["PYTHONPATH"] == str(hub.instructor_course())
    assert "JUPYTER_CONFIG_PATH" not in spawner.environment


def test_every_accounts_server_and_commands_give_kernels_inline_figures_and_quiet_tensorflow(monkeypatch):
    """Kernels inherit their server's environment: both accounts' servers, and what runs as them."""
    ran = []
    monkeypatch.setattr(hub, "_run", lambda *command, cwd: ran.append(command))
    for name in ("student1", "instructor"):
        spawner = _spawner(name, monkeypatch)
        hub._pre_spawn(spawner)
        hub.as_user(name, "python", "-c", "pass", cwd="/")
        given = dict(word.split("=", 1) for word in ran[-1][ran[-1].index("-i") + 1:] if "=" in word)
        for env in (spawner.environment, given):
            assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline", (name, env)
            assert env["TF_CPP_MIN_LOG_LEVEL"] == "3", (name, env)


def test_students_lose_the_formgrader_and_create_assignment(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "STUDENT_CONFIG", tmp_path / "student-config")
    import json

    folder = hub.ensure_student_config()
    disabled = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert disabled["@jupyter/nbgrader:formgrader"] and disabled["@jupyter/nbgrader:create-assignment"]
    extensions = json.loads((folder / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert "nbgrader.server_extensions.assignment_list" not in extensions  # students keep the Assignments tab


def test_a_users_environment_from_another_lock_or_python_is_rebuilt_with_one_line_why():
    new = {"recipe": 3, "lock": "b" * 64, "python": "/srv/cnnviz-hub/python/bin/python3.11",
           "interpreter": "/root/.pyenv/versions/3.11.7 3.11.7 (main) cpython-311", "wheel": "w"}
    assert hub._rebuild_reason(dict(new, lock="a" * 64), new) == "it was made from an older requirements.lock"
    # The stamp of an environment from before the lock: Debian's 3.11.2 and no lock digest.
    reason = hub._rebuild_reason({"recipe": 2, "python": "/usr/bin/python3.11"}, new)
    assert reason.startswith("it was made before requirements.lock and with another Python (/usr/bin/python3.11)")
    assert "\n" not in reason
    assert hub._rebuild_reason(dict(new, interpreter="/usr 3.11.2"), new).startswith("it was made with another Python")
    assert hub._rebuild_reason(dict(new, wheel="v"), new) == "the student package changed"


def test_the_copied_interpreter_loads_its_own_libpython(tmp_path):
    """The copy's RUNPATH points at its own lib/, never back at the unreadable original (nor at another libpython)."""
    old = tmp_path / "versions" / "3.11.7"
    binary = tmp_path / "python3.11"
    body = b"\x7fELF...." + str(old / "lib").encode() + b"\0" + b"GLIBC_2.34\0" + str(old).encode() + b"\0"
    binary.write_bytes(body)
    hub._patch_runpath(binary, old)
    patched = binary.read_bytes()
    assert len(patched) == len(body)  # in place: no offset in the ELF file moves
    assert b"$ORIGIN/../lib\0" in patched and str(old / "lib").encode() not in patched
    assert str(old).encode() + b"\0" in patched  # the prefix itself is left alone


def test_the_users_environment_needs_a_venv_that_is_the_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "SYSTEM", tmp_path)
    monkeypatch.setattr(hub.lock, "differences", lambda: ["soupsieve 4.1.3 (lock: 2.10)"])
    with pytest.raises(CourseError, match=r"not requirements.lock \(soupsieve 4.1.3 \(lock: 2.10\)\): `make install`"):
        hub.ensure_environment()


def test_the_instructors_kept_source_is_told_apart_from_the_repositorys(tmp_path):
    from cnnviz import ASSIGNMENT, COURSE_ROOT, settings

    notebook = tmp_path / "source" / ASSIGNMENT / settings.NOTEBOOK
    assert hub.source_differs(tmp_path)  # no source at all
    notebook.parent.mkdir(parents=True)
    notebook.write_bytes((COURSE_ROOT / "source" / ASSIGNMENT / settings.NOTEBOOK).read_bytes())
    assert not hub.source_differs(tmp_path)
    notebook.write_text(notebook.read_text() + "\n")
    assert hub.source_differs(tmp_path)
