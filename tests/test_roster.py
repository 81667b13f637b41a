"""Rosters in (cnnviz.course.roster): three LMS formats told apart by their header, bad rosters refused in one line."""

import json

import pytest

from cnnviz import CourseError
from cnnviz.course import cli, roster

# Canvas's gradebook export, as Grades -> Export writes it: the header, the "Points Possible"
# row (leading spaces, no ID), a posting-policy row, the test student, then the students.
CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Week 1 Quiz (1201),Current Score,Final Score\n"
    "    Points Possible,,,,,10,(read only),(read only)\n"
    ",,,,,Manual Posting,,\n"
    '"Student, Test",9999,,,CS101-01,,,\n'
    '"Kim, Minji",1001,2026001,minji,CS101-01,9,90,90\n'
    '"Lee, Junho",1002,2026002,junho,CS101-02,,,\n'
)
CANVAS_USERS = (
    "canvas_user_id,user_id,integration_id,authentication_provider_id,login_id,first_name,last_name,full_name,"
    "sortable_name,short_name,email,status\n"
    "1001,2026001,,,minji,Minji,Kim,Minji Kim,\"Kim, Minji\",Minji,minji@example.edu,active\n"
)
MOODLE = (
    "First name,Last name,Username,ID number,Email address,Roles,Groups,Last access to course\n"
    "Minji,Kim,minji,2026001,minji@example.edu,Student,,Never\n"
    "Junho,Lee,junho,2026002,junho@example.edu,Student,A,Never\n"
)
PLAIN = "id,first name,last name,email\nminji,Minji,Kim,minji@example.edu\n"


def test_canvas_gradebook_export_skips_its_own_rows_and_reads_names_ids_and_sections():
    fmt, students = roster.parse(CANVAS.encode())
    assert fmt.key == "canvas"
    assert [s.login for s in students] == ["minji", "junho"]
    minji = students[0]
    assert (minji.first_name, minji.last_name, minji.lms_id, minji.sis_user_id, minji.section) == \
        ("Minji", "Kim", "1001", "2026001", "CS101-01")
    assert minji.lms_name == "Kim, Minji"


@pytest.mark.parametrize("text, key, email", [(CANVAS_USERS, "canvas-users", "minji@example.edu"),
                                              (MOODLE, "moodle", "minji@example.edu"),
                                              (PLAIN, "plain", "minji@example.edu")])
def test_each_format_is_told_from_its_header(text, key, email):
    fmt, students = roster.parse(text.encode())
    assert fmt.key == key
    assert (students[0].login, students[0].first_name, students[0].last_name, students[0].email) == \
        ("minji", "Minji", "Kim", email)


def test_moodle_with_only_the_email_shown_takes_its_local_part():
    text = "First name,Last name,Email address\nMinji,Kim,Minji@univ.ac.kr\n"
    fmt, students = roster.parse(text.encode())
    assert (fmt.key, students[0].login, students[0].email) == ("moodle", "minji", "Minji@univ.ac.kr")


def test_moodle_without_usernames_takes_the_id_number_and_a_bom_and_semicolons_are_read():
    text = "\ufeffFirst name;Last name;ID number;Email address\nMinji;Kim;s2026001;minji@example.edu\n"
    fmt, students = roster.parse(text.encode())
    assert (fmt.key, students[0].login, students[0].id_number) == ("moodle", "s2026001", "s2026001")


