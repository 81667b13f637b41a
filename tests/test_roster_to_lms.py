"""A real class from its roster to the LMS, end to end, with the course's commands and nbgrader's.

A roster of five in Canvas's gradebook-export format is imported; the assignment gets a due
date (Seoul time) and one student an extension; the release shows the due date and the rule;
four students submit (two on time, one late, one late within the extension), one never does;
the class is autograded once with the course's nbgrader_config.py (jail, late policy); the
feedback names the penalty; the Canvas and the Moodle import files are checked cell by cell.
The notebook is the toy course's two steps (tests/toycourse.py), so this measures the loop,
not TensorFlow. The hub's accounts for such a roster: tests/e2e/test_hub_roster.py.
"""

import csv
import datetime

import pytest

from cnnviz import ASSIGNMENT
from cnnviz.course import classgrade, cli, notebooks, pipeline
from cnnviz.grading import deadlines
from cnnviz.course.nbrun import run_nbgrader
from toycourse import NOTEBOOK, WITHOUT_TRUSTED_CHECKS, toy_source_notebook

pytestmark = pytest.mark.slow

# Canvas's gradebook export (Grades -> Export): header, "Points Possible" row, the test student.
CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Previous quiz (880)
    Points Possible,,,,,10
"Student, Test",9000,,,CNN-01,
"Kim, Minji",9001,2026001,minji,CNN-01,8
"Lee, Junho",9002,2026002,junho,CNN-01,7
"Park, Sora",9003,2026003,sora,CNN-02,9
"Choi, Chaewon",9004,2026004,chaewon,CNN-02,6
"@Jung, Jiho",9005,2026005,jiho,CNN-02,
"""
DUE_UTC = datetime.datetime(2026, 12, 10, 14, 59, tzinfo=datetime.timezone.utc)  # 23:59 in Seoul
# (answer, answer_y, submitted how long after the due date); jiho submits nothing.
SUBMISSIONS = {
    "minji": ("x = 1", "y = 2", -datetime.timedelta(hours=3)),        # on time, 2 of 2
    "junho": ("x = 1", "y = 3", -datetime.timedelta(minutes=1)),      # on time, 1 of 2
    "sora": ("x = 1", "y = 2", datetime.timedelta(days=2, hours=1)),  # third day started: 30 % off
    "chaewon": ("x = 1", "y = 2", datetime.timedelta(days=2)),        # within her 3-day extension
}


def _submit(course, student, answer, answer_y, late):
    release = notebooks.read_notebook(course / "release" / ASSIGNMENT / NOTEBOOK)
    target = pipeline.submit(course, student, notebooks.fill_release(release, {"answer": answer,
                                                                               "answer_y": answer_y}))
    when = (DUE_UTC + late).astimezone(datetime.timezone.utc)
    (target.parent / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def _csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_roster_to_canvas_and_moodle(tmp_path, monkeypatch, capsys):
    course = pipeline.scratch_course(tmp_path, source_notebook=toy_source_notebook(),
                                     extra_config=WITHOUT_TRUSTED_CHECKS)
    # The course's commands and nbgrader's, on this course's own gradebook.
    monkeypatch.setenv("NBGRADER_DB_URL", pipeline.scratch_db_url(course))
    roster_file = tmp_path / "canvas-gradebook-export.csv"
    roster_file.write_text(CANVAS_ROSTER, encoding="utf-8")

    def command(*args):
        assert cli.main([*args, "--course-dir", str(course)]) == 0, capsys.readouterr().err
        return capsys.readouterr().out

    assert "5 students; 5 added" in command("roster", "import", str(roster_file))
    assert "2026-12-10 23:59 (Asia/Seoul)" in command("duedate", "2026-12-10 23:59", "--timezone", "Asia/Seoul")
    assert "chaewon: 3 day(s)" in command("extension", "chaewon", "--days", "3")
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=course, quiet=True)
    notice = notebooks.read_notebook(course / "release" / ASSIGNMENT / NOTEBOOK).cells[0]
    assert notice.cell_type == "markdown" and "마감:** 2026-12-10 23:59 (`Asia/Seoul` 기준)" in notice.source
    assert "10%를" in notice.source and "10% of the points it earned" in notice.source

    for student, (answer, answer_y, late) in SUBMISSIONS.items():
        _submit(course, student, answer, answer_y, late)
    outcomes = classgrade.autograde_class(course, quiet=True)
    assert sorted(o.student for o in outcomes if o.ok) == sorted(SUBMISSIONS), [o.message for o in outcomes]

    from nbgrader.api import Gradebook

    with Gradebook(pipeline.scratch_db_url(course)) as gradebook:
        penalties = {s.student.id: s.late_submission_penalty for s in gradebook.assignment_submissions(ASSIGNMENT)}
        people = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gradebook.students}
    assert penalties == {"minji": 0.0, "junho": 0.0, "sora": pytest.approx(0.6), "chaewon": 0.0}
    assert people["sora"] == ("Sora", "Park", None, "9003") and set(people) == {"minji", "junho", "sora",
                                                                               "chaewon", "jiho"}
    assert deadlines.read_duedate(pipeline.scratch_db_url(course)) == DUE_UTC

    run_nbgrader("generate_feedback", ASSIGNMENT, "--force", "--student=sora", root=course, quiet=True)
    feedback = (course / "feedback" / "sora" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert "Late submission penalty: -0.6" in feedback

    canvas = tmp_path / "canvas.csv"
    run_nbgrader("export", "--exporter=cnnviz.course.lms.CanvasCsvExport", f"--to={canvas}", root=course, quiet=True)
    assert _csv(canvas) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT],
        ["Points Possible", "", "", "", "", "2"],
        ["Kim, Minji", "9001", "2026001", "minji", "CNN-01", "2"],
        ["Lee, Junho", "9002", "2026002", "junho", "CNN-01", "1"],
        ["Park, Sora", "9003", "2026003", "sora", "CNN-02", "1.4"],
        ["Choi, Chaewon", "9004", "2026004", "chaewon", "CNN-02", "2"],
        ["'@Jung, Jiho", "9005", "2026005", "jiho", "CNN-02", ""],
    ]

    moodle = tmp_path / "moodle.csv"
    run_nbgrader("export", "--exporter=cnnviz.course.lms.MoodleCsvExport", f"--to={moodle}",
                 "--MoodleCsvExport.missing=zero", "--MoodleCsvExport.steps=True", root=course, quiet=True)
    assert _csv(moodle) == [
        ["First name", "Last name", "Username", "ID number", "Email address", ASSIGNMENT, "test_x (1)", "test_y (1)"],
        ["Minji", "Kim", "minji", "", "", "2", "1", "1"],
        ["Junho", "Lee", "junho", "", "", "1", "1", "0"],
        ["Sora", "Park", "sora", "", "", "1.4", "1", "1"],
        ["Chaewon", "Choi", "chaewon", "", "", "2", "1", "1"],
        ["Jiho", "'@Jung", "jiho", "", "", "0", "0", "0"],
    ]

    # The Canvas export itself, filled in: its rows (Points Possible, the test student) and columns kept.
    filled = tmp_path / "canvas-filled.csv"
    run_nbgrader("export", "--exporter=cnnviz.course.lms.CanvasCsvExport", f"--to={filled}",
                 f"--CanvasCsvExport.template={roster_file}", root=course, quiet=True)
    rows = _csv(filled)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Previous quiz (880)", ASSIGNMENT]
    assert [row[-1] for row in rows[1:]] == ["2", "", "2", "1", "1.4", "2", ""]
    assert [row[5] for row in rows[1:]] == ["10", "", "8", "7", "9", "6", ""]
