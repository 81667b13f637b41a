"""`make hub` / `make hub-stop` (cnnviz/deploy/hub.py): every step in order, as root only.

Each step has its own tests (tests/test_hub_*.py); the whole class on a running
hub is tests/e2e/test_hub_class.py (`make test-hub`).
"""

from __future__ import annotations

import os

import pytest

from cnnviz import CourseError
from cnnviz.deploy import hub, hub_accounts, hub_process


@pytest.mark.parametrize("command", [hub.up, hub.down])
def test_make_hub_as_a_user_is_one_line_and_changes_nothing(monkeypatch, command):
    def touched(*args, **kwargs):
        raise AssertionError("a step ran without root")

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(hub_accounts, "ensure_accounts", touched)
    monkeypatch.setattr(hub_process, "stop_hub", touched)
    with pytest.raises(CourseError, match=r"run it as root \(sudo make hub\)"):
        command()
