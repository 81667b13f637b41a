"""`make demo` runs in a scratch course of its own (cnnviz/course/demo.py).

The fast test: feedback for a class where one student has none gives that
student one line and the others theirs. The slow one runs `python -m cnnviz demo`
and checks that the instructor's course is exactly as it was. Releasing feedback
past broken students is tests/test_exchange.py's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import catalogue, demo, nbrun, pipeline
from test_exchange import _feedback, _released

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


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
