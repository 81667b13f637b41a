"""Where `make hub`'s JupyterHub lives and who uses it: its folders, ports and accounts, and its setup commands.

Every other ``hub_*`` module of ``cnnviz.deploy`` takes these names from here:
the hub's state in ``hub/state/`` (git-ignored), the system folders under
``/srv`` that every account reads (``CNNVIZ_HUB_SYSTEM``, ``CNNVIZ_HUB_EXCHANGE``:
``cnnviz.settings``), the three ports, the accounts' names, and the two ways a
setup step runs a command: as root (``run``) or as one account with the hub's
environment for it (``as_user``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from cnnviz import COURSE_ROOT, CourseError, settings

HUB_DIR = COURSE_ROOT / "hub"
STATE = HUB_DIR / "state"
SYSTEM = settings.hub_system_dir()
ENV = SYSTEM / "env"  # the users' environment (cnnviz.deploy.hub_environment)
EXCHANGE = settings.hub_exchange_dir()
COURSE_ID = settings.COURSE_ID
INSTRUCTOR = "instructor"
COURSE_DIR_NAME = "course"


def port() -> int:
    """The hub's port on 127.0.0.1 (``CNNVIZ_HUB_PORT``, default 8000)."""
    text = settings.hub_port_text()
    if not text.isdigit() or not 1 <= int(text) <= 65535 - 81:
        raise CourseError(f"{settings.HUB_PORT_VARIABLE}={text!r}: give a port number from 1 to {65535 - 81} "
                          "(the hub also listens on the next one and on the one 81 above it)")
    return int(text)


def url() -> str:
    """The hub's address for browsers (and for the checks that it answers)."""
    return f"http://127.0.0.1:{port()}"


def ports() -> dict[str, int]:
    """The three ports a hub listens on, all derived from ``port()`` (8000, 8001, 8081 by default), so that
    a second hub on another ``CNNVIZ_HUB_PORT`` (another checkout, a CI job) collides with none of them."""
    return {"public": port(), "proxy API": port() + 1, "hub": port() + 81}


def students() -> list[str]:
    """The student accounts: the roster's login ids (``CNNVIZ_HUB_ROSTER=FILE``, else the course's last
    ``roster import``; ``cnnviz.course.roster``), else ``student1`` … ``studentN`` (``CNNVIZ_HUB_STUDENTS``, default 2)."""
    from cnnviz.course import roster

    listed = roster.hub_students(COURSE_ROOT)
    if listed is not None:
        return listed
    count = settings.hub_students_text()
    if not count.isdigit() or not 1 <= int(count) <= 500:
        raise CourseError(f"CNNVIZ_HUB_STUDENTS={count!r}: give a number of students from 1 to 500")
    return [f"student{k}" for k in range(1, int(count) + 1)]


def users() -> list[str]:
    """Every account the hub lets in: the instructor, then the students."""
    return [INSTRUCTOR, *students()]


def instructor_course() -> Path:
    """The instructor's course folder, where the instructor's server and nbgrader commands run."""
    return Path("/home") / INSTRUCTOR / COURSE_DIR_NAME


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command; one CourseError line with its output's tail if it fails."""
    result = subprocess.run(command, text=True, capture_output=True, **kwargs)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise CourseError(f"`{' '.join(command)}` failed: {' | '.join(tail)}")
    return result


def link_or_copy(source: str, target: str) -> None:
    """A hard link to ``source`` (no extra disk), or a copy where links cannot be made."""
    try:
        os.link(source, target)
    except OSError:  # another file system, or hard links refused
        shutil.copy2(source, target)


def account_env(name: str) -> dict[str, str]:
    """What the hub gives account ``name``'s server and commands: the users' environment first on PATH,
    what every notebook kernel needs (``settings.kernel_env``; their kernels inherit it), and for the
    instructor the full course package."""
    env = {"PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin", **settings.kernel_env(), "LANG": "C.UTF-8"}
    if name == INSTRUCTOR:
        env["PYTHONPATH"] = str(instructor_course())  # the full package, for the formgrader and source/
    return env


def as_user(name: str, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` as account ``name`` with the hub's environment for that account."""
    entry = pwd.getpwnam(name)
    env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, **account_env(name)}
    return run("runuser", "-u", name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command,
               cwd=cwd)
