"""Intake: a submission is reduced to its notebooks and the assignment's files before nbgrader copies it.

nbgrader's autograde copies everything in ``submitted/<student>/<assignment>/``
into ``autograded/`` with ``shutil.copy``, which follows symbolic links, and
reads ``timestamp.txt`` from there, all as the grader. A planted link would
make nbgrader copy the gradebook, another student's notebook or a root-only
file into the attacker's feedback, or write over them. ``nbgrader_config.py``
runs ``reduce_submission`` as ``c.Autograde.pre_convert_hook``: after nbgrader
has chosen the student's notebooks and before it copies anything. Kept are

- the notebooks nbgrader is about to grade, if each is a regular file of at
  most ``max_notebook_mb`` with no other hard link;
- ``timestamp.txt`` and ``submission_secret.txt`` (nbgrader's own, a few bytes);
- regular files at the paths the assignment's ``source/`` folder holds (the
  checkpoint), which nbgrader overwrites with the instructor's copies anyway.

Everything else (symbolic links, devices, FIFOs, sockets, folders, extra or
oversized files, a ``cnnviz/`` package) is moved, without following it, to
``quarantine/<student>/<assignment>/<time>/`` in the course root, outside
every folder nbgrader reads: nothing is lost, and an instructor can look at
it. Each student gets one log line naming what was moved and why. A refused
notebook is not graded: nbgrader then fails that student alone, after our line,
and the refusal is reported as a record (``cnnviz.grading.failures``).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from traitlets import Integer, Unicode
from traitlets.config import Configurable

from cnnviz.grading import failures
from cnnviz.grading.plaintext import terminal_safe

MiB = 2**20
TIMESTAMP = "timestamp.txt"
# nbgrader's own small files in a collected submission: release_feedback names the
# student's feedback after the secret that `nbgrader submit` wrote.
NBGRADER_FILES = (TIMESTAMP, "submission_secret.txt")


@dataclass(frozen=True)
class Refusal:
    """One entry of a submission that is not passed on to nbgrader."""

    path: Path  # relative to the assignment folder ("." for the folder itself)
    why: str

    def describe(self) -> str:
        return f"{self.path} ({self.why})"


def _kind(mode: int) -> str | None:
    """What a non-regular entry is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _assignment_files(source: Path) -> set[Path]:
    """Relative paths of the files the assignment ships (its source folder, notebooks excluded)."""
    if not source.is_dir():
        return set()
    return {p.relative_to(source) for p in source.rglob("*") if p.is_file() and p.suffix != ".ipynb"}


