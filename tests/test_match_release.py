"""MatchRelease (cnnviz/grading/match_release.py) on in-memory notebooks and a scratch gradebook."""

import logging

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.api import Gradebook

from cnnviz.grading import failures
from cnnviz.grading.match_release import MatchRelease, MismatchedRelease, layout_digest, submission_layout
from nbcells import nbgrader_cell

ASSIGNMENT, NOTEBOOK, STUDENT = "hw", "hw", "kim"


def release(*cells):
    return new_notebook(cells=list(cells))


@pytest.fixture
def db_url(gradebook_url):
    """A gradebook recording the current release: intro, answer_x, test_x (2 points), answer_y, test_y."""
    with Gradebook(gradebook_url) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_notebook(NOTEBOOK, ASSIGNMENT)
        for kind, name, source in [("locked", "intro", "# Intro"), ("answer", "answer_x", "x = ..."),
                                   ("test", "test_x", "assert x == 1"), ("answer", "answer_y", "y = ..."),
                                   ("test", "test_y", "assert y == 2")]:
            gradebook.add_source_cell(name, NOTEBOOK, ASSIGNMENT, cell_type="markdown" if kind == "locked"
                                      else "code", locked=kind != "answer", source=source, checksum="c")
            if kind == "answer":
                gradebook.add_solution_cell(name, NOTEBOOK, ASSIGNMENT)
            if kind == "test":
                gradebook.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=2.0 if name == "test_x" else 1.0,
                                         cell_type="code")
    return gradebook_url


def run(nb, db_url):
    resources = {"nbgrader": {"db_url": db_url, "assignment": ASSIGNMENT, "notebook": NOTEBOOK,
                              "student": STUDENT}}
    return MatchRelease().preprocess(nb, resources)[0]


def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id", f"<plain {c.source}>") for c in nb.cells]


def test_a_submission_of_the_current_release_is_left_as_it_is(db_url):
    nb = release(nbgrader_cell("locked", "intro"), nbgrader_cell("answer", "answer_x", "x = 1"), nbgrader_cell("test", "test_x"),
                 nbgrader_cell("answer", "answer_y", "y = 2"), nbgrader_cell("test", "test_y"))
    assert ids(run(nb, db_url)) == ["intro", "answer_x", "test_x", "answer_y", "test_y"]


def test_a_test_cell_added_since_is_put_back_after_the_cell_before_it_in_the_release(db_url):
    # test_y is new in the current release; the student's release ended at answer_y.
    nb = release(nbgrader_cell("locked", "intro"), nbgrader_cell("answer", "answer_x", "x = 1"), nbgrader_cell("test", "test_x"),
                 nbgrader_cell("answer", "answer_y", "y = 2"), new_code_cell("print(y)"))
    graded = run(nb, db_url)
    assert ids(graded) == ["intro", "answer_x", "test_x", "answer_y", "test_y", "<plain print(y)>"]
    put_back = graded.cells[4]
    assert "assert y == 2" in put_back.source and put_back.metadata["nbgrader"]["points"] == 1.0


def test_a_missing_test_cell_after_a_read_only_cell_does_not_stop_grading(db_url):
    # nbgrader's own add_missing_cells looks up the previous release cell among answers and
    # tests only, and raises KeyError when it is a read-only cell; here it goes first.
    with Gradebook(db_url) as gradebook:
        gradebook.remove_notebook(NOTEBOOK, ASSIGNMENT)
        gradebook.add_notebook(NOTEBOOK, ASSIGNMENT)
        gradebook.add_source_cell("intro", NOTEBOOK, ASSIGNMENT, cell_type="markdown", locked=True,
                                  source="# Intro", checksum="c")
        gradebook.add_source_cell("test_0", NOTEBOOK, ASSIGNMENT, cell_type="code", locked=True,
                                  source="assert True", checksum="c")
        gradebook.add_grade_cell("test_0", NOTEBOOK, ASSIGNMENT, max_score=1.0, cell_type="code")
    graded = run(release(new_code_cell("a = 1"), nbgrader_cell("locked", "intro")), db_url)
    assert ids(graded) == ["<plain a = 1>", "intro", "test_0"]


def test_cells_the_current_release_no_longer_has_are_dropped_or_made_plain(db_url):
    # The student's release had answer_z/test_z, since removed (or an edit reverted).
    nb = release(nbgrader_cell("locked", "intro"), nbgrader_cell("answer", "answer_x", "x = 1"), nbgrader_cell("test", "test_x"),
                 nbgrader_cell("answer", "answer_z", "z = 3"), nbgrader_cell("test", "test_z", "assert z == 3"),
                 nbgrader_cell("answer", "answer_y", "y = 2 + z - 3"), nbgrader_cell("test", "test_y"))
    graded = run(nb, db_url)
    assert ids(graded) == ["intro", "answer_x", "test_x", "<plain z = 3>", "answer_y", "test_y"]


def test_a_submission_without_an_answer_cell_of_the_current_release_is_refused_in_one_line(db_url, caplog):
    # Made before answer_y (and test_y) existed.
    nb = release(nbgrader_cell("locked", "intro"), nbgrader_cell("answer", "answer_x", "x = 1"), nbgrader_cell("test", "test_x"))
    with caplog.at_level(logging.ERROR), pytest.raises(MismatchedRelease) as refused:
        run(nb, db_url)
    message = str(refused.value)
    old = layout_digest(["answer_x"], {"test_x": 1.0})
    new = layout_digest(["answer_x", "answer_y"], {"test_x": 2.0, "test_y": 1.0})
    assert old != new and old in message and new in message
    assert "answer_y" in message and "submission not graded" in message and "\n" not in message
    failure = refused.value.failure
    assert failure.kind == failures.REFUSED and message == f"{failure.student}: {failure.reason}"
    assert failures.pop_reported()[-1] == failure, "the refusal is reported as a record"


def test_the_layout_names_answers_tests_and_points():
    nb = release(nbgrader_cell("answer", "a", "x = 1"), nbgrader_cell("test", "t", points=3), nbgrader_cell("locked", "intro"))
    assert submission_layout(nb) == (["a"], {"t": 3.0})
    assert layout_digest(["a"], {"t": 3.0}) != layout_digest(["a"], {"t": 2.0})
    assert layout_digest(["a"], {"t": 3.0}) == layout_digest(["a"], {"t": 3})
