"""Feedback released one student at a time (cnnviz/grading/exchange.py), past broken students.

nbgrader's own ``release_feedback`` (through the course's nbgrader_config.py) and
the formgrader's Release Feedback (``NbGraderAPI.release_feedback``) for a class
where some students' feedback folders are incomplete.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import nbrun


def _feedback(course: Path, student: str, *, timestamp: bool = True, secret: bool = True) -> Path:
    folder = course / "feedback" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    html = folder / f"{ASSIGNMENT}.html"
    html.write_text(f"<html><body>feedback for {student}</body></html>")
    if timestamp:
        (folder / "timestamp.txt").write_text("2026-11-29 10:00:00.000000 UTC")
    if secret:
        (folder / "submission_secret.txt").write_text(f"secret-{student}")
    return html


def _released(exchange: Path) -> dict[str, str]:
    folder = exchange / "cnnviz" / "feedback"
    return {p.name: p.read_text() for p in folder.glob("*.html")} if folder.is_dir() else {}


@pytest.fixture
def course(tmp_path) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    return course


def release_feedback(course: Path, exchange: Path) -> subprocess.CompletedProcess:
    """nbgrader's own command, started as the course starts every nbgrader (stdout and stderr together)."""
    return nbrun.run(["-m", "nbgrader", "release_feedback", ASSIGNMENT, f"--Exchange.root={exchange}"], course)


def test_release_feedback_goes_on_past_broken_students_with_one_line_each(course, tmp_path):
    from nbgrader.utils import notebook_hash

    exchange = tmp_path / "exchange"
    exchange.mkdir()
    _feedback(course, "alice")
    _feedback(course, "no-timestamp", timestamp=False)
    _feedback(course, "no-secret", secret=False)
    _feedback(course, "zoe")

    result = release_feedback(course, exchange)
    log = result.stdout
    assert result.returncode == 0, log
    assert "Traceback" not in log and "FileNotFoundError" not in log, log
    for broken, file in (("no-timestamp", "timestamp.txt"), ("no-secret", "submission_secret.txt")):
        lines = [line for line in log.splitlines() if f"'{broken}'" in line and "not released" in line]
        assert len(lines) == 1 and file in lines[0], log
    # Everybody else's feedback is there, under nbgrader's name for it (hash of secret and notebook).
    released = _released(exchange)
    for student in ("alice", "zoe"):
        name = notebook_hash(secret=f"secret-{student}", notebook_id=ASSIGNMENT) + ".html"
        assert name in released and student in released[name], (sorted(released), log)
    assert len(released) == 2


def test_release_feedback_with_nothing_to_release_fails_with_one_line(course, tmp_path):
    """No feedback generated yet: a failure saying so, never "Successfully released feedback"."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    result = release_feedback(course, exchange)
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stdout.splitlines() if "No feedback released" in line]
    assert len(lines) == 1 and "generate it first" in lines[0], result.stdout
    assert "Traceback" not in result.stdout
    assert _released(exchange) == {}


def test_release_feedback_from_the_formgrader_reports_the_failure(course, tmp_path, monkeypatch):
    """The formgrader's Release Feedback goes through NbGraderAPI.release_feedback: success must be False."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    monkeypatch.chdir(course)
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "cnnviz"
    config.Exchange.root = str(tmp_path)
    config.ExchangeFactory.release_feedback = "cnnviz.grading.exchange.ReleaseFeedbackPerStudent"
    result = NbGraderAPI(config=config).release_feedback(ASSIGNMENT)
    assert result["success"] is False and "No feedback released" in result["log"], result
    _feedback(course, "alice")
    assert NbGraderAPI(config=config).release_feedback(ASSIGNMENT)["success"] is True
