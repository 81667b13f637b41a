"""Grades out to the LMS: nbgrader export plugins that write Canvas's and Moodle's own import CSV.

``nbgrader export --exporter=cnnviz.course.lms.CanvasCsvExport --to canvas.csv`` writes Canvas's
gradebook import file: its identity columns ``Student, ID, SIS User ID, SIS Login ID,
Section``, one column for the assignment, and the ``Points Possible`` row under the
header. Canvas matches rows on ``ID`` / ``SIS User ID`` / ``SIS Login ID`` and ignores the
rest; a column header ``Name (12345)`` updates Canvas assignment 12345, any other header
creates a new assignment of that name on import.

``nbgrader export --exporter=cnnviz.course.lms.MoodleCsvExport --to moodle.csv`` writes Moodle's
grade import file (*Grades → Import → CSV file*): ``First name, Last name, Username, ID
number, Email address`` and the grade column. On import, pick the identifier under
"Identify user by" (map from ``Email address`` to email address, or ``ID number`` /
``Username``) and map the grade column to the grade item; an empty cell is "no grade".

Both: one row per student of the course's roster (``roster.json``, ``cnnviz.course.roster``), in
its order, keyed by the roster's ids; the score is nbgrader's total minus the late
penalty. Options (``--CanvasCsvExport.…`` or ``c.LmsCsvExport.…`` in ``nbgrader_config.py``):

- ``missing``: ``empty`` (default) or ``zero``, for a student with no submission;
- ``steps``: one more column per graded step (points before any late penalty);
- ``column``: the assignment column's header (default: the assignment's name);
- ``template``: an export of the LMS's own (Canvas's gradebook export, Moodle's grade
  export) to fill in instead: its rows and columns are kept, the assignment column is
  filled (or added) on the rows that match a roster student.

Every cell goes through ``cnnviz.grading.csvsafe``: no field can start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Enum, Unicode

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import roster
from cnnviz.grading import csvsafe
from cnnviz.grading.export import step_column


@dataclass
class Result:
    """One student's graded submission: the total after the late penalty, the penalty, each step's points."""

    total: float
    penalty: float
    steps: dict[str, float] = field(default_factory=dict)


def results(gradebook: Gradebook, assignment: str) -> dict[str, Result]:
    """Every student with a graded submission of ``assignment``."""
    out = {}
    for submission in gradebook.assignment_submissions(assignment):
        grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
        # An extension granted before the student submitted is an empty submission: nothing graded yet.
        if not any(g.auto_score is not None or g.manual_score is not None for g in grades):
            continue
        penalty = float(submission.late_submission_penalty or 0.0)
        out[submission.student.id] = Result(max(0.0, float(submission.score) - penalty), penalty,
                                            {g.name: float(g.score) for g in grades})
    return out


@dataclass(frozen=True)
class Layout:
    """An LMS's import file: its identity columns (header, value from a roster student), how rows are matched."""

    name: str
    identity: tuple[tuple[str, Callable[[roster.Student], str]], ...]
    keys: tuple[tuple[str, str], ...]  # (column, Student attribute) to match a template's rows on
    points_row: bool


CANVAS = Layout(
    "Canvas",
    (("Student", lambda s: s.lms_name or ", ".join(p for p in (s.last_name, s.first_name) if p)),
     ("ID", lambda s: s.lms_id),
     ("SIS User ID", lambda s: s.sis_user_id),
     ("SIS Login ID", lambda s: s.sis_login_id or s.login),
     ("Section", lambda s: s.section)),
    (("ID", "lms_id"), ("SIS User ID", "sis_user_id"), ("SIS Login ID", "sis_login_id"), ("SIS Login ID", "login")),
    points_row=True)
MOODLE = Layout(
    "Moodle",
    (("First name", lambda s: s.first_name), ("Last name", lambda s: s.last_name),
     ("Username", lambda s: s.username or s.login), ("ID number", lambda s: s.id_number),
     ("Email address", lambda s: s.email)),
    (("Email address", "email"), ("ID number", "id_number"), ("Username", "username"), ("Username", "login")),
    points_row=False)
POINTS_POSSIBLE = "Points Possible"


