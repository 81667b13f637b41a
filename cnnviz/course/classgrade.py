"""Grading a whole class at once: each worker grades student after student, fanned out.

Each student is graded by nbgrader's own autograde converter with the course's
``nbgrader_config.py``, exactly as the serial ``nbgrader autograde`` would grade
them, so the scores are the same. Each worker thread keeps one warm grader
process (``cnnviz.grading.gradeworker``) that has loaded nbgrader and the configuration
once and grades the students it is handed one by one; ``--one-process-per-student``
starts a new ``nbgrader autograde --student=X`` process for each student instead.
On one machine the workers are the threads of a pool (the work happens in the
grader processes); across machines the same function runs on the workers of a
Dask distributed scheduler that share the course folder and the gradebook.

Exactly once, even when a Dask worker dies and its tasks are retried elsewhere:

- every attempt holds a per-student lock for as long as the process grading it
  does: a PostgreSQL advisory lock when the gradebook is PostgreSQL, else an
  ``flock`` on ``autograded/.locks/<student>.lock`` in the shared course folder
  (NFS clients with lock support carry it to the server). The lock's file or
  connection is handed to the grading process (passed over the warm grader's
  socket, or inherited by a new nbgrader), which closes it only once that
  student is done, so it is released only once both the task and the grading
  are over;
- the grading process runs in its own session and is killed by the kernel when
  the worker thread that started it dies (``PR_SET_PDEATHSIG``); its notebook
  kernel dies with it (bubblewrap's ``--die-with-parent``, or ipykernel's
  parent poller). A warm grader that dies mid-student fails that student with
  one line; the next student gets a new one;
- every attempt leaves a record in ``autograded/.journal/<student>/``: who ran
  it (host, worker pid, the grading process's pid in ``nbgrader_pid``), when it
  started and ended, whether it graded, a digest of the submission it graded,
  and where its time went (``phases``). ``--missing`` reads it to grade only the
  students whose current submission has no successful grading yet.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings
from cnnviz.course import nbrun
from cnnviz.grading import failures, gradeworker, jail
from cnnviz.grading.failures import Failure
from cnnviz.course.notebooks import read_notebook
from cnnviz.grading.plaintext import terminal_safe

# How long a retried attempt waits for the previous holder of the student's lock.
LOCK_WAIT_SECONDS = 600.0


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


class SchedulerLost(CourseError):
    """The Dask scheduler went away during a class run; ``outcomes`` holds the results received."""

    def __init__(self, message: str, outcomes: list[Outcome]):
        super().__init__(message)
        self.outcomes = outcomes


# --------------------------------------------------------------------------- the class

def submitted_students(root: Path = COURSE_ROOT) -> list[str]:
    """Students with a submission of the assignment in ``submitted/``."""
    folder = Path(root) / "submitted"
    if not folder.is_dir():
        return []
    # Dot folders are no students (nbgrader's own glob skips them too).
    return sorted(p.name for p in folder.iterdir() if (p / ASSIGNMENT).is_dir() and not p.name.startswith("."))


def default_workers() -> int:
    """Graders to run at once: one per core, but no more than the free memory holds.

    The rule: ``min(cores usable by this process, available memory // settings.MEMORY_PER_WORKER_MB)``,
    at least 1. Available memory is the kernel's MemAvailable, capped by the
    cgroup's limit when the grader runs in a container.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    available = _available_memory_bytes()
    if available is None:
        return max(1, cores)
    return max(1, min(cores, available // (settings.MEMORY_PER_WORKER_MB * 2**20)))


def _available_memory_bytes() -> int | None:
    try:
        meminfo = Path("/proc/meminfo").read_text()
        available = int(re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.M).group(1)) * 1024
    except (OSError, AttributeError):
        return None
    try:  # cgroup v2: what this container may still use
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


def passed_env() -> dict[str, str]:
    """The client's settings every task gets, whatever its worker's own environment says."""
    return settings.passed_env()


# --------------------------------------------------------------------------- the journal

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


def _write_record(root: Path, record: dict) -> None:
    folder = journal_folder(root) / record["student"]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{record['attempt']}.json"
    # Write aside and rename: readers on other machines see the old or the new record, never half.
    spare = folder / f".{record['attempt']}.tmp"
    spare.write_text(json.dumps(record))
    os.replace(spare, target)


# --------------------------------------------------------------------------- the lock

@contextmanager
def student_lock(root: Path, student: str, db_url: str | None, wait: float = LOCK_WAIT_SECONDS):
    """Hold ``student``'s grading lock; yields the file descriptor that keeps it.

    Give that descriptor to the grading process (``pass_fds``): the lock then
    outlives this process for as long as the grading process lives.
    """
    if db_url and db_url.startswith("postgresql"):
        with _postgres_lock(db_url, student, wait) as fd:
            yield fd
    else:
        with _file_lock(Path(root), student, wait) as fd:
            yield fd


@contextmanager
def _file_lock(root: Path, student: str, wait: float):
    folder = root / "autograded" / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{student}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _wait_for(lambda: _try_flock(fd), wait, f"{student}'s lock file {folder / student}.lock")
        yield fd
    finally:
        os.close(fd)  # releases the lock unless the grading process still holds its copy


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@contextmanager
def _postgres_lock(db_url: str, student: str, wait: float):
    import psycopg

    # SQLAlchemy's URL may name a driver (postgresql+psycopg://); libpq takes the plain form.
    dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", db_url)
    # Keepalives on both ends: if a grading machine vanishes without closing its
    # connection, the server (its settings for this session) drops the session and
    # the lock within about a minute; the worker notices a vanished server as soon.
    keepalive = "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
    try:
        connection = psycopg.connect(dsn, autocommit=True, connect_timeout=10, keepalives=1,
                                     keepalives_idle=30, keepalives_interval=10, keepalives_count=3,
                                     options=keepalive)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OSError(f"cannot reach the gradebook {safe_url(db_url)} for {student}'s lock ({first[:200]})") from None
    try:
        def take() -> bool:
            row = connection.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))",
                                     (f"cnnviz autograde {ASSIGNMENT}", student)).fetchone()
            return bool(row[0])

        _wait_for(take, wait, f"{student}'s advisory lock in the gradebook")
        yield connection.fileno()
    finally:
        connection.close()  # ends the session, and with it the lock


