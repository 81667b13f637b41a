"""cnnviz.grading.intake: what of a submitted folder nbgrader may copy, and what goes to the quarantine."""

import logging
import os
import socket

import pytest

from cnnviz.grading import failures, intake

ASSIGNMENT = "cnn_visualization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


@pytest.fixture
def course(tmp_path):
    """A course with the assignment's checkpoint in source/ and a secret beside it."""
    root = tmp_path / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "source" / ASSIGNMENT / "best-cnn-model.keras").write_bytes(b"checkpoint")
    (root / "source" / ASSIGNMENT / NOTEBOOK).write_text("{}")
    (root / "gradebook.db").write_text("the gradebook")
    return root


def submission(course, student="mallory"):
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text('{"cells": []}')
    return folder


def reduce(course, student="mallory"):
    notebooks = [str(course / "submitted" / student / ASSIGNMENT / NOTEBOOK)]
    refusals = intake.SubmissionIntake().reduce(course / "submitted" / student, ASSIGNMENT, notebooks)
    return notebooks, refusals


def quarantined(course, student="mallory"):
    """Names found in the student's quarantine, at any depth (links not followed)."""
    found = set()
    for folder, dirs, files in os.walk(course / "quarantine" / student):
        found.update(dirs + files)
    return found


def test_notebook_timestamp_and_the_assignments_files_are_kept(course):
    folder = submission(course)
    (folder / "timestamp.txt").write_text("2026-11-29 10:00:00.000000 UTC")
    (folder / "best-cnn-model.keras").write_bytes(b"the student's copy")
    notebooks, refusals = reduce(course)
    assert refusals == [] and notebooks == [str(folder / NOTEBOOK)]
    assert sorted(os.listdir(folder)) == ["best-cnn-model.keras", NOTEBOOK, "timestamp.txt"]
    assert not (course / "quarantine").exists()


def test_links_extra_files_and_a_package_folder_are_moved_to_the_quarantine_without_being_followed(course):
    folder = submission(course)
    (folder / "gradebook.db").symlink_to(course / "gradebook.db")
    (folder / "data").symlink_to(course / "source")
    (folder / "cnnviz").mkdir()
    (folder / "cnnviz" / "__init__.py").write_text("print('outside the jail')")
    (folder / "notes.txt").write_text("extra")
    os.mkfifo(folder / "pipe")
    notebooks, refusals = reduce(course)
    assert notebooks == [str(folder / NOTEBOOK)], "the notebook itself was fine"
    assert sorted(os.listdir(folder)) == [NOTEBOOK]
    assert {str(r.path) for r in refusals} == {"gradebook.db", "data", "cnnviz", "notes.txt", "pipe"}
    why = {str(r.path): r.why for r in refusals}
    assert why["gradebook.db"] == "a symbolic link" and why["pipe"] == "a FIFO" and why["cnnviz"] == "a folder"
    assert {"gradebook.db", "data", "cnnviz", "notes.txt", "pipe"} <= quarantined(course)
    assert (course / "gradebook.db").read_text() == "the gradebook", "the link's target must be left alone"
    assert (course / "source" / ASSIGNMENT / NOTEBOOK).exists()


def test_a_socket_is_refused(course, monkeypatch):
    folder = submission(course)
    server = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(folder)  # a relative name: the full path can pass the 107 bytes AF_UNIX allows
    server.bind("s")
    try:
        _, refusals = reduce(course)
    finally:
        server.close()
    assert [(str(r.path), r.why) for r in refusals] == [("s", "a socket")]


def test_a_linked_notebook_is_not_graded(course):
    other = submission(course, "alice")
    folder = course / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).symlink_to(other / NOTEBOOK)
    notebooks, refusals = reduce(course)
    assert notebooks == [], "nbgrader must not be handed a linked notebook"
    assert refusals[0].why == "the notebook is a symbolic link"
    assert (other / NOTEBOOK).read_text() == '{"cells": []}', "the classmate's notebook must be left alone"