class LmsCsvExport(ExportPlugin):
    """Shared by the Canvas and Moodle exports (options above)."""

    layout: Layout = CANVAS
    missing = Enum(("empty", "zero"), "empty", help="A roster student with no submission: an empty cell "
                                                   "or 0.").tag(config=True)
    steps = Bool(False, help="Add one column per graded step (points before any late penalty).").tag(config=True)
    column = Unicode("", help="The assignment column's header (default: the assignment's name; "
                              "Canvas: 'Name (id)' updates that assignment).").tag(config=True)
    template = Unicode("", help="An export of the LMS's own to fill in, keeping its rows and "
                                "columns.").tag(config=True)
    roster_file = Unicode("", help="The roster (default: roster.json in the course root).").tag(config=True)

    # ----------------------------------------------------------------- inputs

    def _course_root(self) -> Path:
        coursedir = getattr(self.parent, "coursedir", None)
        return Path(coursedir.root) if coursedir is not None else Path.cwd()

    def _students(self) -> list[roster.Student]:
        if self.roster_file:
            return roster.read(Path(self.roster_file))[1]
        students = roster.load(self._course_root())
        if students is None:
            raise CourseError(f"no roster in {self._course_root()}: import one first "
                              f"(`python -m cnnviz roster import FILE`), the {self.layout.name} file is keyed by it")
        return students

    def _columns(self, gradebook: Gradebook, assignment: str) -> list[tuple[str, str | None, float]]:
        """(header, grade id or None for the total, points) of each grade column."""
        found = gradebook.find_assignment(assignment)
        columns = [(self.column or assignment, None, float(found.max_score))]
        if self.steps:
            columns += [(step_column(cell.name, cell.max_score), cell.name, float(cell.max_score))
                        for notebook in found.notebooks for cell in notebook.grade_cells]
        return columns

    def _cells(self, result: Result | None, columns) -> list:
        if result is None:
            return [0.0 if self.missing == "zero" else None for _ in columns]
        return [result.total if grade_id is None else result.steps.get(grade_id, 0.0) for _, grade_id, _ in columns]

    # ----------------------------------------------------------------- output

    def export(self, gradebook: Gradebook) -> None:
        """nbgrader's call: the file, or one error line (and exit status 2) with nothing written."""
        try:
            self._export(gradebook)
        except CourseError as exc:
            self.log.error("%s", exc)
            raise SystemExit(2) from None

    def _export(self, gradebook: Gradebook) -> None:
        assignment = self.assignment[0] if self.assignment else ASSIGNMENT
        dest = self.to or f"{self.layout.name.lower()}-{assignment}.csv"
        everyone = self._students()
        students = [s for s in everyone if s.login in self.student] if self.student else everyone
        graded = results(gradebook, assignment)
        columns = self._columns(gradebook, assignment)
        table = (self._filled_template(Path(self.template), students, graded, columns) if self.template
                 else self._table(students, graded, columns))
        left_out = sorted(set(graded) - {s.login for s in everyone})
        if left_out:
            self.log.warning("Not on the roster, so not in the %s file: %s", self.layout.name, roster.printable(left_out))
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(csvsafe.row(r) for r in table)
        missing = sum(1 for s in students if s.login not in graded)
        self.log.info("Wrote %s for %s: %d students, %d without a submission (%s)", dest, self.layout.name,
                      len(students), missing, "0" if self.missing == "zero" else "empty")

    def _table(self, students, graded, columns) -> list[list]:
        header = [name for name, _ in self.layout.identity] + [name for name, _, _ in columns]
        table = [header]
        if self.layout.points_row:
            table.append([POINTS_POSSIBLE] + [""] * (len(self.layout.identity) - 1) + [p for _, _, p in columns])
        for student in students:
            table.append([value(student) for _, value in self.layout.identity]
                         + self._cells(graded.get(student.login), columns))
        return table

    def _match(self, header: list[str], row: list[str], students) -> roster.Student | None:
        for column, attribute in self.layout.keys:
            if column not in header:
                continue
            value = row[header.index(column)].strip().lower() if header.index(column) < len(row) else ""
            if not value:
                continue
            for student in students:
                if getattr(student, attribute).strip().lower() == value:
                    return student
        return None

    def _filled_template(self, path: Path, students, graded, columns) -> list[list]:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CourseError(f"cannot read the {self.layout.name} export {path} as UTF-8 text: {exc}") from None
        table = [list(r) for r in csv.reader(io.StringIO(text, newline=""))]
        if not table or not any(key in table[0] for key, _ in self.layout.keys):
            raise CourseError(f"{path} is not a {self.layout.name} export: its header names none of "
                              f"{', '.join(dict(self.layout.keys))}")
        header = table[0]
        where = []
        for name, _, _ in columns:
            if name not in header:
                header.append(name)
            where.append(header.index(name))
        for row in table[1:]:
            row.extend([""] * (len(header) - len(row)))
            first = row[0].strip() if row else ""
            if self.layout.points_row and first == POINTS_POSSIBLE:
                values = [p for _, _, p in columns]
            else:
                student = self._match(header, row, students)
                if student is None:
                    continue  # a row of the LMS's own (the test student, a posting policy): kept as it is
                values = self._cells(graded.get(student.login), columns)
            for index, value in zip(where, values):
                row[index] = value
        return table


class CanvasCsvExport(LmsCsvExport):
    """Canvas's gradebook import CSV."""

    layout = CANVAS


class MoodleCsvExport(LmsCsvExport):
    """Moodle's grade import CSV."""

    layout = MOODLE
