"""Grading a whole class at once: one ``nbgrader autograde --student=X`` per student, fanned out.

Each student is graded by its own nbgrader process, exactly as the serial
``nbgrader autograde`` would grade them, so the scores are the same. On one
machine the processes are driven from a thread pool (the work happens in the
child processes); across machines the same function runs on the workers of a
Dask distributed scheduler that share the course folder and the gradebook.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from . import ASSIGNMENT, COURSE_ROOT, CourseError


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    ok: bool
    seconds: float
    message: str = ""


def submitted_students(root: Path = COURSE_ROOT) -> list[str]:
    """Students with a submission of the assignment in ``submitted/``."""
    folder = Path(root) / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / ASSIGNMENT).is_dir())


# nbgrader gives up on a whole submission for these; say why in the grader's words.
_KNOWN_FAILURES = {
    "DeadKernelError": "the notebook's kernel died (sys/os exit, a crash, or too much memory); not graded",
    "CellTimeoutError": "a cell ran past Execute.timeout or printed too much to be received; not graded",
}


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"^[\w.]+(Error|Exception): ", line)]
    for line in reversed(exceptions):
        for name, reason in _KNOWN_FAILURES.items():
            if name in line.split(":", 1)[0]:
                return reason
    errors = exceptions or [line for line in lines if "[ERROR]" in line]
    return (errors or lines or ["nbgrader failed without a message"])[-1][:300]


def grade_student(root: str, student: str, db_url: str | None = None) -> Outcome:
    """Autograde one student's submission with nbgrader; never raises for a bad submission."""
    from .grading import nbgrader_env, read_notebook

    # An unreadable notebook gets one clear line here rather than nbgrader's traceback.
    for notebook in sorted((Path(root) / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
        try:
            read_notebook(notebook)
        except CourseError as exc:
            return Outcome(student, False, 0.0, str(exc))
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force", f"--student={student}"]
    if db_url:
        command.append(f"--db={db_url}")
    started = time.perf_counter()
    for attempt in range(2):
        result = subprocess.run(command, cwd=root, env=nbgrader_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # A kernel that dies before it answers has run none of the student's code:
        # that is the machine's doing (seen under heavy load), so try once more.
        if result.returncode == 0 or "before replying to kernel_info" not in result.stdout:
            break
    seconds = time.perf_counter() - started
    autograded = Path(root) / "autograded" / student / ASSIGNMENT
    ok = result.returncode == 0 and autograded.is_dir()
    return Outcome(student, ok, seconds, "" if ok else _last_error_line(result.stdout))


def autograde_class(root: Path = COURSE_ROOT, workers: int | None = None, scheduler: str | None = None,
                    students: list[str] | None = None, db_url: str | None = None) -> list[Outcome]:
    """Grade every submitted student (or ``students``) with ``workers`` nbgrader processes at once.

    With ``scheduler`` (``tcp://host:port``) the students are graded by that
    Dask cluster's workers instead of local processes.
    """
    root = Path(root).resolve()
    students = students if students is not None else submitted_students(root)
    if not students:
        raise CourseError(f"no submissions in {root / 'submitted'}: each student's notebook goes in "
                          f"submitted/<student>/{ASSIGNMENT}/")
    workers = workers or os.cpu_count() or 1
    started = time.perf_counter()
    outcomes = []
    with tqdm(total=len(students), desc="autograding", unit="student") as bar:
        for outcome in _fan_out(str(root), students, workers, scheduler, db_url):
            outcomes.append(outcome)
            bar.set_postfix_str(outcome.student[:20])
            bar.update()
            if not outcome.ok:
                tqdm.write(f"[autograde] {outcome.student}: not graded: {outcome.message}")
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    where = scheduler or f"{workers} local worker(s)"
    print(f"[autograde] graded {len(outcomes) - len(failed)}, failed {len(failed)}, "
          f"in {elapsed:.1f} s with {where}")
    return sorted(outcomes, key=lambda o: o.student)


def _fan_out(root: str, students: list[str], workers: int, scheduler: str | None, db_url: str | None):
    if scheduler:
        try:
            from distributed import Client, as_completed as dask_completed
        except ImportError:
            raise CourseError("--scheduler needs Dask distributed: pip install 'distributed'") from None
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise CourseError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); "
                              "start one with `dask scheduler` or leave out --scheduler") from None
        with client:
            futures = client.map(grade_student, [root] * len(students), students,
                                 [db_url] * len(students), pure=False)
            for future in dask_completed(futures):
                yield future.result()
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(grade_student, root, student, db_url) for student in students]
        for future in as_completed(futures):
            yield future.result()