class SubmissionIntake(Configurable):
    """Reduces one student's submitted folder to what nbgrader may touch (see the module docstring)."""

    max_notebook_mb = Integer(25, help="Largest notebook accepted, MiB").tag(config=True)
    max_file_mb = Integer(10, help="Largest other accepted file (the assignment's own), MiB").tag(config=True)
    quarantine = Unicode("quarantine", help="Folder (relative to the course root, or absolute) that "
                         "receives what a submission may not keep").tag(config=True)

    def review(self, folder: Path, notebooks: list[Path], shipped: set[Path]) -> list[Refusal]:
        """What in ``folder`` (a real folder) must go, without changing anything."""
        wanted = {Path(n).name for n in notebooks}
        refusals = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            name = Path(entry.name)
            kind = _kind(info.st_mode)
            if entry.name in wanted:
                if kind:
                    refusals.append(Refusal(name, f"the notebook is {kind}"))
                elif info.st_size > self.max_notebook_mb * MiB:
                    refusals.append(Refusal(name, f"the notebook has {info.st_size / MiB:.0f} MiB, "
                                                  f"more than {self.max_notebook_mb} MiB"))
                elif info.st_nlink > 1:
                    refusals.append(Refusal(name, "the notebook is a hard link to another file"))
            elif entry.name in NBGRADER_FILES:
                if kind or info.st_size > 1024 or info.st_nlink > 1:
                    refusals.append(Refusal(name, f"nbgrader's {entry.name} is {kind or 'not a small file'}"))
            elif kind == "a folder" and any(s.parts[0] == entry.name for s in shipped if len(s.parts) > 1):
                inner = [s.relative_to(entry.name) for s in shipped if s.parts[0] == entry.name and len(s.parts) > 1]
                refusals += [Refusal(name / r.path, r.why) for r in self.review(Path(entry.path), [], set(inner))]
            elif name in shipped and not kind and info.st_size <= self.max_file_mb * MiB and info.st_nlink == 1:
                continue
            else:
                refusals.append(Refusal(name, kind or ("not a file of the assignment" if name not in shipped
                                                       else f"larger than {self.max_file_mb} MiB or a hard link")))
        return refusals

    def reduce(self, student_folder: Path, assignment: str, notebooks: list[str]) -> list[Refusal]:
        """Move refused entries of ``student_folder/assignment`` to the quarantine; drop refused notebooks
        from ``notebooks`` (in place: it is nbgrader's own list). Returns the refusals."""
        assignment_folder = student_folder / assignment
        course = student_folder.parent.parent
        student = student_folder.name
        quarantine = Path(self.quarantine)
        if not quarantine.is_absolute():
            quarantine = course / quarantine
        target = quarantine / student / assignment / time.strftime("%Y%m%dT%H%M%S")
        # The student's folder or the assignment folder itself may be a link (to another student's).
        for folder, label in ((student_folder, "the student's folder"), (assignment_folder, "the assignment folder")):
            info = os.lstat(folder)
            if not stat.S_ISDIR(info.st_mode):
                self._move(folder, target / folder.name)
                notebooks.clear()
                return [Refusal(Path("."), f"{label} is {_kind(info.st_mode)}")]
        refusals = self.review(assignment_folder, [Path(n) for n in notebooks],
                               _assignment_files(course / "source" / assignment))
        for refusal in refusals:
            self._move(assignment_folder / refusal.path, target / refusal.path)
        refused = {str(assignment_folder / r.path) for r in refusals}
        notebooks[:] = [n for n in notebooks if str(Path(n)) not in refused]
        return refusals

    @staticmethod
    def _move(source: Path, target: Path) -> None:
        """Move ``source`` (a link is moved, never followed) to ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o700)  # the quarantine is the instructor's alone
        try:
            os.rename(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # The quarantine is on another file system: copy without following links.
            info = os.lstat(source)
            if stat.S_ISDIR(info.st_mode):
                shutil.copytree(source, target, symlinks=True)
                shutil.rmtree(source)
                return
            if stat.S_ISREG(info.st_mode):
                shutil.copy2(source, target, follow_symlinks=False)
            elif stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(source), target)
            os.unlink(source)  # a device, FIFO or socket is only removed


def reduce_submission(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's ``pre_convert_hook``: reduce this student's submission before nbgrader copies it.

    nbgrader swallows exceptions from the hook, so every problem is logged here,
    as one line per student, at the level it deserves.
    """
    from traitlets.config import Application
    from traitlets.log import get_logger

    log = get_logger()
    if not notebooks:
        return
    first = Path(notebooks[0])
    # The path nbgrader globbed: <course>/submitted/<student>/<assignment>/<notebook>.ipynb
    # (os.path, not resolve(): a linked folder must be seen as the link it is).
    assignment_folder = Path(os.path.abspath(os.path.dirname(first)))
    student_folder = assignment_folder.parent
    config = Application.instance().config if Application.initialized() else None
    intake = SubmissionIntake(config=config) if config is not None else SubmissionIntake()
    try:
        refusals = intake.reduce(student_folder, assignment_folder.name, notebooks)
    except OSError as error:
        notebooks.clear()
        _refuse(student_folder.name, f"submission not graded: cannot read or move its files "
                f"({terminal_safe(error)}); look at submitted/{terminal_safe(student_folder.name)}/ by hand")
        return
    if not refusals:
        return
    where = Path(intake.quarantine).name
    # File names are the student's: no escape sequence of theirs reaches the grader's terminal.
    listed = terminal_safe("; ".join(r.describe() for r in refusals[:8])
                           + (f"; +{len(refusals) - 8} more" if len(refusals) > 8 else ""))
    if notebooks:
        log.warning("[intake] %s: moved to %s/, not passed to nbgrader: %s", terminal_safe(student_folder.name), where, listed)
    else:
        _refuse(student_folder.name, f"submission not graded, its notebook was refused and moved to {where}/: "
                f"{listed}; the student must submit the notebook as a regular file")


def _refuse(student: str, reason: str) -> None:
    """Log the refusal as nbgrader's log shows it, and report it to whoever grades (cnnviz.grading.failures)."""
    from traitlets.log import get_logger

    get_logger().error("[intake] %s: %s", terminal_safe(student), reason)
    failures.report(failures.Failure(failures.REFUSED, student, "", reason))
