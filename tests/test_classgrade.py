"""Grading a whole class (cnnviz/course/classgrade.py): parallel nbgrader processes, the SQLite gradebook
under concurrent writers, a Dask scheduler, and bad submissions that must not stop the class.

The tests use a toy course with the same assignment name and a one-line
notebook, so that they measure the fan-out and the gradebook, not TensorFlow.
The parts the class driver is made of have their own tests: test_class_sizing.py
(the worker rule), test_student_locks.py (how a grading process outlives, or
rather does not outlive, the worker that started it), test_grade_attempt.py,
test_grade_journal.py and test_gradebook_setup.py.
"""

import shutil
import subprocess
import sys

import pytest
from toycourse import NOTEBOOK, gradebook_cells, gradebook_rows, submit_answer

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import classgrade, nbrun, notebooks, pipeline


@pytest.mark.slow
def test_eight_parallel_graders_grade_everyone_without_database_locked(toy_course):
    for k in range(16):
        submit_answer(toy_course, f"s{k:02d}", "x = 1" if k % 2 == 0 else "x = 2")
    outcomes = classgrade.autograde_class(toy_course, workers=8)
    failures = {o.student: o.message for o in outcomes if not o.ok}
    assert not failures, f"students not graded with 8 workers: {failures}"
    rows = gradebook_rows(toy_course)
    assert len(rows) == 16, f"expected 16 graded submissions in the gradebook, found {len(rows)}"
    assert rows == {f"s{k:02d}": (1.0 if k % 2 == 0 else 0.0) for k in range(16)}, rows


@pytest.mark.slow
def test_parallel_scores_equal_nbgraders_serial_scores(toy_course, tmp_path):
    answers = {"right": "x = 1", "wrong": "x = 3", "broken": "x = 1/0", "blank": "pass"}
    for student, answer in answers.items():
        submit_answer(toy_course, student, answer)
    serial = tmp_path / "serial"
    shutil.copytree(toy_course, serial)
    nbrun.run_nbgrader("autograde", ASSIGNMENT, "--force", root=serial, quiet=True)
    classgrade.autograde_class(toy_course, workers=2)
    assert gradebook_rows(toy_course) == gradebook_rows(serial), "parallel and serial scores differ"


@pytest.mark.slow
def test_a_dask_scheduler_grades_the_class(toy_course):
    distributed = pytest.importorskip("distributed")
    for student in ("a", "b", "c"):
        submit_answer(toy_course, student, "x = 1")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        outcomes = classgrade.autograde_class(toy_course, scheduler=cluster.scheduler_address)
    assert [o.ok for o in outcomes] == [True, True, True], [o.message for o in outcomes]
    assert gradebook_rows(toy_course) == {"a": 1.0, "b": 1.0, "c": 1.0}


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_clear_error(toy_course):
    submit_answer(toy_course, "a", "x = 1")
    with pytest.raises(CourseError, match="cannot reach the Dask scheduler"):
        classgrade.autograde_class(toy_course, scheduler="tcp://127.0.0.1:9")


