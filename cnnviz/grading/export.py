"""Grades per step for the instructor: an nbgrader export plugin.

``nbgrader export --exporter=cnnviz.grading.export.StepsCsvExport --to grades-by-step.csv``
writes one row per student and assignment, with one column per graded step
(named after the step, with its points) beside the total, ready for an LMS
upload. Steps come from the gradebook's grade cells, in notebook order; their
names from ``cnnviz.lesson_steps``.

``SafeCsvExport`` is nbgrader's own ``grades.csv`` (same columns), written by
the csv module, with every cell kept from starting a spreadsheet formula
(``nbgrader_config.py`` makes it ``nbgrader export``'s default). Names, ids and
e-mails come from students and rosters: in both exports, a cell that starts
with ``= + - @``, a tab or a carriage return starts with ``'``
(``cnnviz.grading.csvsafe.text_cell``).
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin, ExportPlugin

from cnnviz import lesson_steps
from cnnviz.grading.csvsafe import text_cell


def step_column(grade_id: str, points: float) -> str:
    """The column header of a graded cell: the step's English title and its points."""
    step = lesson_steps.STEPS.get(grade_id)
    title = step.title_en if step else grade_id
    return f"{title} ({points:g})"


class StepsCsvExport(ExportPlugin):
    """CSV with one column per graded step beside the total."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades-by-step.csv"
        self.log.info("Exporting grades per step to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            writer = _SafeWriter(handle)
            for assignment in gradebook.assignments:
                if self.assignment and assignment.name not in self.assignment:
                    continue
                cells = [cell for notebook in assignment.notebooks for cell in notebook.grade_cells]
                writer.writerow(["assignment", "student_id", "last_name", "first_name", "email", "timestamp",
                                 *(step_column(cell.name, cell.max_score) for cell in cells),
                                 "late_submission_penalty", "score", "max_score"])
                for student in gradebook.students:
                    if self.student and student.id not in self.student:
                        continue
                    writer.writerow(self._row(gradebook, assignment, student, cells))

    @staticmethod
    def _row(gradebook, assignment, student, cells) -> list:
        person = [assignment.name, student.id, student.last_name or "", student.first_name or "",
                  student.email or ""]
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:  # nothing submitted: zero everywhere, as nbgrader's own export does
            return [*person, "", *(0.0 for _ in cells), 0.0, 0.0, assignment.max_score]
        scores = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                scores[grade.name] = grade.score
        penalty = submission.late_submission_penalty or 0.0
        return [*person, submission.timestamp or "", *(scores.get(cell.name, 0.0) for cell in cells),
                penalty, max(0.0, submission.score - penalty), assignment.max_score]


class _SafeWriter:
    """``csv.writer`` whose cells never start a spreadsheet formula."""

    def __init__(self, handle):
        self._writer = csv.writer(handle)

    def writerow(self, row) -> None:
        self._writer.writerow([text_cell(value) for value in row])


class SafeCsvExport(CsvExportPlugin):
    """nbgrader's ``grades.csv``, same columns and rows, quoted by the csv module and formula-safe."""

    KEYS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
            "raw_score", "late_submission_penalty", "score", "max_score"]

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            writer = _SafeWriter(handle)
            writer.writerow(self.KEYS)
            for assignment in gradebook.assignments:
                if self.assignment and assignment.name not in [str(a) for a in self.assignment]:
                    continue
                for student in gradebook.students:
                    if self.student and student.id not in [str(s) for s in self.student]:
                        continue
                    writer.writerow(self._row(gradebook, assignment, student))

    def _row(self, gradebook, assignment, student) -> list:
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:
            timestamp, raw, penalty, score = "", 0.0, 0.0, 0.0
        else:
            timestamp, raw, penalty = submission.timestamp, submission.score, submission.late_submission_penalty
            score = max(0.0, submission.score - penalty)
        row = [assignment.name, assignment.duedate, timestamp, student.id, student.last_name, student.first_name,
               student.email, raw, penalty, score, assignment.max_score]
        # As nbgrader's own: None is an empty cell; numbers stay numbers (never quoted).
        return ["" if value is None else value for value in row]
