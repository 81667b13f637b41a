"""The due date, the late policy and extensions, all kept where nbgrader keeps them.

- **Due date**: ``python -m cnnviz duedate "2026-12-10 23:59" --timezone Asia/Seoul`` sets
  the assignment's ``duedate`` in nbgrader's gradebook (stored in UTC, as nbgrader does).
- **Late policy**: :class:`LatePolicy`, an nbgrader ``LateSubmissionPlugin``, set in
  ``nbgrader_config.py`` (``c.AssignLatePenalties.plugin_class`` and ``c.LatePolicy.*``):
  so many percent of the points earned per started day late, capped, and no credit from
  a cut-off on. nbgrader's ``AssignLatePenalties`` (in the autograde chain) asks it for
  each late notebook's penalty; exports and feedback subtract it.
- **Extensions**: ``python -m cnnviz extension STUDENT --days 2`` records one student's
  extension in nbgrader's own field (``SubmittedAssignment.extension``), which nbgrader
  adds to the due date before it counts a submission late.
- **What students see**: :class:`DeadlineNotice`, a ``GenerateAssignment`` preprocessor,
  puts the due date and the rule, in Korean and English, at the top of the released
  notebook (nothing when no due date is set); the feedback names the penalty.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

from nbformat.v4 import new_markdown_cell
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Unicode

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings

DAY = 86400.0
NOTICE_MARK = "cnnviz_deadline_notice"  # the notice cell's metadata key


class LatePolicy(LateSubmissionPlugin):
    """Percent of the points earned off per started day late, capped; no credit after a cut-off."""

    percent_per_day = Float(10.0, help="Percent of the points earned taken off for each started day late "
                                       "(24 hours after the due date or extension).").tag(config=True)
    max_percent = Float(100.0, help="At most this percent is taken off, however late.").tag(config=True)
    cutoff_days = Float(0.0, help="From this many days late on, no credit at all (0: no cut-off).").tag(config=True)

    def penalty_percent(self, seconds_late: float) -> float:
        """The percent taken off a submission ``seconds_late`` after its due date (0 if on time)."""
        if seconds_late <= 0:
            return 0.0
        days = seconds_late / DAY
        if self.cutoff_days and days >= self.cutoff_days:
            return 100.0
        return min(self.max_percent, self.percent_per_day * math.ceil(days), 100.0)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        """nbgrader's question: the points taken off this notebook's ``score``."""
        percent = self.penalty_percent(total_seconds_late)
        self.log.info("Late policy: %s is %.0f s late, %g %% off", student_id, total_seconds_late, percent)
        return round(score * percent / 100.0, 4)

    def rule(self) -> tuple[str, str]:
        """The rule in a sentence, (Korean, English), as students read it."""
        if self.percent_per_day <= 0 and not self.cutoff_days:
            return ("마감 뒤에 낸 과제도 감점하지 않습니다.", "Work handed in after the due date loses no points.")
        ko, en = [], []
        if self.percent_per_day > 0:
            cap = min(self.max_percent, 100.0)
            ko.append(f"마감 뒤에 내면 하루(24시간)가 시작될 때마다 받은 점수의 {self.percent_per_day:g}%를 "
                      f"깎고, 최대 {cap:g}%까지 깎습니다.")
            en.append(f"Late work loses {self.percent_per_day:g}% of the points it earned for each started day "
                      f"(24 hours) after the due date, at most {cap:g}%.")
        if self.cutoff_days:
            ko.append(f"마감 {self.cutoff_days:g}일 뒤부터 낸 과제는 점수를 받지 못합니다.")
            en.append(f"Work handed in {self.cutoff_days:g} days or more after the due date earns no points.")
        ko.append("연장을 받은 학생은 연장된 마감이 기준입니다.")
        en.append("If you were given an extension, your extended due date counts.")
        return " ".join(ko), " ".join(en)


# --------------------------------------------------------------------------- the due date

def parse_due(text: str, timezone: str) -> datetime.datetime:
    """``text`` (``YYYY-MM-DD HH:MM``, or ISO 8601 with its own offset) in ``timezone``, as aware time."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CourseError(f"unknown time zone {timezone!r}: give an IANA name such as Asia/Seoul or UTC") from None
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CourseError(f"due date {text!r} is not a date and time: write it as 2026-12-10 23:59") from None
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def set_duedate(when: datetime.datetime | None, root: Path = COURSE_ROOT, db_url: str | None = None) -> None:
    """Record the assignment's due date (None removes it) in nbgrader's gradebook, in UTC."""
    from nbgrader.api import Gradebook

    utc = None if when is None else when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    with Gradebook(db_url or settings.db_url(root)) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=utc)


