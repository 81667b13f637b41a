"""The gradebook made ready before a class is graded (cnnviz/course/gradebook_setup.py)."""

import pytest
from toycourse import gradebook_rows, submit_answer

from cnnviz.course import classgrade, gradebook_setup


@pytest.mark.slow
def test_a_new_sqlite_gradebook_gets_the_assignment_before_grading(toy_course):
    (toy_course / "gradebook.db").unlink()
    submit_answer(toy_course, "a", "x = 1")
    outcomes = classgrade.autograde_class(toy_course, workers=1)
    assert [o.ok for o in outcomes] == [True], [o.message for o in outcomes]
    assert gradebook_rows(toy_course) == {"a": 1.0}


def test_a_gradebook_url_is_shown_without_its_password():
    assert gradebook_setup.safe_url("postgresql://grader:s3cr:et@db-host:5432/cnnviz") == \
        "postgresql://grader:***@db-host:5432/cnnviz"
    assert gradebook_setup.safe_url("sqlite:////course/gradebook.db") == "sqlite:////course/gradebook.db"
    assert gradebook_setup.safe_url("postgresql://grader@db-host/cnnviz") == "postgresql://grader@db-host/cnnviz"
