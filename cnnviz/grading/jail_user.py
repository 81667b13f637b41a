"""Who a jailed kernel runs as: the jail's own system user as root, else the grader's uid.

As root, the kernel drops to the system user ``cnnviz-jail`` (created on first use; it owns
no file, so it reads only what is world-readable), with ``setpriv`` inside a privileged
bubblewrap. As any other user, the kernel keeps the grader's uid, in an unprivileged
bubblewrap with its own user namespace (``cnnviz.grading.bubblewrap``).
"""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cnnviz import CourseError

JAIL_USER = "cnnviz-jail"


@dataclass
class Identity:
    """Who the kernel runs as, and how bubblewrap is started."""

    uid: int
    gid: int
    as_root: bool  # privileged bwrap + setpriv inside, or an unprivileged user namespace
    name: str = ""


def jail_identity(user: str = JAIL_USER) -> Identity:
    """The uid/gid the kernel gets: ``user`` (created if missing) as root, else the grader's own."""
    if os.geteuid() != 0:
        return Identity(os.getuid(), os.getgid(), as_root=False, name=pwd.getpwuid(os.getuid()).pw_name
                        if _has_passwd_entry(os.getuid()) else str(os.getuid()))
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        entry = create_system_user(user)
    if entry.pw_uid == 0:
        raise CourseError(f"the jail user `{user}` has uid 0; give the jail an unprivileged user")
    return Identity(entry.pw_uid, entry.pw_gid, as_root=True, name=user)


# Graders that start at the same time (pytest workers, parallel `cnnviz autograde`
# processes, Dask workers on one machine) may all find the jail user missing. They take
# turns on this lock, in a folder only root writes, so that one runs `useradd` and the
# others find its user; without it the second `useradd` can fail on /etc/passwd's own lock
# while the first has not written the user yet.
USERADD_LOCK = Path("/run/cnnviz-jail-useradd.lock")
USERADD_NAME_IN_USE = 9  # useradd's exit status when the user (or a group of its name) exists


def _useradd(user: str) -> subprocess.CompletedProcess:
    # A system user of its own: it owns no file, so a kernel running as it can
    # read only what is world-readable and write only its own tmpfs.
    return subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                           "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
                          capture_output=True, text=True)


def create_system_user(user: str) -> pwd.struct_passwd:
    """Create the system user ``user`` (as root) and return its entry, once however many graders ask."""
    try:
        lock = os.open(USERADD_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        lock = None  # no /run: useradd's own exit status still tells a lost race (below)
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return pwd.getpwnam(user)  # made by the grader that held the lock before this one
        except KeyError:
            pass
        result = _useradd(user)
        try:
            # Exit status 9 is success too when the user is there: another grader made it.
            return pwd.getpwnam(user)
        except KeyError:
            why = result.stderr.strip() or f"useradd exited with status {result.returncode}"
            # 9 without the user: a group of its name is there, and --user-group refuses to reuse it.
            group = f"--gid {user}" if result.returncode == USERADD_NAME_IN_USE else "--user-group"
            raise CourseError(f"cannot create the jail's system user `{user}` ({why}); create it with "
                              f"`useradd --system {group} --no-create-home {user}`") from None
    finally:
        if lock is not None:
            os.close(lock)  # releases the flock


def _has_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False
