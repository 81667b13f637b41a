"""`make hub`'s JupyterHub process (cnnviz/deploy/hub_process.py), without starting a hub."""

from __future__ import annotations

import socket

import pytest

from cnnviz import CourseError
from cnnviz.deploy import hub_process


def test_a_port_taken_by_another_hub_is_refused_not_taken_for_this_one(tmp_path, monkeypatch):
    """Another checkout's hub on the same ports answers /hub/api/ too: `make hub` must not report it as started."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        monkeypatch.setenv("CNNVIZ_HUB_PORT", str(other.getsockname()[1]))
        monkeypatch.setattr(hub_process, "PID_FILE", tmp_path / "jupyterhub.pid")
        monkeypatch.setattr(hub_process, "LOG_FILE", tmp_path / "jupyterhub.log")
        with pytest.raises(CourseError, match=r"in use, not by this checkout's hub"):
            hub_process.start_hub()
    assert not (tmp_path / "jupyterhub.pid").exists()  # nothing started


def test_stopping_a_hub_that_does_not_run_says_so_and_forgets_its_stale_pid(tmp_path, monkeypatch):
    stale = tmp_path / "jupyterhub.pid"
    stale.write_text("not a pid\n")
    monkeypatch.setattr(hub_process, "PID_FILE", stale)
    assert hub_process.stop_hub() is False
    assert not stale.exists()