def test_a_linked_assignment_folder_is_refused_and_its_target_left_alone(course):
    other = submission(course, "alice")
    (course / "submitted" / "mallory").mkdir(parents=True)
    (course / "submitted" / "mallory" / ASSIGNMENT).symlink_to(other)
    notebooks, refusals = reduce(course)
    assert notebooks == [] and "the assignment folder is a symbolic link" in refusals[0].why
    assert not os.path.lexists(course / "submitted" / "mallory" / ASSIGNMENT)
    assert sorted(os.listdir(other)) == [NOTEBOOK]


def test_a_linked_student_folder_is_refused(course):
    other = submission(course, "alice")
    (course / "submitted" / "mallory").symlink_to(other.parent)
    notebooks, refusals = reduce(course)
    assert notebooks == [] and "the student's folder is a symbolic link" in refusals[0].why
    assert sorted(os.listdir(other)) == [NOTEBOOK]


def test_an_oversized_or_hard_linked_notebook_is_refused(course):
    folder = submission(course)
    small = intake.SubmissionIntake(max_notebook_mb=1)
    (folder / NOTEBOOK).write_bytes(b" " * (2 * 2**20))
    notebooks = [str(folder / NOTEBOOK)]
    refusals = small.reduce(folder.parent, ASSIGNMENT, notebooks)
    assert notebooks == [] and "more than 1 MiB" in refusals[0].why

    folder = submission(course, "eve")
    os.link(course / "gradebook.db", folder / "copy.ipynb")
    notebooks = [str(folder / "copy.ipynb")]
    refusals = intake.SubmissionIntake().reduce(folder.parent, ASSIGNMENT, notebooks)
    why = {str(r.path): r.why for r in refusals}
    assert notebooks == [] and why["copy.ipynb"] == "the notebook is a hard link to another file"
    assert why[NOTEBOOK] == "not a file of the assignment", "a notebook nbgrader does not grade goes too"


def test_the_hook_logs_one_line_for_a_refused_student(course, caplog):
    folder = submission(course)
    (folder / "secret").symlink_to("/etc/shadow")
    notebooks = [str(folder / NOTEBOOK)]
    with caplog.at_level(logging.INFO):
        intake.reduce_submission(assignment=ASSIGNMENT, student="*", notebooks=notebooks)
    lines = [r.getMessage() for r in caplog.records if "[intake]" in r.getMessage()]
    assert len(lines) == 1 and "mallory" in lines[0] and "secret (a symbolic link)" in lines[0], lines
    assert notebooks == [str(folder / NOTEBOOK)]


def test_a_refused_notebook_is_reported_as_a_record_and_logged_in_the_same_words(course, caplog):
    folder = submission(course)
    (folder / NOTEBOOK).unlink()
    (folder / NOTEBOOK).symlink_to("/etc/passwd")
    notebooks = [str(folder / NOTEBOOK)]
    failures.pop_reported()
    with caplog.at_level(logging.INFO):
        intake.reduce_submission(assignment=ASSIGNMENT, student="*", notebooks=notebooks)
    [failure] = failures.pop_reported()
    assert notebooks == [] and failure.kind == failures.REFUSED and failure.student == "mallory"
    assert "submission not graded" in failure.reason and "a symbolic link" in failure.reason
    lines = [r.getMessage() for r in caplog.records if "[intake]" in r.getMessage()]
    assert lines == [f"[intake] mallory: {failure.reason}"]


def test_a_student_whose_files_are_only_moved_reports_nothing(course):
    folder = submission(course)
    (folder / "secret").symlink_to("/etc/shadow")
    failures.pop_reported()
    intake.reduce_submission(assignment=ASSIGNMENT, student="*", notebooks=[str(folder / NOTEBOOK)])
    assert failures.pop_reported() == []