def _wait_for(take, wait: float, what: str) -> None:
    deadline = time.monotonic() + wait
    while not take():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} is still held after {wait:.0f} s by another grader "
                               f"(see autograded/.journal/); not graded")
        time.sleep(0.5)


# --------------------------------------------------------------------------- one student

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
                _write_record(Path(root), record)

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
            _write_record(Path(root), record)
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


# --------------------------------------------------------------------------- the gradebook

def safe_url(url: str) -> str:
    """The gradebook URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def ensure_gradebook(root: Path, db_url: str) -> None:
    """Make sure the gradebook knows the assignment, its notebooks and grade cells.

    A new gradebook (SQLite or PostgreSQL) gets them from ``source/`` with
    ``nbgrader generate_assignment`` into a scratch folder, so ``release/`` is not
    touched. Raises one CourseError when that is impossible.
    """
    sources = {p.stem for p in (Path(root) / "source" / ASSIGNMENT).glob("*.ipynb")}
    # In a child with nbgrader's environment: a new gradebook runs `alembic` from PATH.
    result = nbrun.run(["-c", _KNOWN_NOTEBOOKS, db_url, ASSIGNMENT], root)
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        answer = {"error": (result.stdout.strip().splitlines() or ["no answer"])[-1]}
    if "error" in answer:
        raise CourseError(f"cannot open the gradebook {safe_url(db_url)} ({answer['error'][:200]}); "
                          "check NBGRADER_DB_URL or nbgrader_config.py")
    known = set(answer["known"])
    if known and (not sources or sources <= known):
        return
    if not sources:
        raise CourseError(f"the gradebook {safe_url(db_url)} does not know the assignment {ASSIGNMENT} and "
                          f"there is no source/{ASSIGNMENT}/*.ipynb in {root} to record it from; run "
                          f"`nbgrader generate_assignment {ASSIGNMENT}` where the source is")
    print(f"[autograde] recording {ASSIGNMENT} from source/ in the gradebook {safe_url(db_url)} "
          "(nbgrader generate_assignment; release/ is left as it is)", flush=True)
    with tempfile.TemporaryDirectory(prefix="cnnviz-record-") as scratch:
        nbrun.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", f"--db={db_url}",
                     f"--CourseDirectory.release_directory={scratch}", root=Path(root), quiet=True)


# Prints the assignment's notebooks the gradebook knows, or the first line of why it cannot be opened.
_KNOWN_NOTEBOOKS = """
import json, sys
try:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(sys.argv[1]) as gradebook:
        try:
            known = [nb.name for nb in gradebook.find_assignment(sys.argv[2]).notebooks]
        except MissingEntry:
            known = []
    print(json.dumps({"known": known}))
except Exception as exc:
    print(json.dumps({"error": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}))
"""


# --------------------------------------------------------------------------- fan-out

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
    env = passed_env()
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

