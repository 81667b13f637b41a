"""cnnviz.grading.jail_user: the jail's system user, created once however many graders start together."""

import pwd
import subprocess
import threading
import time

import pytest

from cnnviz import CourseError
from cnnviz.grading import jail_user


class FakeAccounts:
    """/etc/passwd and `useradd` as root sees them, in memory: nothing on the machine is created.

    Like the real `useradd`, a second one started while another is still writing fails on
    the password file's lock, and one for a name that exists fails with status 9.
    """

    def __init__(self, monkeypatch, tmp_path, existing_group=False):
        self.users = {}
        self.calls = 0
        self.existing_group = existing_group
        self._busy = threading.Lock()
        monkeypatch.setattr(jail_user, "USERADD_LOCK", tmp_path / "useradd.lock")
        monkeypatch.setattr(jail_user, "_useradd", self.useradd)
        monkeypatch.setattr(jail_user.pwd, "getpwnam", self.getpwnam)
        monkeypatch.setattr(jail_user.os, "geteuid", lambda: 0)

    def getpwnam(self, name):
        if name not in self.users:
            raise KeyError(f"getpwnam(): name not found: {name!r}")
        return pwd.struct_passwd((name, "x", self.users[name], self.users[name], "", "/nonexistent",
                                  "/usr/sbin/nologin"))

    def useradd(self, user, another_grader_first=False):
        self.calls += 1
        if another_grader_first:  # someone else's useradd wrote the user just before this one
            self.users[user] = 990
        if not self._busy.acquire(blocking=False):
            return subprocess.CompletedProcess([], 1, "", "useradd: cannot lock /etc/passwd; try again later.\n")
        try:
            if user in self.users or self.existing_group:
                return subprocess.CompletedProcess([], 9, "", f"useradd: user '{user}' already exists\n")
            time.sleep(0.2)  # writing the files
            self.users[user] = 999
            return subprocess.CompletedProcess([], 0, "", "")
        finally:
            self._busy.release()


def test_graders_starting_together_create_the_jail_user_once(monkeypatch, tmp_path):
    accounts = FakeAccounts(monkeypatch, tmp_path)
    found, failed = [], []

    def grader():
        try:
            found.append(jail_user.jail_identity("cnnviz-jail"))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failed.append(error)

    threads = [threading.Thread(target=grader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failed, failed
    assert [(i.uid, i.name, i.as_root) for i in found] == [(999, "cnnviz-jail", True)] * 3
    assert accounts.calls == 1, "the graders must take turns: one useradd, the others find its user"


def test_useradd_losing_the_race_to_another_grader_is_success(monkeypatch, tmp_path):
    accounts = FakeAccounts(monkeypatch, tmp_path)
    monkeypatch.setattr(jail_user, "_useradd", lambda user: accounts.useradd(user, another_grader_first=True))
    identity = jail_user.jail_identity("cnnviz-jail")
    assert (identity.uid, identity.gid) == (990, 990)
    assert accounts.calls == 1


def test_a_group_of_the_jail_users_name_is_one_error_line_with_the_fix(monkeypatch, tmp_path):
    FakeAccounts(monkeypatch, tmp_path, existing_group=True)
    with pytest.raises(CourseError) as info:
        jail_user.jail_identity("cnnviz-jail")
    message = str(info.value)
    assert "\n" not in message and info.value.__suppress_context__
    assert "cnnviz-jail" in message and "already exists" in message
    assert "useradd --system --gid cnnviz-jail --no-create-home cnnviz-jail" in message
