"""Grades per step for the instructor: an nbgrader export plugin.

``nbgrader export --exporter=cnnviz.export.StepsCsvExport --to grades-by-step.csv``
writes one row per student and assignment, with one column per graded step
(named after the step, with its points) beside the total, ready for an LMS
upload. Steps come from the gradebook's grade cells, in notebook order; their
names from ``cnnviz.lesson``.
"""

from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from . import lesson


def step_column(grade_id: str, points: float) -> str:
    """The column header of a graded cell: the step's English title and its points."""
    step = lesson.STEPS.get(grade_id)
    title = step.title_en if step else grade_id
    return f"{title} ({points:g})"


class StepsCsvExport(ExportPlugin):
    """CSV with one column per graded step beside the total."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades-by-step.csv"
        self.log.info("Exporting grades per step to %s", dest)
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
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
