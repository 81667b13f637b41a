"""`make hub` for a real class: the accounts come from the LMS's roster (CNNVIZ_HUB_ROSTER), in Chromium.

The hub is (re)started here with a roster of five in Canvas's gradebook-export format:
every student gets a Linux account and a generated password in the root-only accounts
file, the instructor's gradebook gets their names and Canvas ids, and one of them logs in
in the browser. Running the accounts step again with a student gone names them and keeps
their account; a roster with an invalid login id is refused in one line and changes
nothing. The hub is stopped afterwards (`make test-hub` stops it too). Grading and the LMS
files for such a class: tests/test_roster_to_lms.py.
"""

from __future__ import annotations

import os
import pwd
import stat

import pytest

import hubpage
from cnnviz import CourseError
from cnnviz.course import roster
from cnnviz.deploy import hub, hub_accounts, hub_process, hub_site

pytestmark = [pytest.mark.slow, pytest.mark.hub]

HEADER = "Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
STUDENTS = [("Kim, Minji", "rminji"), ("Lee, Junho", "rjunho"), ("Park, Sora", "rsora"),
            ("Choi, Chaewon", "rchaewon"), ("Jung, Jiho", "rjiho")]


def _canvas(path, students):
    rows = "".join(f'"{name}",{800 + k},20260{k},{login},CNN-01\n' for k, (name, login) in enumerate(students))
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def roster_hub(tmp_path_factory):
    """The hub restarted with the roster's accounts; stopped (and the variable dropped) afterwards."""
    if os.geteuid() != 0:
        pytest.fail("the hub tests make Linux accounts: run them as root (`make test-hub`)", pytrace=False)
    folder = tmp_path_factory.mktemp("roster")
    os.chmod(folder, 0o755)
    path = _canvas(folder / "canvas.csv", STUDENTS)
    hub_process.stop_hub()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(roster.ROSTER_VARIABLE, str(path))  # the hub process inherits it
            accounts = {a.name: a.password for a in hub.up()}
            yield {"accounts": accounts, "folder": folder}
    finally:
        hub_process.stop_hub()
        _forget_roster()


def _forget_roster():
    """The shared instructor's course as the class test expects it: no roster, none of its students in the
    gradebook (they submitted nothing). Their Linux accounts stay, as `make hub` keeps them."""
    from nbgrader.api import Gradebook

    course = hub_site.instructor_course()
    for name in (roster.ROSTER_FILE, "roster-source.csv"):
        (course / name).unlink(missing_ok=True)
    gradebook = course / "gradebook.db"
    if gradebook.is_file():
        with Gradebook(f"sqlite:///{gradebook}") as book:
            for _, login in STUDENTS:
                try:
                    book.remove_student(login)
                except Exception:  # noqa: BLE001 - not there, or with work of its own: kept
                    pass


def test_every_roster_student_gets_an_account_and_a_root_only_password(roster_hub):
    accounts = roster_hub["accounts"]
    for _, login in STUDENTS:
        assert login in accounts and accounts[login], f"no password for {login}"
        entry = pwd.getpwnam(login)
        assert stat.S_IMODE(os.stat(entry.pw_dir).st_mode) == 0o700, f"{login}'s home is readable by others"
    assert stat.S_IMODE(os.stat(hub_accounts.ACCOUNTS).st_mode) == 0o600


def test_the_instructors_gradebook_knows_the_roster(roster_hub):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub_site.instructor_course() / 'gradebook.db'}") as gradebook:
        people = {s.id: (s.first_name, s.last_name, s.lms_user_id) for s in gradebook.students}
    assert people["rsora"] == ("Sora", "Park", "802")
    assert {login for _, login in STUDENTS} <= set(people)


def test_a_roster_student_logs_in_in_the_browser(roster_hub, browser):
    page = hubpage.log_in(browser, hub_site.url(), "rsora", roster_hub["accounts"]["rsora"])
    assert "/user/rsora/lab" in page.url
    page.context.close()


def test_a_student_who_left_is_named_and_kept_and_a_bad_roster_changes_nothing(roster_hub, monkeypatch, capsys):
    monkeypatch.setenv(roster.ROSTER_VARIABLE, str(_canvas(roster_hub["folder"] / "less.csv", STUDENTS[:-1])))
    hub_accounts.ensure_accounts()
    said = capsys.readouterr().out
    assert "not on the roster any more" in said and "rjiho" in said
    assert pwd.getpwnam("rjiho")  # kept

    bad = _canvas(roster_hub["folder"] / "bad.csv", STUDENTS[:2] + [("Han, Yuna", "Yuna Han")])
    monkeypatch.setenv(roster.ROSTER_VARIABLE, str(bad))
    before = hub_accounts.ACCOUNTS.read_bytes()
    with pytest.raises(CourseError, match="row 5.*'Yuna Han'"):
        hub_accounts.ensure_accounts()
    assert hub_accounts.ACCOUNTS.read_bytes() == before
