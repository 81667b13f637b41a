"""`make demo` runs in a scratch course of its own, and feedback goes on past a broken student.

The fast tests release feedback with nbgrader's own command (through the course's
nbgrader_config.py) for a class where one student's feedback folder is
incomplete; the slow one runs `python -m cnnviz demo` and checks that the
instructor's course is exactly as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import catalogue, demo, nbrun, pipeline

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


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


def test_a_student_without_feedback_gets_one_line_and_the_others_theirs(tmp_path, capsys):
    """The demo's per-student feedback step: a student that cannot be done does not stop the rest."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    done = pipeline.generate_feedback(course, ["ghost"])
    out = capsys.readouterr().out
    assert done == []
    lines = [line for line in out.splitlines() if "ghost" in line]
    assert len(lines) == 1 and "no feedback" in lines[0], out


def _tracked_state() -> tuple[str, dict[str, float]]:
    status = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                            cwd=COURSE_ROOT, capture_output=True, text=True, check=True).stdout
    instructor = {}
    for name in ("submitted", "autograded", "feedback", "gradebook.db", "grades.csv", "solutions", "release"):
        path = COURSE_ROOT / name
        if path.exists():
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for f in files:
                instructor[str(f.relative_to(COURSE_ROOT))] = f.stat().st_mtime_ns
    outside_demo = "\n".join(line for line in status.splitlines() if "demo/" not in line)
    return outside_demo, instructor


@pytest.mark.slow
def test_make_demo_leaves_the_instructors_course_as_it_was():
    before = _tracked_state()
    result = subprocess.run([sys.executable, "-m", "cnnviz", "demo"], cwd=COURSE_ROOT,
                            env=nbrun.nbgrader_env(), capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = _tracked_state()
    assert after[0] == before[0], "git status changed outside demo/"
    assert after[1] == before[1], "the instructor's class folders or gradebook changed"

    course = demo.DEMO_PARENT / "course"
    names = [entry.name for entry in catalogue.load_catalogue() if entry.demo]
    for student in names:
        assert (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file(), student
    assert len(_released(demo.DEMO_PARENT / "exchange")) == len(names)
    # Every demo student got the total the catalogue expects.
    # The table's rows: a demo student's name, then the total (the listing above them names the mistake).
    table = [line for line in result.stdout.splitlines()
             if len(line.split()) > 2 and line.split()[0] in names and line.split()[1].isdigit()]
    assert len(table) == len(names) and all(" ok " in f"{line} " for line in table), result.stdout
    ignored = subprocess.run(["git", "check-ignore", "-q", str(course)], cwd=COURSE_ROOT)
    assert ignored.returncode == 0, "demo/ must be git-ignored"


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
