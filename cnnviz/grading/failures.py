"""Why a student's submission was not graded, as a record that crosses processes as data.

The side that finds the problem (the intake, ``MatchRelease``, the jailed
execution, the warm grader, the class driver) makes one :class:`Failure`; the
side that reports it (``cnnviz.course.classgrade``, ``nbrun.run_nbgrader``) reads its
``kind`` and renders its ``reason``, and never parses another module's wording.

How a record crosses (the grading side; nothing here runs in the student's kernel):

- inside one nbgrader process (the warm grader, ``cnnviz.grading.gradeworker``)
  :func:`report` keeps it in this process (:func:`pop_reported`), and the
  grader sends it on its socket as JSON;
- from an ``nbgrader autograde`` child (``--one-process-per-student``),
  :func:`report` also appends it as one JSON line to the file that
  ``settings.FAILURES_FILE_VARIABLE`` names, made by the class driver (mode
  0600, outside every folder the kernel sees; the kernel's environment never
  has the variable). Not nbgrader's output: the jailed kernel inherits that
  stream, so a student could print a record there.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cnnviz import settings

# The kinds of failure, each decided where it happens.
REFUSED = "refused"  # the intake or MatchRelease would not pass the submission to nbgrader
KERNEL_NEVER_ANSWERED = "kernel never answered"  # no student code ran: tried once more
KERNEL_DIED = "kernel died"
TIMEOUT = "timeout"
GRADER_DIED = "grader died"  # the warm grader process did not start or died mid-student
BAD_REQUEST = "bad request"  # the warm grader was asked for a student it cannot grade
NBGRADER_ERROR = "nbgrader error"  # nbgrader failed for a reason of its own (its log says which)
UNREADABLE = "unreadable"  # the submitted notebook is no notebook
LOCKED = "locked"  # another grader of the same student held its lock, or the lock failed
KINDS = (REFUSED, KERNEL_NEVER_ANSWERED, KERNEL_DIED, TIMEOUT, GRADER_DIED, BAD_REQUEST, NBGRADER_ERROR, UNREADABLE,
         LOCKED)

# A record's reason is one line of at most this many characters.
MAX_REASON = 300

# The reasons of the failures nbclient raises, in the grader's words.
KERNEL_DIED_REASON = "the notebook's kernel died (sys/os exit, a crash, or too much memory); not graded"
TIMEOUT_REASON = "a cell ran past Execute.timeout or printed too much to be received; not graded"
KERNEL_NEVER_ANSWERED_REASON = ("the notebook's kernel never answered (it died, or did not start within "
                                "Execute.startup_timeout); not graded")


@dataclass(frozen=True)
class Failure:
    """One student's submission not graded: what kind of failure, whose, in which cell, and why (one line)."""

    kind: str
    student: str = ""
    cell: str = ""
    reason: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of failure {self.kind!r}; one of {', '.join(KINDS)}")
        for name in ("student", "cell", "reason"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"a failure's {name} is text, not {type(getattr(self, name)).__name__}")
        object.__setattr__(self, "reason", " ".join(self.reason.split())[:MAX_REASON])

    @property
    def retry(self) -> bool:
        """Whether another try may grade it: none of the student's code ran."""
        return self.kind == KERNEL_NEVER_ANSWERED

    def render(self) -> str:
        """The one line the terminal, the journal and a spot check show (the student is named beside it)."""
        where = f"cell {self.cell}: " if self.cell else ""
        return where + (self.reason or f"{self.kind}; not graded")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> Failure:
        """The record ``to_dict`` made; ValueError for anything else."""
        if not isinstance(data, dict) or set(data) - {"kind", "student", "cell", "reason"}:
            raise ValueError(f"not a failure record: {data!r}"[:200])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Failure:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a failure record: {exc}") from None
        return cls.from_dict(data)


class Refused(Exception):
    """A submission refused before nbgrader grades it; ``failure`` says whose and why."""

    def __init__(self, failure: Failure):
        super().__init__(f"{failure.student}: {failure.reason}" if failure.student else failure.reason)
        self.failure = failure


# What report() was told in this process since the last pop_reported(), the latest KEEP_REPORTED.
_reported: list[Failure] = []
KEEP_REPORTED = 100


def report(failure: Failure) -> None:
    """Tell whoever started this grading why it failed (see the module docstring)."""
    _reported.append(failure)
    del _reported[:-KEEP_REPORTED]  # a process nobody pops (nbgrader's formgrader) keeps only the latest
    path = settings.failures_file()
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(failure.to_json() + "\n")


def pop_reported() -> list[Failure]:
    """The failures reported in this process, then forgets them."""
    reported = list(_reported)
    _reported.clear()
    return reported


def read_file(path: Path | str) -> list[Failure]:
    """The failures an ``nbgrader`` child appended to ``path``; a line that is no record is left out."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            found.append(Failure.from_json(line))
        except (ValueError, TypeError):
            continue
    return found


def first_cause(reported: list[Failure]) -> Failure | None:
    """The failure that says why: the last refusal (nbgrader's own errors follow it), else the last one."""
    refused = [f for f in reported if f.kind == REFUSED]
    return (refused or reported or [None])[-1]
