"""The journal of grading attempts, ``autograded/.journal/<student>/<attempt>.json``.

Every attempt at grading a student (``cnnviz.course.grade_attempt``) leaves one
record: who ran it (host, worker pid, the grading process's pid in
``nbgrader_pid``), when it started and ended, whether it graded, why not
(``message`` and ``kind``), a digest of the submission it graded, and where its
time went (``phases``). ``--missing`` reads it to grade only the students whose
current submission has no successful grading yet; a lost Dask scheduler's
report reads it for the students in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cnnviz import ASSIGNMENT
from cnnviz.course.class_sizing import submitted_students


def journal_folder(root: Path) -> Path:
    """Where the attempts are recorded (inside autograded/, which the grading kernels never see)."""
    return Path(root) / "autograded" / ".journal"


def submission_digest(root: Path, student: str) -> str:
    """A digest of everything the student submitted (names and contents, timestamp.txt included)."""
    folder = Path(root) / "submitted" / student / ASSIGNMENT
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_journal(root: Path) -> list[dict]:
    """Every recorded attempt, oldest first. An attempt without ``ended`` was cut off (or is running)."""
    records = []
    for path in journal_folder(root).glob("*/*.json"):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue  # being replaced this very moment
    return sorted(records, key=lambda r: r["started"])


def graded_students(root: Path) -> set[str]:
    """Students whose current submission was graded successfully, according to the journal."""
    latest = {}
    for record in read_journal(root):
        if "ended" in record:
            latest[record["student"]] = record
    graded = set()
    for student, record in latest.items():
        folder = Path(root) / "submitted" / student / ASSIGNMENT
        if record["ok"] and folder.is_dir() and record["submission"] == submission_digest(root, student):
            graded.add(student)
    return graded


def missing_students(root: Path) -> list[str]:
    """Submitted students still without a successful grading of their current submission."""
    graded = graded_students(root)
    return [s for s in submitted_students(root) if s not in graded]


def write_record(root: Path, record: dict) -> None:
    """Record (or replace) one attempt: ``record`` names its ``student`` and ``attempt``."""
    folder = journal_folder(root) / record["student"]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{record['attempt']}.json"
    # Write aside and rename: readers on other machines see the old or the new record, never half.
    spare = folder / f".{record['attempt']}.tmp"
    spare.write_text(json.dumps(record))
    os.replace(spare, target)
