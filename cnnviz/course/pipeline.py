"""The course's folders and the nbgrader steps around grading: release, solutions, feedback, export.

``nbgrader generate_assignment``: ``source/`` -> ``release/``; ``generate_solution``
-> ``solutions/``; submissions in ``submitted/`` (autograded by
``cnnviz.course.classgrade``); ``generate_feedback``: ``autograded/`` -> ``feedback/``;
``export`` -> CSV. Scores are read back from nbgrader's gradebook. A scratch
course (:func:`scratch_course`) is a throw-away copy of this one with its own
gradebook, for ``make demo``, ``cnnviz grade`` and the tests.
"""

from __future__ import annotations

import datetime
import shutil
import uuid
from pathlib import Path

import nbformat

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings
from cnnviz.course.nbrun import run_nbgrader

NOTEBOOK = settings.NOTEBOOK


def paths(root: Path = COURSE_ROOT) -> dict[str, Path]:
    """Where each stage of the pipeline reads or writes."""
    return {
        "source": root / "source" / ASSIGNMENT / NOTEBOOK,
        "release": root / "release" / ASSIGNMENT / NOTEBOOK,
        "solutions": root / "solutions" / ASSIGNMENT / NOTEBOOK,
        "submitted": root / "submitted",
        "autograded": root / "autograded",
        "feedback": root / "feedback",
        "grades": root / "grades.csv",
    }


# --------------------------------------------------------------------------- scratch courses

def scratch_course(parent: Path, root: Path = COURSE_ROOT, *, source_notebook=None, extra_config: str = "",
                   own_gradebook: bool = True, fresh: bool = False, assignment: str = ASSIGNMENT) -> Path:
    """A throw-away course ``parent/course``: ``root``'s config and source, ``assignment`` generated.

    Raises CourseError (nbgrader's own words) when ``assignment`` does not release.
    ``source_notebook`` replaces the source notebook; ``extra_config`` is appended to
    ``nbgrader_config.py``. With ``own_gradebook`` the course's gradebook is its own
    SQLite file (:func:`scratch_db_url`) even when ``NBGRADER_DB_URL`` names another,
    for every nbgrader command run in it; pass that URL to ``classgrade`` and
    :func:`read_scores`. ``fresh`` removes a previous ``parent/course`` first.
    """
    course = Path(parent) / "course"
    if fresh and course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    shutil.copytree(root / "source", course / "source")
    if source_notebook is not None:
        nbformat.write(source_notebook, course / "source" / assignment / NOTEBOOK)
    config = (root / "nbgrader_config.py").read_text(encoding="utf-8") + extra_config
    if own_gradebook:
        config += f"\n# A scratch course: its own gradebook, whatever NBGRADER_DB_URL says.\n" \
                  f"c.CourseDirectory.db_url = {scratch_db_url(course)!r}\n"
    (course / "nbgrader_config.py").write_text(config, encoding="utf-8")
    run_nbgrader("generate_assignment", assignment, "--force", root=course, quiet=True)
    return course


def scratch_db_url(course: Path) -> str:
    """The gradebook of a scratch course made with ``own_gradebook``."""
    return f"sqlite:///{Path(course) / settings.GRADEBOOK_FILE}?timeout={settings.SQLITE_TIMEOUT_SECONDS}"


# --------------------------------------------------------------------------- submissions and scores

def submit(root: Path, student: str, nb) -> Path:
    """Place a notebook where nbgrader expects student ``student``'s submission."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NOTEBOOK
    nbformat.write(nb, target)
    return target


def collect(root: Path, student: str, nb) -> Path:
    """Place ``nb`` as ``nbgrader collect`` would: the notebook, ``timestamp.txt`` and the student in the gradebook."""
    target = submit(root, student, nb)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    (target.parent / "timestamp.txt").write_text(stamp)
    # nbgrader's submit writes this secret; release_feedback names the feedback file after it.
    (target.parent / "submission_secret.txt").write_text(uuid.uuid4().hex)
    run_nbgrader("db", "student", "add", student, root=root, quiet=True)
    return target


def read_scores(root: Path = COURSE_ROOT, url: str | None = None) -> dict[str, dict[str, float]]:
    """Autograded score of each graded cell, per student, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(url or settings.db_url(root)) as gradebook:
        for student in gradebook.students:
            try:
                nb = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            scores[student.id] = {grade.name: float(grade.score) for grade in nb.grades}
    return scores


def print_table(scores: dict[str, dict[str, float]], points: dict[str, float],
                expected: dict[str, float] | None = None) -> None:
    """Students x graded parts (numbered, with a legend), totals, and the expected totals if given."""
    ids = list(points)
    width = max([len(s) for s in scores] + [7])
    numbers = " ".join(f"{k + 1:>2}" for k in range(len(ids)))
    extra = "  expected" if expected else ""
    print(f"{'student':<{width}}  total{extra}  {numbers}")
    for student in sorted(scores):
        cells = scores[student]
        total = sum(cells.get(i, 0.0) for i in ids)
        marks = " ".join(f"{cells.get(i, 0.0):>2.0f}" for i in ids)
        if expected:
            want = expected.get(student)
            verdict = "" if want is None else (f"{want:5.0f} ok" if abs(want - total) < 1e-9 else f"{want:5.0f} !!")
            print(f"{student:<{width}}  {total:5.0f}  {verdict:<8}  {marks}")
        else:
            print(f"{student:<{width}}  {total:5.0f}  {marks}")
    print("parts: " + ", ".join(f"{k + 1} {i.removeprefix('test_')} ({points[i]:g})" for k, i in enumerate(ids)))


# --------------------------------------------------------------------------- nbgrader's steps

def generate_release(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader generate_assignment``: source/ -> release/ (also records the assignment in the gradebook)."""
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=root)
    return paths(root)["release"]


def generate_solutions(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader generate_solution``: source/ -> solutions/, executed, figures included."""
    run_nbgrader("generate_solution", ASSIGNMENT, "--force", root=root)
    return paths(root)["solutions"]


def generate_feedback(root: Path, students: list[str], exchange: Path | None = None) -> list[str]:
    """``generate_feedback`` (and ``release_feedback`` into ``exchange`` if given) one student at a time.

    A student nbgrader cannot do gets one line and the rest go on; returns the students done.
    """
    done = []
    for student in students:
        try:
            run_nbgrader("generate_feedback", ASSIGNMENT, "--force", f"--student={student}", root=root, quiet=True)
            if exchange is not None:
                run_nbgrader("release_feedback", ASSIGNMENT, f"--student={student}",
                             f"--Exchange.root={exchange}", root=root, quiet=True)
        except CourseError as exc:
            print(f"       {student}: no feedback: {_last_line(exc)}", flush=True)
            continue
        done.append(student)
    return done


def export_grades(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader export``: the gradebook -> grades.csv."""
    target = paths(root)["grades"]
    run_nbgrader("export", f"--to={target}", root=root)
    return target


def _last_line(exc: CourseError) -> str:
    """The last line of a complaint: what went wrong, in one line."""
    return next((line.strip() for line in reversed(str(exc).splitlines()) if line.strip()), str(exc))[:200]
