"""One attempt at grading one student's submission, holding the student's lock, recorded in the journal.

Each student is graded by nbgrader's own autograde converter with the course's
``nbgrader_config.py``, exactly as the serial ``nbgrader autograde`` would grade
them, so the scores are the same. The grading is done by the calling thread's
warm grader process (``cnnviz.grading.gradeworker``), which has loaded nbgrader
and the configuration once; ``one_process_per_student`` starts a new
``nbgrader autograde --student=X`` process instead.

The grading process runs in its own session and is killed by the kernel when
the worker thread that started it dies (``PR_SET_PDEATHSIG``); its notebook
kernel dies with it (bubblewrap's ``--die-with-parent``, or ipykernel's parent
poller). A warm grader that dies mid-student fails that student with one line;
the next student gets a new one. The lock (``cnnviz.course.student_locks``) is
handed to the grading process, and the attempt is written to the journal
(``cnnviz.course.grade_journal``) before and after the grading.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import nbrun
from cnnviz.course.grade_journal import submission_digest, write_record
from cnnviz.course.notebooks import read_notebook
from cnnviz.course.student_locks import LOCK_WAIT_SECONDS, student_lock
from cnnviz.grading import failures, gradeworker
from cnnviz.grading.failures import Failure


@dataclass
class Outcome:
    """What happened to one student's submission: graded, or why not (``failure``, a record)."""

    student: str
    ok: bool
    seconds: float
    failure: Failure | None = None

    @property
    def message(self) -> str:
        """Why not, in one line, for the terminal and the journal ("" when graded)."""
        return self.failure.render() if self.failure else ""


def grade_student(root: str, student: str, db_url: str | None = None, env: dict | None = None,
                  run: str | None = None, wait: float = LOCK_WAIT_SECONDS, *,
                  one_process_per_student: bool = False, queued_at: float | None = None) -> Outcome:
    """Autograde one student's submission with nbgrader; never raises for a bad submission.

    ``db_url`` and ``env`` come from the client, so that a worker grades into the
    client's gradebook whatever its own environment says. Holds the student's lock
    (waiting up to ``wait`` seconds for another grader of the same student) and
    records the attempt in the journal (``run`` names the class run; ``queued_at``,
    the wall-clock time the task was queued, gives the journal's ``phases.queued``).
    The grading is done by this thread's warm grader process (``cnnviz.grading.gradeworker``),
    or with ``one_process_per_student`` by a new ``nbgrader autograde`` process.
    """
    started = time.perf_counter()
    phases: dict = {}
    if queued_at is not None:
        phases["queued"] = round(max(0.0, time.time() - queued_at), 3)
    # An unreadable notebook gets one clear line here rather than nbgrader's traceback. A link
    # is not followed (its target is not the student's to show): intake refuses it in one line.
    for notebook in sorted((Path(root) / "submitted" / student / ASSIGNMENT).glob("*.ipynb")):
        if notebook.is_symlink():
            continue
        try:
            read_notebook(notebook)
        except CourseError as exc:
            return Outcome(student, False, 0.0, Failure(failures.UNREADABLE, student, "", str(exc)))
    environment = grader_environment(env, db_url)
    record = {"student": student, "attempt": uuid.uuid4().hex, "run": run, "host": socket.gethostname(),
              "worker_pid": os.getpid(), "submission": submission_digest(Path(root), student),
              "grader": "per-student" if one_process_per_student else "warm"}
    grade_once = _grade_in_new_process if one_process_per_student else _grade_in_warm_process
    try:
        locking = time.perf_counter()
        with student_lock(Path(root), student, db_url, wait) as lock_fd:
            phases["lock_wait"] = round(time.perf_counter() - locking, 3)
            record["started"] = time.time()

            def announce(pid: int) -> None:
                # Written before the grading: a cut-off attempt is seen with the process that had it.
                record["nbgrader_pid"] = pid
                write_record(Path(root), record)

            phases["nbgrader"] = 0.0
            for _ in range(2):
                failure = grade_once(root, student, db_url, environment, lock_fd, announce, phases)
                # A kernel that dies before it answers has run none of the student's code:
                # that is the machine's doing (seen under heavy load), so try once more.
                if failure is None or not failure.retry:
                    break
            autograded = Path(root) / "autograded" / student / ASSIGNMENT
            if failure is None and not autograded.is_dir():
                failure = Failure(failures.NBGRADER_ERROR, student, "",
                                  f"nbgrader wrote no autograded/{student}/{ASSIGNMENT}/; not graded")
            outcome = Outcome(student, failure is None, 0.0, failure)
            record.update(ended=time.time(), ok=outcome.ok, message=outcome.message,
                          kind=failure.kind if failure else None, phases=phases)
            write_record(Path(root), record)
    except (TimeoutError, OSError) as exc:
        return Outcome(student, False, time.perf_counter() - started,
                       Failure(failures.LOCKED, student, "", (str(exc).splitlines() or [""])[0]))
    outcome.seconds = time.perf_counter() - started
    return outcome


def grader_environment(env: dict | None, db_url: str | None) -> dict:
    """The environment a student's grader process gets: nbgrader's, the client's ``env``, its gradebook."""
    environment = {**nbrun.nbgrader_env(), **(env or {})}
    if db_url:
        environment["NBGRADER_DB_URL"] = db_url
    return environment


def _grade_in_new_process(root, student, db_url, environment, lock_fd, announce, phases):
    """One ``nbgrader autograde --student`` process, which inherits the lock: why not, as a record, or None.

    Exactly the old way: its kernel starts in a new bubblewrap, since a kernel template would
    live for this one student only (and cost more than it saves).
    """
    command = ["-m", "nbgrader", "autograde", ASSIGNMENT, "--force", f"--student={student}",
               "--JailedKernelManager.kernel_template=False"]
    if db_url:
        command.append(f"--db={db_url}")
    began = time.perf_counter()
    _, failure = nbrun.run_reporting(command, root, environment, lock_fd, announce)
    phases["nbgrader"] = round(phases["nbgrader"] + time.perf_counter() - began, 3)
    return failure


def _grade_in_warm_process(root, student, db_url, environment, lock_fd, announce, phases):
    """This thread's warm grader process, given a copy of the lock for the student: why not, or None."""
    try:
        began = time.perf_counter()
        grader, start_seconds = gradeworker.grader_for(root, db_url, environment)
        if start_seconds is not None:
            phases["grader_start"] = round(phases.get("grader_start", 0.0) + start_seconds, 3)
        announce(grader.pid)
        began = time.perf_counter()
        reply = grader.grade(student, lock_fd)
    except gradeworker.GraderError as exc:
        # It did not start, or died mid-student (killed, crashed, out of memory): this student's
        # line; the lock goes with it, and the next student gets a new grader process.
        phases["nbgrader"] = round(phases["nbgrader"] + time.perf_counter() - began, 3)
        return Failure(failures.GRADER_DIED, student, "", str(exc))
    phases["nbgrader"] = round(phases["nbgrader"] + time.perf_counter() - began, 3)
    phases.update({k: round(v, 3) if isinstance(v, float) else v for k, v in reply.timings.items()})
    return reply.failure
