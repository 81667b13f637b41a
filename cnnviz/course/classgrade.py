"""Grading a whole class at once: the students fanned out to workers, each grading student after student.

This is the class driver every command grades with. On one machine the workers
are the threads of a pool, each keeping one warm grader process (the work
happens in the grader processes); across machines the same function runs on the
workers of a Dask distributed scheduler that share the course folder and the
gradebook. Its parts, each in its own module of ``cnnviz.course``:

- ``class_sizing``: who is graded (``submitted/``) and how many workers at once;
- ``gradebook_setup``: the gradebook made to know the assignment before anyone is graded;
- ``grade_attempt``: one student, graded by nbgrader's own autograde converter, exactly once at a time
  (``student_locks``: the student's lock, held by the grading process) and journaled
  (``grade_journal``: every attempt, read by ``--missing`` and after a lost scheduler);
- here: the fan-out, the progress bar and summary, and what a lost Dask scheduler leaves.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings
from cnnviz.course import nbrun
from cnnviz.course.class_sizing import default_workers, submitted_students
from cnnviz.course.grade_attempt import Outcome, grade_student, grader_environment
from cnnviz.course.grade_journal import missing_students, read_journal
from cnnviz.course.gradebook_setup import ensure_gradebook
from cnnviz.grading import failures, gradeworker, jail
from cnnviz.grading.failures import Failure
from cnnviz.grading.plaintext import terminal_safe


class SchedulerLost(CourseError):
    """The Dask scheduler went away during a class run; ``outcomes`` holds the results received."""

    def __init__(self, message: str, outcomes: list[Outcome]):
        super().__init__(message)
        self.outcomes = outcomes


def autograde_class(root: Path = COURSE_ROOT, workers: int | None = None, scheduler: str | None = None,
                    students: list[str] | None = None, db_url: str | None = None,
                    missing: bool = False, quiet: bool = False,
                    one_process_per_student: bool = False) -> list[Outcome]:
    """Grade every submitted student (or ``students``, or with ``missing`` only those
    the journal has no successful grading of) with ``workers`` graders at once.

    Each worker thread keeps one warm grader process (``cnnviz.grading.gradeworker``) that
    grades student after student; ``one_process_per_student`` starts a new
    ``nbgrader autograde --student`` process for each student instead (the old
    way, for comparison and debugging). The warm processes stop when the run ends.

    With ``scheduler`` (``tcp://host:port``) the students are graded by that Dask
    cluster's workers instead of local processes. Raises SchedulerLost, after
    printing who was and was not graded, when the scheduler goes away.

    This is the one way the course runs ``nbgrader autograde``: ``cnnviz autograde``,
    ``cnnviz grade`` (``cnnviz.course.spotcheck``), ``make demo`` and the tests. It prints a
    progress bar, one line per student it could not grade and a summary, unless
    ``quiet``; either way the outcomes say who was graded and why not.
    """
    root = Path(root).resolve()
    if students is None:
        students = missing_students(root) if missing else submitted_students(root)
        if missing and not students and submitted_students(root):
            print(f"[autograde] every submission in {root / 'submitted'} is graded already; nothing to do")
            return []
    if not students:
        raise CourseError(f"no submissions in {root / 'submitted'}: each student's notebook goes in "
                          f"submitted/<student>/{ASSIGNMENT}/")
    db_url = db_url or settings.db_url(root)
    workers = workers or default_workers()
    run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    where = scheduler or f"{workers} local worker(s)"
    try:
        with tqdm(total=len(students), desc="autograding", unit="student", disable=quiet) as bar:
            for outcome in _fan_out(str(root), students, workers, scheduler, db_url, run,
                                    one_process_per_student, prepare=lambda: ensure_gradebook(root, db_url)):
                outcomes.append(outcome)
                bar.set_postfix_str(terminal_safe(outcome.student)[:20])
                bar.update()
                if not outcome.ok and not quiet:
                    # Both come from the submission (its folder name, nbgrader's last line about it).
                    tqdm.write(f"[autograde] {terminal_safe(outcome.student)}: not graded: "
                               f"{terminal_safe(outcome.message)}")
    except SchedulerLost as lost:
        ungraded = _report_lost(root, students, outcomes, run, scheduler, str(lost))
        raise SchedulerLost(f"lost the Dask scheduler {scheduler} ({lost}) with {ungraded} of {len(students)} "
                            "students not graded; resume with `python -m cnnviz autograde --missing`",
                            outcomes) from None
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if not quiet:
        print(f"[autograde] graded {len(outcomes) - len(failed)}, failed {len(failed)}, "
              f"in {elapsed:.1f} s with {where}")
    return sorted(outcomes, key=lambda o: o.student)


def _report_lost(root: Path, students: list[str], outcomes: list[Outcome], run: str,
                 scheduler: str, reason: str) -> int:
    received = {o.student: o for o in outcomes}
    # Students in flight when the scheduler went may still have finished on their worker.
    finished = {r["student"]: r for r in read_journal(root) if r.get("run") == run and "ended" in r}
    graded = sorted(s for s in students if (received[s].ok if s in received else finished.get(s, {}).get("ok")))
    failed = sorted(s for s in students if s not in graded and (s in received or s in finished))
    ungraded = sorted(set(students) - set(graded) - set(failed))
    print(f"[autograde] lost the Dask scheduler {scheduler}: {reason}")
    print(f"[autograde] graded {len(graded)}: {terminal_safe(', '.join(graded)) or '-'}")
    print(f"[autograde] failed {len(failed)}: {terminal_safe(', '.join(failed)) or '-'}")
    print(f"[autograde] not graded {len(ungraded)}: {terminal_safe(', '.join(ungraded)) or '-'}")
    print("[autograde] resume with: python -m cnnviz autograde --missing "
          "(grades only the students the journal in autograded/.journal/ has no grading of)")
    return len(ungraded) + len(failed)


def _fan_out(root: str, students: list[str], workers: int, scheduler: str | None, db_url: str, run: str,
             one_process_per_student: bool = False, prepare=lambda: None):
    """Each student's Outcome as it comes, from ``workers`` local threads or the Dask ``scheduler``;
    ``prepare()`` (the gradebook's check) runs first and may raise."""
    env = settings.passed_env()  # the client's settings, whatever each worker's own environment says
    options = {"one_process_per_student": one_process_per_student}
    if scheduler:
        prepare()
        yield from _fan_out_dask(root, students, scheduler, db_url, env, run, options)
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = []
    try:
        if not one_process_per_student:
            # Each worker thread starts its warm grader (and, in it, the kernel template) now, on
            # the cores the gradebook's check leaves idle. Submitted back to back, each lands on a
            # thread of its own; one that fails is retried by that thread's first student.
            for _ in range(min(workers, len(students))):
                pool.submit(gradeworker.start_grader, root, db_url, grader_environment(env, db_url))
        prepare()
        futures += [pool.submit(grade_student, root, student, db_url, env, run, queued_at=time.time(), **options)
                    for student in students]
        for future in as_completed(futures):
            yield future.result()
    finally:
        # On an interrupt, stop the queue and the graders running now (each in its own session).
        # The warm graders are stopped while their threads still live: a thread that ends
        # kills its grader (PR_SET_PDEATHSIG) before it could close its kernel template.
        for future in futures:
            future.cancel()
        gradeworker.stop_all()
        nbrun.stop_all()
        pool.shutdown(wait=True)
        jail.remove_leftovers()  # of a grader started by a student already running at the interrupt


def _fan_out_dask(root: str, students: list[str], scheduler: str, db_url: str, env: dict, run: str,
                  options: dict):
    try:
        from distributed import Client, as_completed as dask_completed
        from distributed.client import FutureCancelledError
        from distributed.comm.core import CommClosedError
    except ImportError:
        raise CourseError("--scheduler needs Dask distributed: pip install 'distributed'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise CourseError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); "
                          "start one with `dask scheduler` or leave out --scheduler") from None
    lost = False
    try:
        # Only the iterator holds the futures: once a result is read the future is
        # released, so Dask has no finished result to recompute when a worker dies.
        pending, student_of = dask_completed(), {}
        for student in students:
            key = f"autograde-{run}-{student}"
            student_of[key] = student
            pending.add(client.submit(grade_student, root, student, db_url, env, run, key=key, pure=False,
                                      queued_at=time.time(), **options))
        for future in pending:
            try:
                outcome = future.result()
            except (FutureCancelledError, CommClosedError, OSError) as exc:
                # We cancel nothing ourselves: a cancelled task means the scheduler is gone.
                lost = True
                raise SchedulerLost(_lost_reason(exc), []) from None
            except Exception as exc:  # KilledWorker (the task took its workers down), or a task error
                student = student_of[future.key]
                outcome = Outcome(student, False, 0.0, Failure(failures.GRADER_DIED, student, "", _reason(exc)))
            future.release()
            del future
            yield outcome
    finally:
        if not lost:
            try:  # each worker's warm graders, idle once its students are done (a later run starts new ones)
                client.run(gradeworker.stop_idle)
            except Exception:  # a worker gone meanwhile took its graders with it; nothing to stop there
                pass
        if lost:
            # Dask logs its reconnection attempts, cut short by close(), as tracebacks: the
            # summary already says what happened.
            for name in list(logging.root.manager.loggerDict):
                if name.split(".")[0] == "distributed":  # its children have levels of their own
                    logging.getLogger(name).setLevel(logging.CRITICAL)
        try:
            client.close(timeout=5)
        except Exception:  # closing a client whose scheduler is gone may itself fail; nothing to keep
            pass


def _lost_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not type(exc).__name__ == "CommClosedError":
        return f"{type(exc).__name__}: {exc}"[:200]
    return "its connection closed"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__

