"""A toy course for the class-grading tests: the real nbgrader_config.py and the
real assignment name, but a two-step notebook with no TensorFlow, so that the
tests measure the fan-out and the gradebook, not the lesson."""

import shutil
import sqlite3

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from cnnviz import ASSIGNMENT, COURSE_ROOT, grading

NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _cell(source, **nbgrader):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, "locked": False,
                                 "solution": False, "grade": False, **nbgrader}
    return cell


def toy_source_notebook():
    """Two steps: `answer` sets x (test_x, 1 point), `answer_y` sets y (test_y, 1 point)."""
    cells = [
        _cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", grade_id="answer", solution=True),
        _cell('"""x is 1."""\nassert x == 1, "x should be 1"', grade_id="test_x", grade=True,
              locked=True, points=1),
        _cell("### BEGIN SOLUTION\ny = 2\n### END SOLUTION", grade_id="answer_y", solution=True),
        _cell('"""y is 2."""\nassert y == 2, "y should be 2"', grade_id="test_y", grade=True,
              locked=True, points=1),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_toy_course(tmp_path):
    """A course with the real nbgrader_config.py (less the lesson's trusted checks), a two-step
    toy assignment, and its release."""
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        # The toy steps are plain asserts, not steps of cnnviz.lesson: grade them by their own
        # outputs (the jail still runs them), since these tests measure the fan-out, not the checks.
        config.write("\nc.Autograde.autograde_preprocessors = [p for p in c.Autograde.autograde_preprocessors\n"
                     "    if p not in (PrepareJailRun, TrustedChecks)]\n")
    nbformat.write(toy_source_notebook(), course / "source" / ASSIGNMENT / NOTEBOOK)
    grading.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=course, quiet=True)
    return course


def submit_answer(course, student, answer, answer_y="y = 2"):
    release = grading.read_notebook(course / "release" / ASSIGNMENT / NOTEBOOK)
    return grading.submit(course, student, grading.fill_release(release, {"answer": answer, "answer_y": answer_y}))


def gradebook_cells(course):
    """Every graded cell's score, by (student, grade_id), read straight from the SQLite file."""
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "SELECT student.id, base_cell.name, grade.auto_score FROM grade "
            "JOIN base_cell ON grade.cell_id = base_cell.id "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id").fetchall()
    return {(student, cell): score for student, cell, score in rows}


def gradebook_rows(course):
    """Each submitted student's score on test_x."""
    return {student: score for (student, cell), score in gradebook_cells(course).items() if cell == "test_x"}