def read_duedate(db_url: str) -> datetime.datetime | None:
    """The assignment's due date (aware, UTC), or None."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            due = gradebook.find_assignment(ASSIGNMENT).duedate
        except MissingEntry:
            return None
    return None if due is None else due.replace(tzinfo=datetime.timezone.utc)


def describe_due(due_utc: datetime.datetime, timezone: str = settings.COURSE_TIMEZONE) -> str:
    """``2026-12-10 23:59 (Asia/Seoul) = 2026-12-10 14:59 UTC``."""
    from zoneinfo import ZoneInfo

    local = due_utc.astimezone(ZoneInfo(timezone))
    text = f"{local:%Y-%m-%d %H:%M} ({timezone})"
    return text if timezone == "UTC" else f"{text} = {due_utc:%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------- extensions

def grant_extension(student: str, root: Path = COURSE_ROOT, db_url: str | None = None, *, days: float = 0,
                    hours: float = 0) -> str:
    """Record (or with no time, remove) one student's extension in nbgrader's gradebook; returns one line."""
    from nbgrader.api import Gradebook, MissingEntry

    if days < 0 or hours < 0:
        raise CourseError(f"an extension cannot be negative ({days:g} days, {hours:g} hours): give the time "
                          f"added to the due date, or none to remove {student}'s extension")
    with Gradebook(db_url or settings.db_url(root)) as gradebook:
        try:
            gradebook.find_student(student)
        except MissingEntry:
            raise CourseError(f"{student!r} is not a student of the gradebook: import the roster first "
                              f"(`python -m cnnviz roster import FILE`)") from None
        try:
            assignment = gradebook.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise CourseError(f"the gradebook does not know {ASSIGNMENT} yet: run `make release` first") from None
        try:
            gradebook.find_submission(ASSIGNMENT, student)
        except MissingEntry:
            # nbgrader keeps the extension on the student's submission; before they submit it is an empty one,
            # which autograde fills in (update_or_create_submission) and the LMS exports count as missing.
            gradebook.add_submission(ASSIGNMENT, student)
        gradebook.grant_extension(ASSIGNMENT, student, days=days, hours=hours)
        due = assignment.duedate
    if not days and not hours:
        return f"[extension] {student}: no extension ({ASSIGNMENT})"
    until = ""
    if due is not None:
        extended = due.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(days=days, hours=hours)
        until = f", due {describe_due(extended)}"
    return f"[extension] {student}: {days:g} day(s) {hours:g} hour(s) on {ASSIGNMENT}{until}"


# --------------------------------------------------------------------------- what students see

def notice_text(due_utc: datetime.datetime, policy: LatePolicy, timezone: str = settings.COURSE_TIMEZONE) -> str:
    """The notice's markdown: due date and rule, Korean first, then English."""
    from zoneinfo import ZoneInfo

    ko_rule, en_rule = policy.rule()
    local = f"{due_utc.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"
    # The zone's name is code to a Korean reader (in backticks); the English line adds UTC.
    return (f"**마감:** {local} (`{timezone}` 기준)\n\n{ko_rule}\n\n"
            f"**Due:** {describe_due(due_utc, timezone)}\n\n{en_rule}")


class DeadlineNotice(NbGraderPreprocessor):
    """``GenerateAssignment``: the due date and the late rule at the top of the released notebook.

    Reads the due date from the gradebook and the rule from ``LatePolicy``'s settings in the
    same ``nbgrader_config.py``; without a due date it adds nothing. The notice is a plain
    markdown cell (no nbgrader metadata), so grading ignores it.
    """

    timezone = Unicode(settings.COURSE_TIMEZONE, help="Time zone the due date is shown in.").tag(config=True)

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not cell.metadata.get(NOTICE_MARK)]
        converter = getattr(self.parent, "parent", None)  # the exporter's parent: GenerateAssignment
        if getattr(converter, "no_database", False):
            return nb, resources  # `generate_assignment --no-db`: no gradebook to read a due date from
        due = read_duedate(resources["nbgrader"]["db_url"])
        if due is not None:
            cell = new_markdown_cell(notice_text(due, LatePolicy(parent=self), self.timezone))
            cell.metadata[NOTICE_MARK] = True
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
            nb.cells.insert(0, cell)
        return nb, resources
