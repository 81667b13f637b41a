"""A grader process that stays up and grades student after student, in-process.

``python -m nbgrader autograde --student=X`` per student pays a new Python,
``import nbgrader`` and the course's configuration (about 2.3 s) every time.
Here one process per grading thread pays it once: it loads the course's
``nbgrader_config.py`` the way ``nbgrader autograde`` does in the course folder
(the same configuration, the same preprocessors, so the same scores), then
grades each student it is asked for with nbgrader's own converter, as
``NbGraderAPI.autograde`` does for the formgrader.

The trust boundary does not move: this process never runs a student's code
(that runs only in the jailed kernel nbgrader's JailedExecute starts for each
student), reads only its socket, and grades only the student it is asked for.

Its owner (``grade_attempt.grade_student``, one warm process per thread) talks to
it over a Unix socketpair: one JSON request per student, with the student's
lock descriptor passed along (SCM_RIGHTS). The grader holds that descriptor
until the student is done, so the lock lives exactly as long as the grading,
and closes it before its one JSON reply: why the student was not graded, as a
record (``cnnviz.grading.failures``, null when graded), and the execution's timings
(``cnnviz.grading.jailed_execute.pop_timings``). The process is started through
``nbrun.start``: its own session, killed with the thread that started it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import nbrun
from cnnviz.grading import failures, jail
from cnnviz.grading.failures import Failure

# A request or a reply is one packet of the socketpair; a reply's reason is one line.
MAX_MESSAGE = 64 * 1024
# How much of one student's output is read back for its reason (head and tail of a flood).
OUTPUT_HEAD, OUTPUT_TAIL = 1 * 2**20, 7 * 2**20
# How long an idle grader gets to exit by itself once its socket is closed.
STOP_GRACE_SECONDS = 5.0


class GraderError(Exception):
    """The grader process could not grade the student: it did not start, or died mid-student."""


@dataclass
class Reply:
    """One student's grading, as the grader process reports it: why not, as a record, if it failed."""

    failure: Failure | None = None
    timings: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def reason(self) -> str:
        return self.failure.render() if self.failure else ""


# --------------------------------------------------------------------------- the owner's side

