"""FlagForReview (cnnviz/grading/flag_for_review.py) on in-memory notebooks and a scratch gradebook."""

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook

from cnnviz.grading import guard
from cnnviz.grading.flag_for_review import FlagForReview
from nbcells import nbgrader_cell

ASSIGNMENT, NOTEBOOK, STUDENT = "hw", "hw", "kim"
SCORES = {"test_x": 1.0, "test_y": 0.0}  # what the checks gave, before the scan


def submission(answer_x="x = 1", answer_y="y = 2", added=None):
    """answer_x, test_x, answer_y, test_y, then a cell the student added (if any)."""
    cells = [nbgrader_cell("answer", "answer_x", answer_x), nbgrader_cell("test", "test_x", "check(x)"),
             nbgrader_cell("answer", "answer_y", answer_y), nbgrader_cell("test", "test_y", "check(y)")]
    if added is not None:
        cells.append(new_code_cell(added))
    return new_notebook(cells=cells)


@pytest.fixture
def db_url(gradebook_url):
    """One student's graded submission of answer_x/test_x, answer_y/test_y."""
    with Gradebook(gradebook_url) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_notebook(NOTEBOOK, ASSIGNMENT)
        for step in ("x", "y"):
            gradebook.add_solution_cell(f"answer_{step}", NOTEBOOK, ASSIGNMENT)
            gradebook.add_grade_cell(f"test_{step}", NOTEBOOK, ASSIGNMENT, max_score=1.0, cell_type="code")
        gradebook.add_student(STUDENT)
        gradebook.add_submission(ASSIGNMENT, STUDENT)
        for name, score in SCORES.items():  # as SaveAutoGrades leaves them
            grade = gradebook.find_grade(name, NOTEBOOK, ASSIGNMENT, STUDENT)
            grade.auto_score, grade.needs_manual_grade = score, False
        gradebook.db.commit()
    return gradebook_url


def scan(nb, db_url):
    """Run the preprocessor; return, per step, (answer's auto comment, test's needs_manual_grade, score)."""
    resources = {"nbgrader": {"db_url": db_url, "assignment": ASSIGNMENT, "notebook": NOTEBOOK,
                              "student": STUDENT}}
    FlagForReview().preprocess(nb, resources)
    with Gradebook(db_url) as gradebook:
        return {step: (gradebook.find_comment(f"answer_{step}", NOTEBOOK, ASSIGNMENT, STUDENT).auto_comment,
                       gradebook.find_grade(f"test_{step}", NOTEBOOK, ASSIGNMENT, STUDENT).needs_manual_grade,
                       gradebook.find_grade(f"test_{step}", NOTEBOOK, ASSIGNMENT, STUDENT).score)
                for step in ("x", "y")}


def test_an_honest_submission_gets_no_note_and_no_review(db_url):
    result = scan(submission(), db_url)
    assert [comment for comment, _, _ in result.values()] == [None, None]
    assert [review for _, review, _ in result.values()] == [False, False]


def test_a_flagged_line_puts_its_step_up_for_review_and_changes_no_score(db_url):
    code = "import sys\nsys.modules['numpy'].allclose = lambda *a, **k: True\ny = 2"
    result = scan(submission(answer_y=code), db_url)
    comment, review, score = result["y"]
    expected = guard.message(guard.find_flagged_lines([c.source for c in submission(answer_y=code).cells],
                                                      [True, False, True, False]))
    assert comment == expected and review is True
    assert score == SCORES["test_y"], "the scan must not change the score"
    assert result["x"] == (None, False, SCORES["test_x"]), "the other step is not concerned"


def test_a_line_in_a_cell_the_student_added_belongs_to_the_answer_above_it(db_url):
    result = scan(submission(added="import ctypes"), db_url)
    assert result["y"][0] and result["y"][1] is True
    assert result["x"][0] is None
