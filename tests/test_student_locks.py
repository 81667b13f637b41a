"""Each student graded by one grader at a time (cnnviz/course/student_locks.py): the lock outlives the
worker only as long as the grading process holding it (tests/test_cluster.py does the same with real Dask
processes)."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from cnnviz.course import student_locks


def _exit_time(pid, timeout):
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return time.time()
    try:
        return time.time() if select.select([handle], [], [], timeout)[0] else None
    finally:
        os.close(handle)


def test_a_grading_process_leads_its_own_session_holds_the_lock_and_dies_with_its_worker(tmp_path):
    # A stand-in worker takes the student's lock and starts a long "nbgrader" the way
    # grade_student does (nbrun.run); then it is SIGKILLed, as a dying Dask worker would be.
    worker_code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from cnnviz import settings
        settings.skip_unused_slow_modules()  # as `python -m cnnviz` does: a quicker start
        from cnnviz.course import nbrun, student_locks
        with student_locks.student_lock(Path({str(tmp_path)!r}), "ana", None) as fd:
            nbrun.run(["-c", "import time; time.sleep(60)"], {str(tmp_path)!r}, None, fd,
                      lambda pid: print(pid, flush=True))
    """)
    worker = subprocess.Popen([sys.executable, "-c", worker_code], stdout=subprocess.PIPE, text=True)
    grader = int(worker.stdout.readline())
    try:
        time.sleep(0.5)  # the grader is past its launcher
        assert os.getsid(grader) == grader, "the grading process must lead its own session"
        with pytest.raises(TimeoutError, match="still held"):
            with student_locks.student_lock(tmp_path, "ana", None, wait=0.5):
                pass

        killed = time.time()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        died = _exit_time(grader, timeout=10)
        assert died is not None, "the grading process outlived its worker"
        assert died - killed < 5
        with student_locks.student_lock(tmp_path, "ana", None, wait=5):
            pass  # free again, once the grading process is gone
    finally:
        worker.kill()
        try:
            os.kill(grader, signal.SIGKILL)
        except ProcessLookupError:
            pass
