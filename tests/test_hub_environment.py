"""The users' environment on the hub (cnnviz/deploy/hub_environment.py), without building one.

tests/e2e/test_hub_env.py checks the one `make hub` built (`make test-hub`).
"""

from __future__ import annotations

import pytest

from cnnviz import CourseError
from cnnviz.deploy import hub_environment, hub_site


def test_a_users_environment_from_another_lock_or_python_is_rebuilt_with_one_line_why():
    new = {"recipe": 3, "lock": "b" * 64, "python": "/srv/cnnviz-hub/python/bin/python3.11",
           "interpreter": "/root/.pyenv/versions/3.11.7 3.11.7 (main) cpython-311", "wheel": "w"}
    assert hub_environment._rebuild_reason(dict(new, lock="a" * 64), new) == \
        "it was made from an older requirements.lock"
    # The stamp of an environment from before the lock: Debian's 3.11.2 and no lock digest.
    reason = hub_environment._rebuild_reason({"recipe": 2, "python": "/usr/bin/python3.11"}, new)
    assert reason.startswith("it was made before requirements.lock and with another Python (/usr/bin/python3.11)")
    assert "\n" not in reason
    assert hub_environment._rebuild_reason(dict(new, interpreter="/usr 3.11.2"), new).startswith(
        "it was made with another Python")
    assert hub_environment._rebuild_reason(dict(new, wheel="v"), new) == "the student package changed"


def test_the_users_environment_needs_a_venv_that_is_the_lock(monkeypatch, tmp_path):
    monkeypatch.setattr(hub_site, "SYSTEM", tmp_path)
    monkeypatch.setattr(hub_environment.lock, "differences", lambda: ["soupsieve 4.1.3 (lock: 2.10)"])
    with pytest.raises(CourseError, match=r"not requirements.lock \(soupsieve 4.1.3 \(lock: 2.10\)\): `make install`"):
        hub_environment.ensure_environment()