@pytest.mark.slow
def test_the_cli_prints_a_summary_line_and_exits_1_when_a_student_is_not_graded(toy_course):
    submit_answer(toy_course, "a", "x = 1")
    command = [sys.executable, "-m", "cnnviz", "autograde", "--workers", "1", "--course-dir", str(toy_course)]
    result = subprocess.run(command, env=nbrun.nbgrader_env(), text=True, capture_output=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "graded 1, failed 0" in result.stdout, result.stdout

    (toy_course / "submitted" / "b" / ASSIGNMENT).mkdir(parents=True)
    (toy_course / "submitted" / "b" / ASSIGNMENT / NOTEBOOK).write_text("{ not json")
    result = subprocess.run(command, env=nbrun.nbgrader_env(), text=True, capture_output=True)
    assert result.returncode == 1, f"a student not graded must fail the command: {result.returncode}"
    assert "graded 1, failed 1" in result.stdout, result.stdout


# --------------------------------------------------------------------------- bad submissions

# Each bad submission is a student of one class, graded in one run with two workers beside two
# honest students: one graded before (whose rows must not change) and one graded with them.
BROKEN_FILES = {"empty-file": b"", "not-json": b"{ this is not json", "not-a-notebook": b'{"cells": 3}'}
RUNAWAY_CELLS = {  # answer -> graded (True), not graded (False), either (None)
    "endless-loop": ("while True:\n    pass", True),
    "sys-exit": ("import sys\nsys.exit()", True),
    "huge-allocation": ("x = bytearray(40 * 2**30)", True),
    "memory-bomb": ("chunks = []\nwhile True:\n    chunks.append(bytearray(2**26))", True),
    "os-exit": ("import os\nos._exit(1)", False),
    "kernel-crash": ("import ctypes\nctypes.string_at(0)", False),
    # 300 MB of output: graded with the output cut, or given up on if it takes longer
    # than the cell timeout to arrive; either way the class goes on.
    "huge-output": ("print('x' * 300_000_000)", None),
}


@pytest.fixture(scope="module")
def bad_class(tmp_path_factory):
    """The toy class with every bad submission: (outcomes by student, cells before, cells after)."""
    from toycourse import make_toy_course

    course = make_toy_course(tmp_path_factory.mktemp("bad-class"))
    # A short per-cell timeout keeps this quick; the course's own is in nbgrader_config.py.
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.Execute.timeout = 5\n")
    submit_answer(course, "early", "x = 1")
    classgrade.autograde_class(course, workers=1)
    before = gradebook_cells(course)
    for name, content in BROKEN_FILES.items():
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(content)
    for name, (answer, _) in RUNAWAY_CELLS.items():
        submit_answer(course, name, answer)
    submit_answer(course, "late", "x = 1")
    outcomes = {o.student: o for o in classgrade.autograde_class(course, workers=2)}
    return outcomes, before, gradebook_cells(course)


@pytest.mark.slow
def test_bad_submissions_never_stop_the_class(bad_class):
    outcomes, before, cells = bad_class
    assert outcomes["late"].ok and outcomes["early"].ok, "the rest of the class must be graded"
    assert {k: cells[k] for k in before} == before, "other students' rows changed"
    assert cells[("late", "test_x")] == 1.0 and cells[("late", "test_y")] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("student", list(BROKEN_FILES))
def test_a_broken_notebook_fails_alone_with_one_line(bad_class, student):
    outcomes, _, cells = bad_class
    assert not outcomes[student].ok
    message = outcomes[student].message
    assert "\n" not in message and message, f"expected one line for the broken notebook, got {message!r}"
    assert NOTEBOOK in message, f"the line should name the notebook: {message!r}"
    assert not [score for (who, _), score in cells.items() if who == student and score]


@pytest.mark.slow
@pytest.mark.parametrize("student", list(RUNAWAY_CELLS))
def test_a_runaway_cell_costs_only_its_own_step_or_is_not_graded_in_one_line(bad_class, student):
    outcomes, _, cells = bad_class
    runaway, graded = outcomes[student], RUNAWAY_CELLS[student][1]
    if graded is None:
        # 300 MB of output: either outcome is right (it depends on how fast they arrive), but
        # each must be the whole story: graded with the output cut, or not graded because
        # the output outlasted the cell's time limit, with that reason.
        graded = runaway.ok
        if not graded:
            assert "Execute.timeout" in runaway.message, f"not graded for another reason: {runaway.message}"
    if graded:
        assert runaway.ok, runaway.message
        assert cells[(student, "test_x")] == 0.0, "the runaway step must lose its points"
        assert cells[(student, "test_y")] == 1.0, "the other steps of the notebook must still be graded"
    else:
        assert not runaway.ok
        message = runaway.message
        assert message and "\n" not in message and "not graded" in message, message
        earned = [score for (who, _), score in cells.items() if who == student and score]
        assert not earned, f"a submission nbgrader could not grade must earn nothing, found {earned}"


@pytest.mark.slow
def test_edited_and_deleted_test_cells_are_graded_with_the_instructors_tests(toy_course):
    release = notebooks.read_notebook(toy_course / "release" / ASSIGNMENT / NOTEBOOK)
    edited = notebooks.fill_release(release, {"answer": "x = 5", "answer_y": "y = 2"})
    edited.cells[1].source = '"""x is 1."""\npass  # no more test'
    pipeline.submit(toy_course, "edited", edited)
    deleted = notebooks.fill_release(release, {"answer": "x = 5", "answer_y": "y = 2"})
    del deleted.cells[1]
    pipeline.submit(toy_course, "deleted", deleted)

    outcomes = classgrade.autograde_class(toy_course, workers=2)

    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    cells = gradebook_cells(toy_course)
    for student in ("edited", "deleted"):
        assert cells[(student, "test_x")] == 0.0, f"{student}: the instructor's test_x must grade x = 5 as wrong"
        assert cells[(student, "test_y")] == 1.0, f"{student}: test_y must still pass"


