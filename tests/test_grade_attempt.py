"""One attempt at grading one student (cnnviz/course/grade_attempt.py): the student's lock held, the
attempt journaled, a submission nbgrader cannot read refused in one line."""

import json

import pytest
from toycourse import NOTEBOOK, submit_answer

from cnnviz import ASSIGNMENT
from cnnviz.course import classgrade, grade_attempt, grade_journal, student_locks
from cnnviz.grading import failures


@pytest.mark.slow
def test_every_attempt_holds_the_students_lock_and_is_journaled(toy_course):
    for student in ("a", "b"):
        submit_answer(toy_course, student, "x = 1")
    classgrade.autograde_class(toy_course, workers=2)
    # Another grader holds a's lock: a is not graded twice at once, and says why after the wait.
    with student_locks.student_lock(toy_course, "a", None):
        outcome = grade_attempt.grade_student(str(toy_course), "a", wait=1.0)
    assert not outcome.ok and "still held" in outcome.message, outcome.message
    journal = grade_journal.read_journal(toy_course)
    assert sorted(r["student"] for r in journal) == ["a", "b"], "the refused attempt must not be journaled"
    for record in journal:
        assert record["ok"] and record["ended"] >= record["started"] and record["nbgrader_pid"], record


@pytest.mark.slow
def test_a_linked_notebook_is_refused_without_showing_what_it_points_at(toy_course, tmp_path):
    secret = tmp_path / "not-the-students.ipynb"
    secret.write_text("SECRET-" + "x" * 200)  # not a notebook: its text would end up in the line
    folder = toy_course / "submitted" / "linker" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").symlink_to(secret)
    [outcome] = classgrade.autograde_class(toy_course, workers=1, students=["linker"], quiet=True)
    assert not outcome.ok and "symbolic link" in outcome.message, outcome.message
    assert "SECRET" not in outcome.message
    assert not any("SECRET" in json.dumps(r) for r in grade_journal.read_journal(toy_course))


def test_an_unreadable_notebook_is_one_line_without_a_lock_or_a_journal_record(tmp_path):
    folder = tmp_path / "submitted" / "broken" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text("{ not json")
    outcome = grade_attempt.grade_student(str(tmp_path), "broken", wait=0.0)
    assert not outcome.ok and outcome.failure.kind == failures.UNREADABLE, outcome
    assert outcome.message and "\n" not in outcome.message and NOTEBOOK in outcome.message, outcome.message
    assert grade_journal.read_journal(tmp_path) == []
    assert not (tmp_path / "autograded" / ".locks").exists(), "refused before taking the student's lock"