@pytest.mark.parametrize("data, words", [
    (b"", ["is empty"]),
    (b"  \n", ["is empty"]),
    ("id,first name,last name,email\nkim,민지,김,k@x\n".encode("cp949"), ["not UTF-8", "CSV UTF-8"]),
    (b"name,mail\nkim,k@x\n", ["no roster format", "SIS Login ID", "Email address", "first name"]),
    (b"Student,ID,SIS User ID,Section\n\"Kim, Minji\",1,2,A\n", ["Canvas gradebook export", "SIS Login ID"]),
    (b"First name,Last name,Username\nMinji,Kim,minji\n", ["Moodle participants export", "Email address"]),
    (b"First name,Last name,Email address\nMinji,Kim,minji.kim@x\n", ["row 2", "'minji.kim'", "before @"]),
    (b"id,first name,last name,email\n", ["no students"]),
    (b"id,first name,last name,email\nkim,M,K,a@x\nlee,J,L,b@x\nkim,M,K,c@x\n", ["rows 2 and 4", "'kim'"]),
    (b"id,first name,last name,email\nkim,M,K,a@x\nKim Lee,J,L,b@x\n", ["row 3", "'Kim Lee'", "not a valid"]),
    (b"id,first name,last name,email\nroot,R,R,r@x\n", ["row 2", "'root'"]),
    (b"id,first name,last name,email\n,M,K,a@x\n", ["row 2", "no login id"]),
    (CANVAS.replace("minji,CS101", ",CS101").encode(), ["row 5", "SIS Login ID"]),
])
def test_a_bad_roster_is_one_line_naming_the_problem(data, words):
    with pytest.raises(CourseError) as refused:
        roster.parse(data, "class.csv")
    message = str(refused.value)
    assert "\n" not in message and message.startswith("class.csv"), message
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def _gradebook_students(url):
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        return {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gradebook.students}


def test_import_fills_the_gradebook_and_a_second_import_adds_updates_and_names_who_left(tmp_path, gradebook_url):
    first = tmp_path / "moodle.csv"
    first.write_text(MOODLE, encoding="utf-8")
    line = roster.import_roster(first, tmp_path, gradebook_url)
    assert "2 added" in line and "not on this roster" not in line
    assert _gradebook_students(gradebook_url)["minji"] == ("Minji", "Kim", "minji@example.edu", None)
    assert roster.import_roster(first, tmp_path, gradebook_url).count("2 unchanged") == 1  # idempotent

    second = tmp_path / "plain.csv"
    second.write_text("id,first name,last name,email\nminji,Minji,Kim,minji.kim@example.edu\n"
                      "sora,Sora,Park,sora@example.edu\n", encoding="utf-8")
    line = roster.import_roster(second, tmp_path, gradebook_url)
    assert "1 added, 1 updated" in line and line.endswith("not on this roster (kept, with their accounts, "
                                                           "submissions and grades): junho")
    students = _gradebook_students(gradebook_url)
    assert set(students) == {"minji", "junho", "sora"}  # junho kept
    assert students["minji"][2] == "minji.kim@example.edu"
    assert [s.login for s in roster.load(tmp_path)] == ["minji", "sora"]


def test_a_bad_roster_changes_neither_the_gradebook_nor_the_course(tmp_path, gradebook_url, capsys):
    good = tmp_path / "good.csv"
    good.write_text(PLAIN, encoding="utf-8")
    roster.import_roster(good, tmp_path, gradebook_url)
    saved = roster.roster_path(tmp_path).read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text(PLAIN + "sora,Sora,Park,s@x\nSora!,S,P,t@x\n", encoding="utf-8")
    # The command line, on the same course (its gradebook is tmp_path/gradebook.db, gradebook_url's file).
    status = cli.main(["roster", "import", str(bad), "--course-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.count("\n") == 0 and err.startswith("error: ") and "row 4" in err
    assert set(_gradebook_students(gradebook_url)) == {"minji"}
    assert roster.roster_path(tmp_path).read_bytes() == saved


def test_the_hub_takes_its_students_from_the_named_roster_else_the_last_import(tmp_path, monkeypatch):
    monkeypatch.delenv(roster.ROSTER_VARIABLE, raising=False)
    assert roster.hub_students(tmp_path) is None
    roster.roster_path(tmp_path).write_text(json.dumps({"format": "plain", "source": "x",
                                                        "students": [{"login": "sora"}]}))
    assert roster.hub_students(tmp_path) == ["sora"]
    named = tmp_path / "canvas.csv"
    named.write_text(CANVAS, encoding="utf-8")
    monkeypatch.setenv(roster.ROSTER_VARIABLE, str(named))
    assert roster.hub_students(tmp_path) == ["minji", "junho"]


def test_ids_with_control_characters_are_shown_escaped():
    assert roster.printable(["minji", "x\x1b[2Jy"]) == "minji, x\\x1b[2Jy"
