"""The Content-Security-Policy the course's Jupyter servers send (`make lab`, the hub's users' servers).

The browser tests (tests/e2e/test_shown_submissions.py, tests/e2e/test_hub_shown.py)
check in Chromium that JupyterLab and the formgrader still work under it.
"""

from __future__ import annotations

import json

from traitlets.config import Config

from cnnviz import settings
from cnnviz.deploy import hub_config, lab


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_the_policy_allows_nothing_from_another_origin():
    policy = directives(settings.server_csp())
    for name, sources in policy.items():
        others = [s for s in sources if s not in ("'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'",
                                                  "data:", "blob:")]
        assert others == [], f"{name} lets {others} in"
    assert policy["object-src"] == ["'none'"] and policy["connect-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'self'"]
    assert "http:" not in settings.server_csp() and "*" not in settings.server_csp()


def _header(option: str) -> str:
    name, value = option.split("=", 1)
    assert name == "--ServerApp.tornado_settings"
    return json.loads(value)["headers"]["Content-Security-Policy"]


def test_make_lab_sends_it(tmp_path):
    options = [o for o in lab.lab_command(tmp_path, euid=1000) if o.startswith("--ServerApp.tornado_settings=")]
    assert [_header(o) for o in options] == [settings.server_csp()]


def test_every_hub_users_server_sends_it():
    c = Config()
    hub_config.configure(c)
    options = [o for o in c.Spawner.args if o.startswith("--ServerApp.tornado_settings=")]
    # Unframeable as JupyterHub's own default; cnnviz.deploy.hub_formgrader lets JupyterLab frame the formgrader only.
    assert [_header(o) for o in options] == [settings.server_csp(frame_ancestors="'none'")]
