"""A toy course for the class-grading tests: the real nbgrader_config.py and the
real assignment name, but a two-step notebook with no TensorFlow, so that the
tests measure the fan-out and the gradebook, not the lesson."""

from nbformat.v4 import new_notebook

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import notebooks, pipeline
from nbcells import nbgrader_cell

NOTEBOOK = settings.NOTEBOOK
# The toy steps are plain asserts, not steps of cnnviz.lesson: grade them by their own
# outputs (the jail still runs them), since these tests measure the fan-out, not the checks.
WITHOUT_TRUSTED_CHECKS = ("\nc.Autograde.autograde_preprocessors = [p for p in c.Autograde.autograde_preprocessors\n"
                          "    if p not in (PrepareJailRun, TrustedChecks)]\n")


def toy_source_notebook():
    """Two steps: `answer` sets x (test_x, 1 point), `answer_y` sets y (test_y, 1 point)."""
    cells = [
        nbgrader_cell("answer", "answer", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbgrader_cell("test", "test_x", '"""x is 1."""\nassert x == 1, "x should be 1"'),
        nbgrader_cell("answer", "answer_y", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
        nbgrader_cell("test", "test_y", '"""y is 2."""\nassert y == 2, "y should be 2"'),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_toy_course(tmp_path):
    """A course with the real nbgrader_config.py (less the lesson's trusted checks), a two-step
    toy assignment, and its release. Its gradebook is the configured one (NBGRADER_DB_URL, or
    its own SQLite file), so that the same tests run against PostgreSQL."""
    return pipeline.scratch_course(tmp_path, source_notebook=toy_source_notebook(),
                                   extra_config=WITHOUT_TRUSTED_CHECKS, own_gradebook=False)


def submit_answer(course, student, answer, answer_y="y = 2"):
    release = notebooks.read_notebook(course / "release" / ASSIGNMENT / NOTEBOOK)
    return pipeline.submit(course, student, notebooks.fill_release(release, {"answer": answer, "answer_y": answer_y}))


def gradebook_cells(course):
    """Every graded cell's autograded score, by (student, grade_id), from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(settings.db_url(course)) as gradebook:
        return {(grade.student.id, grade.name): grade.auto_score
                for submission in gradebook.assignment_submissions(ASSIGNMENT)
                for notebook in submission.notebooks for grade in notebook.grades}


def gradebook_rows(course):
    """Each submitted student's score on test_x."""
    return {student: score for (student, cell), score in gradebook_cells(course).items() if cell == "test_x"}
