"""Each student graded by one grader at a time, even when a Dask worker dies and its tasks are retried.

Every attempt holds a per-student lock for as long as the process grading it
does: a PostgreSQL advisory lock when the gradebook is PostgreSQL, else an
``flock`` on ``autograded/.locks/<student>.lock`` in the shared course folder
(NFS clients with lock support carry it to the server). The lock's file or
connection is handed to the grading process (passed over the warm grader's
socket, or inherited by a new nbgrader), which closes it only once that
student is done, so it is released only once both the task and the grading
are over.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

from cnnviz import ASSIGNMENT
from cnnviz.course.gradebook_setup import safe_url

# How long a retried attempt waits for the previous holder of the student's lock.
LOCK_WAIT_SECONDS = 600.0


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
