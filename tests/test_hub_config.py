"""JupyterHub's configuration for `make hub` (cnnviz/deploy/hub_config.py), without starting anything.

The end-to-end class on a running hub is tests/e2e/test_hub_class.py (`make test-hub`).
"""

from __future__ import annotations

import pwd
import types

from traitlets.config import Config

from cnnviz.deploy import hub_config, hub_jupyterlab, hub_site


def test_the_hub_listens_on_loopback_only_with_pam_and_the_course_accounts(monkeypatch):
    monkeypatch.setenv("CNNVIZ_HUB_STUDENTS", "3")
    monkeypatch.setenv("CNNVIZ_HUB_PORT", "8123")
    c = Config()
    hub_config.configure(c)
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1" and c.JupyterHub.port == 8123
    # The hub's own and the proxy's API port follow CNNVIZ_HUB_PORT: a second hub collides with nothing.
    assert c.JupyterHub.hub_port == 8204 and c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:8124"
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.Authenticator.allowed_users == {"instructor", "student1", "student2", "student3"}
    # Users' servers run the users' environment, never the course venv, and inherit nothing of root's.
    assert c.Spawner.cmd[0] == str(hub_site.ENV / "bin" / "python")
    assert c.Spawner.env_keep == []
    assert str(hub_site.STATE) in c.JupyterHub.db_url


def _spawner(name, monkeypatch):
    monkeypatch.setattr(pwd, "getpwnam", lambda n: types.SimpleNamespace(pw_dir=f"/home/{n}"))
    return types.SimpleNamespace(user=types.SimpleNamespace(name=name), environment={}, notebook_dir="")


def test_students_servers_get_the_student_config_and_no_course(monkeypatch):
    spawner = _spawner("student1", monkeypatch)
    hub_config._pre_spawn(spawner)
    assert spawner.notebook_dir == "/home/student1"
    assert spawner.environment["JUPYTER_CONFIG_PATH"] == str(hub_jupyterlab.STUDENT_CONFIG)
    assert "PYTHONPATH" not in spawner.environment
    assert spawner.environment["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_the_instructors_server_opens_the_course_with_the_full_package(monkeypatch):
    spawner = _spawner("instructor", monkeypatch)
    hub_config._pre_spawn(spawner)
    assert spawner.notebook_dir == str(hub_site.instructor_course())
    assert spawner.environment["PYTHONPATH"] == str(hub_site.instructor_course())
    assert "JUPYTER_CONFIG_PATH" not in spawner.environment


def test_every_accounts_server_and_commands_give_kernels_inline_figures_and_quiet_tensorflow(monkeypatch):
    """Kernels inherit their server's environment: both accounts' servers, and what runs as them."""
    ran = []
    monkeypatch.setattr(hub_site, "run", lambda *command, cwd: ran.append(command))
    for name in ("student1", "instructor"):
        spawner = _spawner(name, monkeypatch)
        hub_config._pre_spawn(spawner)
        hub_site.as_user(name, "python", "-c", "pass", cwd="/")
        given = dict(word.split("=", 1) for word in ran[-1][ran[-1].index("-i") + 1:] if "=" in word)
        for env in (spawner.environment, given):
            assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline", (name, env)
            assert env["TF_CPP_MIN_LOG_LEVEL"] == "3", (name, env)
