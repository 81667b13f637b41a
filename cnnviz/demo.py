"""``make demo``: the instructor's whole loop, in a scratch course of its own.

The demo course lives in ``demo/course/`` (git-ignored), made afresh on every
run from this course's ``nbgrader_config.py`` and ``source/``, with its own
SQLite gradebook: the instructor's ``submitted/``, ``autograded/``,
``feedback/``, ``gradebook.db`` (or the PostgreSQL gradebook named by
``NBGRADER_DB_URL``) and the committed ``release/`` and ``solutions/`` are never
touched, and ``git status`` stays clean.

Submissions are placed as ``nbgrader collect`` leaves them (with
``timestamp.txt``), students are added to the gradebook, and feedback is
generated and released one student at a time: one broken student gets one
line and the others go on.
"""

from __future__ import annotations

import datetime
import os
import shutil
import uuid
from pathlib import Path

from . import ASSIGNMENT, COURSE_ROOT, CourseError
from . import grading

DEMO_PARENT = COURSE_ROOT / "demo"


def scratch_course(parent: Path = DEMO_PARENT) -> Path:
    """A fresh demo course ``parent/course`` (the previous one is removed) with its own gradebook.

    ``NBGRADER_DB_URL`` is pointed at the demo's own SQLite file for this process
    and the nbgrader commands it starts, so a course whose gradebook is
    PostgreSQL is not written either.
    """
    parent = Path(parent)
    course = parent / "course"
    if course.exists():
        shutil.rmtree(course)
    parent.mkdir(parents=True, exist_ok=True)
    os.environ["NBGRADER_DB_URL"] = f"sqlite:///{course / 'gradebook.db'}?timeout=60"
    return grading.scratch_course(parent)


def collect(course: Path, student: str, nb) -> Path:
    """Place ``nb`` as ``nbgrader collect`` would: the notebook, ``timestamp.txt`` and the student in the gradebook."""
    target = grading.submit(course, student, nb)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    (target.parent / "timestamp.txt").write_text(stamp)
    # nbgrader's submit writes this secret; release_feedback names the feedback file after it.
    (target.parent / "submission_secret.txt").write_text(uuid.uuid4().hex)
    grading.run_nbgrader("db", "student", "add", student, root=course, quiet=True)
    return target


def _reason(exc: CourseError) -> str:
    """The last line of nbgrader's complaint: what went wrong, in one line."""
    return next((line.strip() for line in reversed(str(exc).splitlines()) if line.strip()), str(exc))[:200]


def autograde_per_student(course: Path, students: list[str]) -> list[str]:
    """``nbgrader autograde`` one student at a time; one line for a student it cannot grade. The graded ones."""
    graded = []
    for student in students:
        try:
            grading.run_nbgrader("autograde", ASSIGNMENT, "--force", f"--student={student}", root=course)
        except CourseError as exc:
            print(f"       {student}: not graded: {_reason(exc)}", flush=True)
            continue
        graded.append(student)
    return graded


def feedback_per_student(course: Path, students: list[str], exchange: Path | None = None) -> list[str]:
    """``generate_feedback`` (and ``release_feedback`` into ``exchange`` if given) one student at a time.

    A student nbgrader cannot do gets one line and the rest go on; returns the students done.
    """
    done = []
    for student in students:
        try:
            grading.run_nbgrader("generate_feedback", ASSIGNMENT, "--force", f"--student={student}",
                                 root=course, quiet=True)
            if exchange is not None:
                grading.run_nbgrader("release_feedback", ASSIGNMENT, f"--student={student}",
                                     f"--Exchange.root={exchange}", root=course, quiet=True)
        except CourseError as exc:
            print(f"       {student}: no feedback: {_reason(exc)}", flush=True)
            continue
        done.append(student)
    return done


def demo(parent: Path = DEMO_PARENT) -> dict[str, dict[str, float]]:
    """The instructor's whole loop on the demo class in ``parent/course``; prints the score table and the paths."""
    print(f"[demo] 1/6 a scratch course of its own: {parent / 'course'} (the course's own folders are not touched)")
    course = scratch_course(parent)
    where = grading.paths(course)
    print("[demo] 2/6 release and solutions: source/ -> release/, solutions/ (executed)")
    grading.generate_solutions(course)

    print("[demo] 3/6 demo submissions -> submitted/")
    release_nb, source_nb = grading.read_notebook(where["release"]), grading.read_notebook(where["source"])
    class_ = [entry for entry in grading.load_catalogue() if entry.demo]
    for entry in class_:
        target = collect(course, entry.name, entry.notebook(release_nb, source_nb))
        print(f"       {entry.name:<28} {entry.mistake}  ({target.relative_to(course)})")
    names = [entry.name for entry in class_]

    print("[demo] 4/6 autograde: submitted/ -> autograded/")
    graded = autograde_per_student(course, names)
    print(f"       graded {len(graded)} of {len(names)} students")
    print("[demo] 5/6 feedback: autograded/ -> feedback/ and the demo's exchange")
    exchange = parent / "exchange"
    exchange.mkdir(exist_ok=True)
    done = feedback_per_student(course, graded, exchange)
    print(f"       feedback for {len(done)} of {len(graded)} students")
    print("[demo] 6/6 export: gradebook -> grades.csv")
    grading.export_grades(course)

    points = grading.grade_points(source_nb)
    scores = {s: v for s, v in grading.read_scores(course, os.environ["NBGRADER_DB_URL"]).items() if s in names}
    expected = {e.name: sum(e.expected_scores(points).values()) for e in class_}
    print()
    grading.print_table(scores, points, expected)
    print()
    print("[demo] wrote (all under the ignored demo/ folder):")
    for key in ("release", "solutions", "submitted", "autograded", "feedback", "grades"):
        print(f"       {key:<10} {where[key]}")
    print(f"       gradebook  {os.environ['NBGRADER_DB_URL']}")
    return scores
