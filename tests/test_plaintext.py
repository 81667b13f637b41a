"""Student-controlled text for terminals and spreadsheets (cnnviz.grading.plaintext, and the CSV exports using it)."""

import csv
import io

import pytest

from cnnviz.course import classgrade, grade_attempt, spotcheck
from cnnviz.grading import csvsafe, failures, plaintext

HOSTILE_TEXT = "student\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b1;1H\rname\n"


def test_terminal_safe_text_has_no_escape_sequences_control_characters_or_line_breaks():
    assert plaintext.terminal_safe(HOSTILE_TEXT) == "student1;1H name "
    assert plaintext.terminal_safe("한글 학생 / plain") == "한글 학생 / plain"


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_that_starts_a_formula_starts_with_a_quote(value):
    assert csvsafe.text_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["kim", "김민지", "", 5.0, -1.0, 0, None, "a=b"])
def test_other_cells_and_numbers_stay_as_they_are(value):
    assert csvsafe.text_cell(value) == value


def test_the_class_drivers_per_student_line_passes_no_escape_sequence(monkeypatch, capsys, tmp_path):
    outcome = grade_attempt.Outcome(HOSTILE_TEXT, False, 1.0, failures.Failure(
        failures.KERNEL_DIED, HOSTILE_TEXT, "", "Kernel died: \x1b]52;c;cGF5bG9hZA==\x07 boom"))
    monkeypatch.setattr(classgrade, "ensure_gradebook", lambda root, url: None)
    monkeypatch.setattr(classgrade, "_fan_out", lambda *args, **kwargs: iter([outcome]))
    classgrade.autograde_class(tmp_path, workers=1, students=[HOSTILE_TEXT], db_url="sqlite:///x")
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "student1;1H name : not graded: Kernel died:  boom" in text


def test_the_spot_checks_report_passes_no_escape_sequence(capsys):
    spotcheck.print_report({"notebook": "n.ipynb", "score": 0, "max_score": 5, "error": "",
                            "cells": [{"grade_id": "test_x", "points": 5, "score": 0,
                                       "message": "wrong\x1b[2J\x1b]0;t\x07 값"}]})
    out = capsys.readouterr().out
    assert "\x1b" not in out and "wrong 값" in out


def _students(gradebook):
    gradebook.add_assignment("cnn_visualization")
    gradebook.add_student("=cmd|' /C calc'!A0", first_name="+SUM(1)", last_name="-2+3", email="@x")
    gradebook.add_student("kim", first_name="민지", last_name="김", email="kim@example.org")


@pytest.mark.parametrize("plugin", ["SafeCsvExport", "StepsCsvExport"])
def test_neither_csv_export_starts_a_cell_with_a_formula(gradebook_url, tmp_path, plugin):
    from nbgrader.api import Gradebook

    from cnnviz.grading import export

    with Gradebook(gradebook_url) as gradebook:
        _students(gradebook)
        target = tmp_path / "out.csv"
        getattr(export, plugin)(to=str(target)).export(gradebook)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], rows
    assert "'=cmd|' /C calc'!A0" in cells and "'-2+3" in cells and "민지" in cells and "kim@example.org" in cells
    assert all(len(row) == len(rows[0]) for row in rows), "every row has the header's columns"


def test_safe_csv_has_nbgraders_columns():
    from nbgrader.plugins import export as nbgrader_export

    from cnnviz.grading import export

    assert issubclass(export.SafeCsvExport, nbgrader_export.CsvExportPlugin)
    assert export.SafeCsvExport.KEYS[:4] == ["assignment", "duedate", "timestamp", "student_id"]
