"""A gradebook filled through nbgrader's API, without grading anything: for the deadline and LMS tests."""

import datetime

from nbgrader.api import Gradebook

from cnnviz import ASSIGNMENT

DUE = datetime.datetime(2026, 12, 10, 14, 59)  # UTC: 23:59 in Seoul
POINTS = {"test_x": 60.0, "test_y": 40.0}


def make_class(url, students, duedate=DUE):
    """The assignment (two grade cells, ``POINTS``) and ``students``: {id: (first, last, email)}."""
    with Gradebook(url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=duedate)
        gradebook.add_notebook(ASSIGNMENT, ASSIGNMENT)
        for name, points in POINTS.items():
            gradebook.add_grade_cell(name, ASSIGNMENT, ASSIGNMENT, max_score=points, cell_type="code")
        for student, (first, last, email) in students.items():
            gradebook.update_or_create_student(student, first_name=first, last_name=last, email=email)


def submit(url, student, scores, late_by=datetime.timedelta(0)):
    """A graded submission of ``student``, ``late_by`` after the due date (negative: early)."""
    with Gradebook(url) as gradebook:
        submission = gradebook.update_or_create_submission(ASSIGNMENT, student, timestamp=DUE + late_by)
        for name, score in scores.items():
            grade = gradebook.find_grade(name, ASSIGNMENT, ASSIGNMENT, student)
            grade.auto_score = score
        gradebook.db.commit()
        return submission.id
