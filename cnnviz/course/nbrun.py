"""Running nbgrader: its environment, one subprocess helper, why it failed.

Every nbgrader command the course starts (``generate_assignment``,
``autograde``, ``generate_feedback``, ``export``, ...) goes through :func:`run`:
a child ``python`` in the course folder, in its own session, killed with the
thread that started it (so a dead grading worker leaves no nbgrader behind),
its output kept, and why it failed read as a record (:func:`run_reporting`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from cnnviz import COURSE_ROOT, CourseError, settings
from cnnviz.grading import failures
from cnnviz.grading.failures import Failure
from cnnviz.grading.plaintext import terminal_safe


def nbgrader_env() -> dict:
    """Environment for nbgrader and the kernels it starts."""
    kernel = settings.kernel_env()
    env = dict(os.environ)
    env.setdefault(settings.TF_LOG_VARIABLE, kernel[settings.TF_LOG_VARIABLE])
    env["MPLBACKEND"] = kernel["MPLBACKEND"]
    # Kernels started outside nbgrader (tests, benchmarks) import this package even
    # when it is not installed. Grading kernels get nothing from here: the jail
    # (cnnviz/grading/jail_policy.py, named in nbgrader_config.py) sets their environment and limits.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")]))
    # nbgrader runs `alembic` (its gradebook migrations) from PATH: use this environment's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


# Starts every child: ask the kernel to SIGKILL it when the thread that started it dies
# (a grading worker that dies), and never start if that has already happened; then run
# `-m module ...` or `-c code ...` in this same process, as `python` would, without the
# modules nothing nbgrader validates needs (settings.UNUSED_SLOW_MODULES).
_DIE_WITH_PARENT = (
    "import ctypes, os, runpy, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(70)\n"
    f"for name in {settings.UNUSED_SLOW_MODULES!r}:\n"
    "    sys.modules[name] = None\n"
    "option, target, *rest = sys.argv[2:]\n"
    "if option == '-m':\n"
    "    sys.argv = [target, *rest]\n"
    "    runpy.run_module(target, run_name='__main__', alter_sys=True)\n"
    "else:\n"
    "    sys.argv = ['-c', *rest]\n"
    "    exec(compile(target, '<string>', 'exec'), {'__name__': '__main__'})\n"
)

# The children running now, so that an interrupt can stop them all (stop_all).
_running: set[subprocess.Popen] = set()
_running_guard = threading.Lock()


def start(args: list[str], root: Path | str = COURSE_ROOT, env: dict | None = None,
          pass_fds: tuple[int, ...] = (), **popen) -> subprocess.Popen:
    """Start ``python ARGS`` in the course folder ``root``, in its own session, killed with this thread.

    ``env`` defaults to :func:`nbgrader_env`; ``pass_fds`` are inherited by the
    child, every other descriptor is closed; ``popen`` goes to ``subprocess.Popen``
    (``stdout`` ...). The child is one of those :func:`stop_all` kills until
    :func:`forget` is called for it.
    """
    command = [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *args]
    process = subprocess.Popen(command, cwd=root, env=nbgrader_env() if env is None else env,
                               start_new_session=True, pass_fds=pass_fds, **popen)
    with _running_guard:
        _running.add(process)
    return process


def forget(process: subprocess.Popen) -> None:
    """Kill ``process``'s session if it still runs, reap it, and leave it out of :func:`stop_all`."""
    with _running_guard:
        _running.discard(process)
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def run(args: list[str], root: Path | str = COURSE_ROOT, env: dict | None = None,
        lock_fd: int | None = None, on_start=None) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` in the course folder ``root``; return its exit status and output.

    stdout and stderr come back together, as ``stdout``. ``env`` defaults to
    :func:`nbgrader_env`; ``lock_fd`` is inherited by the child (a grading lock
    it keeps while it lives); ``on_start(pid)`` is called once it runs. The
    child runs in its own session; if this call is interrupted (or ``on_start``
    raises), the whole session is killed.
    """
    process = start(args, root, env, () if lock_fd is None else (lock_fd,), text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if on_start is not None:
            on_start(process.pid)
        output, _ = process.communicate()
    finally:
        forget(process)
    return subprocess.CompletedProcess(args, process.returncode, stdout=output)


def stop_all() -> None:
    """Kill every child :func:`run` has running now (each in its own session)."""
    with _running_guard:
        for process in _running:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:  # exited since poll(), not reaped yet
                    pass


def run_nbgrader(*args: str, root: Path | str = COURSE_ROOT, quiet: bool = False,
                 env: dict | None = None) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in the course folder ``root``; raise one CourseError that says why if it fails."""
    if not quiet:
        print(f"[nbgrader] {' '.join(['nbgrader', *args])}", flush=True)
    result, failure = run_reporting(["-m", "nbgrader", *args], root, env)
    if failure is not None:
        whose = f"{terminal_safe(failure.student)}: " if failure.student else ""
        raise CourseError(f"`nbgrader {' '.join(args)}` failed in {root}:\n{whose}{terminal_safe(failure.render())}")
    return result


# --------------------------------------------------------------------------- why it failed

def run_reporting(args: list[str], root: Path | str = COURSE_ROOT, env: dict | None = None,
                  lock_fd: int | None = None, on_start=None) -> tuple[subprocess.CompletedProcess, Failure | None]:
    """:func:`run`, and why it failed as a record (``cnnviz.grading.failures``), or None if it did not fail.

    The child's own records (the intake's, MatchRelease's, the jailed execution's)
    come back in a file of ours that its environment names; a failure without one
    is nbgrader's own (``nbgrader error``, its reason from the output).
    """
    env = dict(nbgrader_env() if env is None else env)
    with tempfile.NamedTemporaryFile(prefix="cnnviz-failures-", suffix=".jsonl") as records:
        env[settings.FAILURES_FILE_VARIABLE] = records.name
        result = run(args, root, env, lock_fd, on_start)
        reported = failures.read_file(records.name)
    return result, failure_of(result.returncode == 0, reported, result.stdout)


def failure_of(succeeded: bool, reported: list[Failure], output: str, student: str = "") -> Failure | None:
    """Why an nbgrader run failed: the records it reported, else nbgrader's own error; None if it did not."""
    cause = failures.first_cause(reported)
    if cause is None and not succeeded:
        cause = Failure(failures.NBGRADER_ERROR, student, "", failure_summary(output))
    return cause


# nbgrader's log lines: "[AutogradeApp | ERROR] message" (NbGrader's log_format).
_LOG_LINE = re.compile(r"^\[(?P<app>\w+) \| (?P<level>[A-Z]+)\] (?P<message>.*)$")
# A Python exception's last line: "ValueError: message", "nbclient.exceptions.DeadKernelError: ...".
_EXCEPTION_LINE = re.compile(r"^(?P<name>[\w.]+(?:Error|Exception)): (?P<message>.*)$")


def failure_summary(output: str) -> str:
    """One line that says why an nbgrader run failed for a reason of nbgrader's own, from its output.

    The course's own failures (a refused submission, a dead or silent kernel, a
    timeout) come as records instead (:func:`run_reporting`); this is the
    reason of an ``nbgrader error``: the last exception raised, nbgrader's last
    ERROR log line, or the last line of output.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    exceptions = [m.group(0) for m in map(_EXCEPTION_LINE.match, lines) if m]
    if exceptions:
        return exceptions[-1][:300]
    errors = [m.group(0) for m in map(_LOG_LINE.match, lines) if m and m["level"] in ("ERROR", "CRITICAL")]
    return (errors or lines or ["nbgrader failed without a message"])[-1][:300]
