"""What each account's JupyterLab on the hub shows (cnnviz/deploy/hub_jupyterlab.py)."""

from __future__ import annotations

import json

from cnnviz.deploy import hub_jupyterlab


def test_students_lose_the_formgrader_and_create_assignment(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_jupyterlab, "STUDENT_CONFIG", tmp_path / "student-config")

    folder = hub_jupyterlab.ensure_student_config()
    disabled = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert disabled["@jupyter/nbgrader:formgrader"] and disabled["@jupyter/nbgrader:create-assignment"]
    extensions = json.loads((folder / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert "nbgrader.server_extensions.assignment_list" not in extensions  # students keep the Assignments tab
