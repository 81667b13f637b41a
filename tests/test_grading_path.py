"""Plain ``nbgrader autograde`` (README step 4) grades through the course's policy:
intake, the jail and the review flag all come from nbgrader_config.py, not from a command's environment."""

import os
import subprocess
import sys

import pytest
from toycourse import NOTEBOOK, submit_answer

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import pipeline

pytestmark = pytest.mark.slow


def plain_nbgrader_autograde(course):
    """``nbgrader autograde`` as an instructor types it: the grader's environment as it is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CNNVIZ_", "JUPYTER_"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    return subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"],
                          cwd=course, env=env, text=True, capture_output=True, timeout=900)


def test_plain_nbgrader_autograde_reduces_jails_and_flags(toy_course):
    course = toy_course
    submit_answer(course, "alice", "x = 1")
    # mallory: a link to the gradebook beside a notebook whose answer reads IPython's history.
    mallory = submit_answer(course, "mallory", "x = 1\nprint(len(In))").parent
    (mallory / "gradebook.db").symlink_to(course / "gradebook.db")
    (mallory / "cnnviz").mkdir()
    (mallory / "cnnviz" / "__init__.py").write_text("raise SystemExit('imported outside the jail')")
    # eve: the notebook itself is a link to alice's.
    eve = course / "submitted" / "eve" / ASSIGNMENT
    eve.mkdir(parents=True)
    (eve / NOTEBOOK).symlink_to(course / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK)

    result = plain_nbgrader_autograde(course)
    output = result.stdout + result.stderr
    scores = pipeline.read_scores(course)
    assert scores["alice"] == {"test_x": 1.0, "test_y": 1.0}, output[-3000:]
    assert scores["mallory"] == {"test_x": 1.0, "test_y": 1.0}, "the review flag must not change a score"
    assert "eve" not in scores or not any(scores["eve"].values()), "a linked notebook must not be graded"
    assert any("[intake] eve" in line and "symbolic link" in line for line in output.splitlines()), output[-3000:]
    assert any("[intake] mallory" in line and "gradebook.db (a symbolic link)" in line
               for line in output.splitlines()), output[-3000:]

    autograded = course / "autograded" / "mallory" / ASSIGNMENT
    shipped = {p.name for p in (course / "source" / ASSIGNMENT).iterdir() if p.name != NOTEBOOK}
    found = {p.name for p in autograded.iterdir()}
    assert not {"gradebook.db", "cnnviz"} & found, f"the student's extra files were copied: {sorted(found)}"
    assert found == {NOTEBOOK, *shipped}, f"only the notebook and the assignment's own files: {sorted(found)}"
    assert (course / "quarantine" / "mallory").is_dir()

    from nbgrader.api import Gradebook

    with Gradebook(settings.db_url(course)) as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "mallory")
        comments = {c.name: c.auto_comment or "" for c in notebook.comments}
        flags = {g.name: g.needs_manual_grade for g in notebook.grades}
        honest = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "alice")
        assert not any(g.needs_manual_grade for g in honest.grades), "an honest submission was flagged"
    assert "print(len(In))" in comments["answer"] and " / " in comments["answer"], comments
    assert flags["test_x"] and not flags["test_y"], f"the flagged step's test cell needs review: {flags}"


def test_nbgrader_without_the_course_package_grades_nobody_and_says_why(toy_course):
    """A Python where `import cnnviz` fails: nbgrader would go on with its stock Execute, outside the jail."""
    submit_answer(toy_course, "alice", "import os\nx = 1\nopen(os.path.expanduser('~/ran-unjailed'), 'w')")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CNNVIZ_", "JUPYTER_", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env["HOME"] = str(toy_course)  # where an unjailed kernel would leave its file
    without = ("import runpy, sys\nsys.modules['cnnviz'] = None  # as in a Python without the package\n"
               "sys.argv = ['nbgrader', 'autograde', sys.argv[1], '--force']\n"
               "runpy.run_module('nbgrader', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", without, ASSIGNMENT], cwd=toy_course, env=env, text=True,
                            capture_output=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert not (toy_course / "ran-unjailed").exists(), "the student's code ran outside the jail"
    assert not (toy_course / "autograded" / "alice" / ASSIGNMENT / NOTEBOOK).exists(), output[-3000:]
    lines = [line for line in output.splitlines() if "cannot be imported" in line]
    assert len(lines) == 1 and ".venv/bin/python -m nbgrader" in lines[0], output[-3000:]
    assert "Traceback" not in output, output[-3000:]