class Grader:
    """A warm grader process for the course in ``root``, graded into ``db_url`` with ``env``."""

    def __init__(self, root: str, db_url: str | None, env: dict):
        started = time.perf_counter()
        self.key = grader_key(root, db_url, env)
        self.busy = False
        self._start_seconds: float | None = None
        self._channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = nbrun.start(["-m", "cnnviz.grading.gradeworker", str(theirs.fileno())], root, env,
                                       (theirs.fileno(),), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            theirs.close()
        with _graders_guard:
            _graders.add(self)
        ready = self._receive("while it started")
        if not ready.get("ready"):
            self.stop()
            raise GraderError(str(ready.get("reason") or "the grader process could not start; not graded"))
        self._start_seconds = time.perf_counter() - started

    def take_start_seconds(self) -> float | None:
        """How long this process took to start, the first time it is asked (for that student's journal)."""
        seconds, self._start_seconds = self._start_seconds, None
        return seconds

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None and self._channel.fileno() != -1

    def grade(self, student: str, lock_fd: int | None) -> Reply:
        """Grade ``student``; the grader holds a copy of ``lock_fd`` until it is done. Raises GraderError."""
        self.busy = True
        try:
            request = json.dumps({"student": student}).encode()
            try:
                socket.send_fds(self._channel, [request], [] if lock_fd is None else [lock_fd])
            except OSError:
                self._died("before it got the request")
            answer = self._receive("while grading")
            try:
                failure = Failure.from_dict(answer["failure"]) if answer.get("failure") is not None else None
            except (ValueError, TypeError) as exc:
                failure = Failure(failures.GRADER_DIED, student, "", f"the grader process answered nonsense ({exc}); "
                                  "not graded")
            return Reply(failure, dict(answer.get("timings") or {}))
        finally:
            self.busy = False

    def _receive(self, when: str) -> dict:
        try:
            data = self._channel.recv(MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            self._died(when)
        return json.loads(data)

    def _died(self, when: str):
        self._channel.close()
        self._gone()
        code = self.process.returncode
        how = (f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 and
               -code in signal.valid_signals() else f"exited with status {code}")
        hint = " (out of memory, or stopped by an interrupt)" if code == -signal.SIGKILL else ""
        raise GraderError(f"the grader process (pid {self.pid}) {how}{hint} {when}; not graded")

    def stop(self) -> None:
        """Stop the process: an idle one exits when its socket closes; a busy one is killed."""
        stop_graders([self])

    def _gone(self) -> None:
        """Kill what is left of the process's session, and what it could not remove itself."""
        # Whatever it left in its session (its kernel template, a kernel launcher) goes with it.
        nbrun.forget(self.process)
        with _graders_guard:
            _graders.discard(self)
        # Killed (SIGKILL: its thread ended, out of memory), it left its template's and its
        # kernel's folders and cgroups behind.
        jail.remove_leftovers()


def stop_graders(graders: list[Grader]) -> None:
    """Stop these graders at once: the idle ones get STOP_GRACE_SECONDS to close their templates."""
    idle = []
    for grader in graders:
        if not grader.busy:
            idle.append(grader)
        grader._channel.close()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for grader in idle:
        try:
            grader.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for grader in graders:
        grader._gone()


def grader_key(root: str, db_url: str | None, env: dict) -> tuple:
    """What a warm grader was started for; another key needs another process.

    The course's ``nbgrader_config.py`` is read once per process, so its
    modification time and size are part of the key: an edited configuration
    gets a new process.
    """
    try:
        stat = (Path(root) / "nbgrader_config.py").stat()
        config = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        config = None
    return str(root), db_url, tuple(sorted(env.items())), config


# Every warm grader of this process, for stop_all; the one of each thread, for grader_for.
_graders: set[Grader] = set()
_graders_guard = threading.Lock()
_local = threading.local()


def grader_for(root: str, db_url: str | None, env: dict) -> tuple[Grader, float | None]:
    """This thread's warm grader for (root, db_url, env), and the seconds its start took if no
    student was told yet (see ``start_grader``).

    A grader that has died, or was started for another course, gradebook,
    environment or configuration, is replaced. Raises GraderError if the new one
    cannot start.
    """
    grader = start_grader(root, db_url, env)
    return grader, grader.take_start_seconds()


def start_grader(root: str, db_url: str | None, env: dict) -> Grader:
    """Start this thread's warm grader now, if it has none for (root, db_url, env); raises GraderError.

    A class run calls this on each worker thread before its first student, so
    that the process and its kernel template start while the gradebook is checked.
    """
    current: Grader | None = getattr(_local, "grader", None)
    if current is not None and current.key == grader_key(root, db_url, env) and current.alive():
        return current
    if current is not None:
        current.stop()
        _local.grader = None
    _local.grader = Grader(root, db_url, env)
    return _local.grader


def stop_all(idle_only: bool = False) -> int:
    """Stop this process's warm graders (with ``idle_only``, only those grading nobody now); how many."""
    with _graders_guard:
        graders = [g for g in _graders if not (idle_only and g.busy)]
    stop_graders(graders)
    return len(graders)


def stop_idle() -> int:
    """Stop the warm graders grading nobody now (run on each Dask worker at the end of a class run)."""
    return stop_all(idle_only=True)


# --------------------------------------------------------------------------- the grader's side

class _Output:
    """Everything written to this process's stdout and stderr during a ``capture()``, as text.

    That is what ``nbgrader autograde`` would have printed: nbgrader's log, the
    course's intake and release lines, tracebacks, and what the kernel's
    launcher writes to the descriptors it inherits.
    """

    def __init__(self):
        self._saved = (os.dup(1), os.dup(2))
        self.text = ""

    @contextmanager
    def capture(self):
        sys.stdout.flush()
        sys.stderr.flush()
        with tempfile.TemporaryFile() as file:
            os.dup2(file.fileno(), 1)
            os.dup2(file.fileno(), 2)
            try:
                yield self
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(self._saved[0], 1)
                os.dup2(self._saved[1], 2)
                self.text = _read_back(file)


def _read_back(file) -> str:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    if size <= OUTPUT_HEAD + OUTPUT_TAIL:
        data = file.read()
    else:  # a flood: its first lines (the refusals) and its last (the exceptions) are what count
        data = file.read(OUTPUT_HEAD) + b"\n"
        file.seek(size - OUTPUT_TAIL)
        data += file.read()
    return data.decode("utf-8", "replace")


def _load_app():
    """nbgrader's autograde application, configured as ``nbgrader autograde ASSIGNMENT --force`` in this folder."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    argv = [ASSIGNMENT, "--force"]
    if settings.db_url_override():
        argv.append(f"--db={settings.db_url_override()}")
    # The global instance, as `nbgrader autograde` has: the course's hooks log through it
    # (traitlets' get_logger), so their lines land in the same log as nbgrader's.
    app = AutogradeApp.instance()
    app.initialize(argv)
    return app


def _grade(app, student: str, output: _Output) -> dict:
    from nbgrader.converters import Autograde, NbGraderException
    from nbgrader.utils import temp_attrs

    from cnnviz.grading.jailed_execute import pop_timings

    pop_timings()  # nothing of an earlier student's execution
    failures.pop_reported()
    ok, raised = False, None
    with output.capture():
        # As NbGraderAPI.autograde (the formgrader) and AutogradeApp.start: one new converter per
        # student, its preprocessors built anew from the configuration loaded once.
        with temp_attrs(app.coursedir, assignment_id=ASSIGNMENT, student_id=student):
            try:
                converter = Autograde(coursedir=app.coursedir, parent=app)
                converter.force = True
                converter.create_student = True
                converter.start()
                ok = True
            except NbGraderException:
                pass  # nbgrader has logged why (our preprocessors and hook reported it); its command exits with 1 here
            except (Exception, SystemExit) as exc:
                traceback.print_exc()  # what nbgrader's command would print before exiting
                raised = exc
    timings = pop_timings()
    reported = failures.pop_reported()
    if raised is not None and not reported:  # not nbgrader's logged failure: the exception says why
        reported = [Failure(failures.NBGRADER_ERROR, student, "", f"{type(raised).__name__}: {raised}")]
    failure = nbrun.failure_of(ok, reported, output.text, student)
    return {"failure": failure.to_dict() if failure else None, "timings": timings}


def _start_template_early(app) -> None:
    """Start this process's kernel template now, as its first kernel would, without waiting for it.

    Its imports (seconds of TensorFlow) then run beside this process's work on
    the first student instead of after it; that kernel waits for this same
    template. Started here, on the main thread, which nbgrader's kernels are
    started from too and which lives as long as the process (a template dies
    with the thread that started it).
    """
    from cnnviz.grading import kernel_template
    from cnnviz.grading.jailed_kernel_manager import kernel_manager_class

    manager = kernel_manager_class()(config=app.config, log=app.log)
    if manager.kernel_template:
        kernel_template.start_early(manager.limits(), manager.jail_user, manager.cgroup_parent, log=app.log)


def _request(data: bytes, root: Path) -> str:
    """The student a request names, if it is one with a submission here; else raises ValueError."""
    student = json.loads(data)["student"]
    if not isinstance(student, str) or not student or student.startswith(".") or "/" in student \
            or "\0" in student or not (root / "submitted" / student / ASSIGNMENT).is_dir():
        raise ValueError(f"no submission of {ASSIGNMENT} for {student!r} in {root / 'submitted'}")
    return student


def serve(channel: socket.socket) -> None:
    """Load the configuration once, then grade each student the socket asks for until it closes."""
    root = Path.cwd()
    output = _Output()
    app = None
    with output.capture():
        try:
            app = _load_app()
        except (Exception, SystemExit):
            traceback.print_exc()
    if app is None:
        channel.send(json.dumps({"ready": False, "reason": f"the grader could not load {root}'s nbgrader "
                                 f"configuration: {nbrun.failure_summary(output.text)}"}).encode())
        return
    _start_template_early(app)
    channel.send(json.dumps({"ready": True}).encode())
    while True:
        data, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, 4)
        if not data:
            # The owner is done with us: this process's kernel template goes first, jail and
            # cgroup removed, before the owner's grace period for our exit runs out.
            from cnnviz.grading import kernel_template

            kernel_template.close_all()
            return
        try:
            try:
                reply = _grade(app, _request(data, root), output)
            except (ValueError, KeyError, TypeError) as exc:
                reply = {"failure": Failure(failures.BAD_REQUEST, reason=f"bad request to the grader: {exc}").to_dict()}
        finally:
            for fd in fds:
                os.close(fd)  # the student's lock: released here once the grading is over
        channel.send(json.dumps(reply).encode())


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
