"""The hub's users' environment (``/srv/cnnviz-hub/env``, `make hub`): the lock, on the grader's own interpreter.

`make test-hub` runs these after `make hub` has built the environment.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnviz import COURSE_ROOT
from cnnviz.deploy import hub, hub_environment, hub_site

pytestmark = [pytest.mark.slow, pytest.mark.hub]

PYTHON = hub_site.ENV / "bin" / "python"


@pytest.fixture(scope="module")
def users_env():
    if not (hub_site.ENV / ".cnnviz-env").is_file():
        hub.up()  # `make test-hub` has built it already; a run of this module alone builds it here
    return PYTHON


def _users_python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the users' Python as student1 would (an account without access to /root or this repository)."""
    return hub_site.as_user("student1", str(PYTHON), *args, cwd="/")


def test_the_users_python_is_the_graders_interpreter(users_env):
    """Same build as .venv's (the issue: Debian's 3.11.2 beside pyenv's 3.11.7), run by a student."""
    found = _users_python("-c", "import sys; print(sys.version); print(sys.prefix)").stdout.splitlines()
    assert found[0] == sys.version and found[1] == str(hub_site.ENV), found


def test_pip_check_is_clean_in_the_users_environment(users_env):
    assert hub_environment.pip_check(users_env) == ""


def test_the_exporters_render_in_the_users_environment(users_env):
    """tests/test_exporters.py again, with the users' Python: the formgrader's and the feedback's pages."""
    result = subprocess.run([str(users_env), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                             str(COURSE_ROOT / "tests" / "test_exporters.py")],
                            cwd=COURSE_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_users_environment_has_the_commands_nbgrader_runs(users_env):
    """nbgrader starts `alembic` from PATH for a new gradebook; the instructor's terminal runs `nbgrader`."""
    for name in hub_environment.REQUIRED_SCRIPTS:
        script = hub_site.ENV / "bin" / name
        assert script.is_file() and script.read_text().startswith(f"#!{hub_site.ENV / 'bin' / 'python'}\n"), script
    _users_python("-m", "nbgrader", "--version")
