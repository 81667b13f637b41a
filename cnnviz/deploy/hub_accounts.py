"""The hub's Linux accounts: the instructor and the students, each with a home of its own and a password.

Students are ``student1`` … ``studentN``, or the roster's login ids
(``hub_site.students``). Each account gets a home folder closed to the others
(0700), the users' environment first on its terminals' PATH, and a generated
password, kept in the root-only ``hub/state/accounts.json`` and set again on
every run (the same password every time). JupyterHub logs them in with PAM.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
from dataclasses import dataclass
from pathlib import Path

from cnnviz import CourseError
from cnnviz.deploy import hub_jupyterlab, hub_site

ACCOUNTS = hub_site.STATE / "accounts.json"


@dataclass
class Account:
    """One hub account as `make hub` prints it."""

    name: str
    password: str
    role: str


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _ensure_shell_path(home: Path, name: str) -> None:
    """JupyterLab's terminals start login shells, which reset PATH: put the users' environment first again."""
    bashrc = home / ".bashrc"
    line = f'export PATH="{hub_site.ENV / "bin"}:$PATH"  # make hub: the course\'s Python, nbgrader, jupyter\n'
    text = bashrc.read_text() if bashrc.is_file() else ""
    if line not in text:
        bashrc.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line)
        entry = pwd.getpwnam(name)
        os.chown(bashrc, entry.pw_uid, entry.pw_gid)


def ensure_accounts() -> list[Account]:
    """The instructor's and students' Linux accounts, with their passwords (kept across runs)."""
    hub_site.STATE.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_site.STATE, 0o700)
    from cnnviz.course import roster

    saved = json.loads(ACCOUNTS.read_text()) if ACCOUNTS.is_file() else {}
    names = hub_site.users()
    # A roster's login id that is already a system account (uid < 1000) is nobody's student account.
    system = [n for n in names[1:] if _uid(n) is not None and _uid(n) < 1000]
    if system:
        raise CourseError(f"the roster's login id(s) {', '.join(system)} are system accounts on this machine: "
                          "give those students other login ids; no account was changed")
    left = sorted(set(saved) - set(names))
    if left:
        print(f"[hub] not on the roster any more (accounts, work and grades kept; they cannot log in): "
              f"{roster.printable(left)}", flush=True)
    accounts = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            hub_site.run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name)
        home = Path(pwd.getpwnam(name).pw_dir)
        home.mkdir(exist_ok=True)
        os.chmod(home, 0o700)  # nobody reads another account's work
        _ensure_shell_path(home, name)
        if name != hub_site.INSTRUCTOR:
            hub_jupyterlab.ensure_no_feedback_words(home, name)
        password = saved.get(name) or secrets.token_urlsafe(9)
        hub_site.run("chpasswd", input=f"{name}:{password}\n")
        saved[name] = password
        accounts.append(Account(name, password, "instructor" if name == hub_site.INSTRUCTOR else "student"))
    ACCOUNTS.write_text(json.dumps(saved, indent=2))
    os.chmod(ACCOUNTS, 0o600)
    return accounts
