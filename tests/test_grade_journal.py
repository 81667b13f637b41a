"""The journal of grading attempts (cnnviz/course/grade_journal.py): who is graded, by their current submission."""

import pytest
from toycourse import gradebook_rows, submit_answer

from cnnviz import ASSIGNMENT
from cnnviz.course import classgrade, grade_journal


@pytest.mark.slow
def test_missing_grades_only_students_without_a_grading_of_their_current_submission(toy_course):
    for student in ("a", "b", "c"):
        submit_answer(toy_course, student, "x = 1")
    classgrade.autograde_class(toy_course, workers=2, students=["a", "b"])
    submit_answer(toy_course, "b", "x = 2")  # b submits again after being graded

    outcomes = classgrade.autograde_class(toy_course, workers=2, missing=True)

    assert sorted(o.student for o in outcomes) == ["b", "c"]
    assert gradebook_rows(toy_course) == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert grade_journal.missing_students(toy_course) == []
    assert classgrade.autograde_class(toy_course, workers=2, missing=True) == [], "nothing left to grade"


def _attempt(root, student, attempt, started, **ended):
    record = {"student": student, "attempt": attempt, "started": started,
              "submission": grade_journal.submission_digest(root, student), **ended}
    grade_journal.write_record(root, record)


def test_a_student_counts_as_graded_only_for_the_submission_their_last_finished_attempt_graded(tmp_path):
    for student in ("kim", "lee", "park", "choi"):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "answer.ipynb").write_text(f"{student}'s work")
    _attempt(tmp_path, "kim", "k1", 1.0, ended=2.0, ok=True)
    _attempt(tmp_path, "lee", "l1", 1.1, ended=2.0, ok=True)
    _attempt(tmp_path, "lee", "l2", 3.0, ended=4.0, ok=False)  # the last finished attempt failed
    _attempt(tmp_path, "park", "p1", 1.2)  # cut off: never ended
    _attempt(tmp_path, "choi", "c1", 1.3, ended=2.0, ok=True)
    (tmp_path / "submitted" / "choi" / ASSIGNMENT / "answer.ipynb").write_text("submitted again")
    (tmp_path / "autograded" / ".journal" / "kim" / "half.json").write_text('{"student": "ki')  # being written

    assert [r["attempt"] for r in grade_journal.read_journal(tmp_path)] == ["k1", "l1", "p1", "c1", "l2"]
    assert grade_journal.graded_students(tmp_path) == {"kim"}
    assert grade_journal.missing_students(tmp_path) == ["choi", "lee", "park"]
