"""Grades out to Canvas and Moodle (cnnviz.course.lms): the LMSs' documented import columns, cell by cell.

Canvas's gradebook import (Canvas guide "How do I import grades in the Gradebook?"): the
columns Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment,
and a "Points Possible" row under the header. Moodle's CSV grade import
(grade/import/csv): rows are matched on a user field chosen at import, id number, email
address or username; each other column may be mapped to a grade item; an empty cell is no grade.
"""

import csv
import datetime

import pytest
from nbgrader.api import Gradebook
from traitlets.config import Config

from cnnviz import ASSIGNMENT
from cnnviz.course import lms
from cnnviz.grading import csvsafe
from gradebookfill import make_class, submit
from test_roster import CANVAS

CANVAS_DOCUMENTED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTIFIERS = {"ID number", "Email address", "Username"}
DAY = datetime.timedelta(days=1)
# Canvas's export (test_roster.CANVAS: minji, junho, the test student) and one more student.
ROSTER = CANVAS + '"=HYPERLINK(""http://x""),Sora",1003,2026003,sora,CS101-02,,,\n'


@pytest.fixture
def graded(tmp_path, gradebook_url):
    """minji on time (80 of 100), junho two days late (80, 20 % off), sora nothing submitted."""
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    make_class(gradebook_url, {s: (s.title(), "", "") for s in ("minji", "junho", "sora")})
    submit(gradebook_url, "minji", {"test_x": 60.0, "test_y": 20.0}, -DAY)
    submit(gradebook_url, "junho", {"test_x": 60.0, "test_y": 20.0}, DAY + datetime.timedelta(hours=2))
    with Gradebook(gradebook_url) as gradebook:  # what AssignLatePenalties records (test_deadlines runs it)
        gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "junho").late_submission_penalty = 16.0
        gradebook.db.commit()
    return tmp_path, gradebook_url


def export(plugin, course, url, **options):
    config = Config()
    for key, value in {"roster_file": str(course / "roster.csv"), "to": str(course / "out.csv"), **options}.items():
        setattr(config[plugin.__name__], key, value)
    with Gradebook(url) as gradebook:
        plugin(config=config).export(gradebook)
    with open(course / "out.csv", newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_file_has_its_documented_columns_points_row_and_one_row_per_roster_student(graded):
    rows = export(lms.CanvasCsvExport, *graded)
    assert rows[0] == CANVAS_DOCUMENTED + [ASSIGNMENT]
    assert rows[1] == ["Points Possible", "", "", "", "", "100"]
    assert rows[2] == ["Kim, Minji", "1001", "2026001", "minji", "CS101-01", "80"]
    assert rows[3] == ["Lee, Junho", "1002", "2026002", "junho", "CS101-02", "64"]  # 80 less the penalty
    assert rows[4] == ["'=HYPERLINK(\"http://x\"),Sora", "1003", "2026003", "sora", "CS101-02", ""]
    assert len(rows) == 5  # no test student, nobody missing


def test_missing_is_zero_by_choice_and_steps_get_their_own_columns(graded):
    rows = export(lms.CanvasCsvExport, *graded, missing="zero", steps=True,
                  column="CNN visualization (4711)")
    assert rows[0][5:] == ["CNN visualization (4711)", "test_x (60)", "test_y (40)"]
    assert rows[1][5:] == ["100", "60", "40"]
    assert rows[3][5:] == ["64", "60", "20"]  # steps before the penalty, the total after
    assert rows[4][5:] == ["0", "0", "0"]


def test_moodle_file_has_an_identifier_column_it_maps_on_and_the_grade_column(graded):
    rows = export(lms.MoodleCsvExport, *graded)
    header = rows[0]
    assert MOODLE_IDENTIFIERS <= set(header) and header[-1] == ASSIGNMENT
    by_login = {row[header.index("Username")]: row for row in rows[1:]}
    assert list(by_login) == ["minji", "junho", "sora"]
    assert by_login["junho"][header.index(ASSIGNMENT)] == "64"
    assert by_login["sora"][header.index(ASSIGNMENT)] == ""  # Moodle: no grade
    assert all(float(row[-1]) >= 0 for row in rows[1:] if row[-1])  # Moodle reads each as a number


@pytest.mark.parametrize("plugin", [lms.CanvasCsvExport, lms.MoodleCsvExport])
def test_no_field_starts_a_formula(graded, plugin):
    rows = export(plugin, *graded, steps=True)
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff20")]
    assert any(c.startswith("'=HYPERLINK") for c in cells) or plugin is lms.MoodleCsvExport


def test_canvas_export_filled_in_keeps_its_rows_and_columns(graded):
    course, url = graded
    template = course / "canvas-export.csv"
    template.write_text(ROSTER, encoding="utf-8")
    original = list(csv.reader(ROSTER.splitlines()))
    rows = export(lms.CanvasCsvExport, course, url, template=str(template))
    assert rows[0] == original[0] + [ASSIGNMENT]
    assert len(rows) == len(original)
    for before, after in zip(original[1:], rows[1:]):
        assert after[:len(before)] == [csvsafe.cell(c) for c in before]  # every LMS cell kept (made safe)
    assert rows[1][-1] == "100" and rows[2][-1] == "" and rows[3][-1] == ""  # points; posting row; test student
    assert rows[4][-1] == "80" and rows[5][-1] == "64" and rows[6][-1] == ""


def test_moodle_grade_export_filled_in_its_own_grade_column(graded):
    course, url = graded
    column = f"Assignment: {ASSIGNMENT} (Real)"
    text = ("First name,Last name,ID number,Institution,Department,Email address," + column
            + ",Last downloaded from this course\n"
            "Minji,Kim,2026001,,,minji@example.edu,-,1765000000\n"
            "Junho,Lee,2026002,,,junho@example.edu,-,1765000000\n"
            "Guest,Auditor,,,,guest@example.edu,-,1765000000\n")
    template = course / "moodle-export.csv"
    template.write_text(text, encoding="utf-8")
    roster_csv = course / "plain.csv"
    roster_csv.write_text("id,first name,last name,email\nminji,Minji,Kim,minji@example.edu\n"
                          "junho,Junho,Lee,junho@example.edu\n", encoding="utf-8")
    rows = export(lms.MoodleCsvExport, course, url, template=str(template), column=column,
                  roster_file=str(roster_csv))
    original = list(csv.reader(text.splitlines()))
    assert rows[0] == original[0] and len(rows) == len(original)
    grade = original[0].index(column)
    assert [row[grade] for row in rows[1:]] == ["80", "64", "-"]  # matched by email; the guest's row kept
    assert [row[-1] for row in rows[1:]] == ["1765000000"] * 3
