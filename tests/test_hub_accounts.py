"""The hub's Linux accounts (cnnviz/deploy/hub_accounts.py), without making any.

tests/e2e/test_hub_roster.py makes a roster's accounts on a real hub (`make test-hub`).
"""

from __future__ import annotations

import json

import pytest

from cnnviz import CourseError
from cnnviz.deploy import hub_accounts, hub_site


def test_a_roster_login_id_that_is_a_system_account_is_refused_before_any_account_changes(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(hub_site, "STATE", tmp_path / "state")
    monkeypatch.setattr(hub_accounts, "ACCOUNTS", tmp_path / "accounts.json")
    hub_accounts.ACCOUNTS.write_text(json.dumps({"instructor": "kept"}))
    monkeypatch.setattr(hub_site, "users", lambda: ["instructor", "kim", "daemon"])  # daemon: uid 1 on Debian
    monkeypatch.setattr(hub_site, "run", lambda *command, **kwargs: ran.append(command))
    with pytest.raises(CourseError, match=r"login id\(s\) daemon are system accounts.*no account was changed"):
        hub_accounts.ensure_accounts()
    assert ran == [], "no account may be made or given a password"
    assert json.loads(hub_accounts.ACCOUNTS.read_text()) == {"instructor": "kept"}
