"""Grading a whole class: parallel nbgrader processes, the SQLite gradebook under
concurrent writers, a Dask scheduler, and bad submissions that must not stop the class.

The slow tests use a toy course with the same assignment name and a one-line
notebook, so that they measure the fan-out and the gradebook, not TensorFlow.
The fast ones pin down the worker rule and how a grading process outlives, or
rather does not outlive, the worker that started it (tests/test_cluster.py
does the same with real Dask processes).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from toycourse import NOTEBOOK, gradebook_cells, gradebook_rows, submit_answer

from cnnviz import ASSIGNMENT, CourseError, settings
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


@pytest.mark.slow
def test_missing_grades_only_students_without_a_grading_of_their_current_submission(toy_course):
    for student in ("a", "b", "c"):
        submit_answer(toy_course, student, "x = 1")
    classgrade.autograde_class(toy_course, workers=2, students=["a", "b"])
    submit_answer(toy_course, "b", "x = 2")  # b submits again after being graded

    outcomes = classgrade.autograde_class(toy_course, workers=2, missing=True)

    assert sorted(o.student for o in outcomes) == ["b", "c"]
    assert gradebook_rows(toy_course) == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert classgrade.missing_students(toy_course) == []
    assert classgrade.autograde_class(toy_course, workers=2, missing=True) == [], "nothing left to grade"


@pytest.mark.slow
def test_a_new_sqlite_gradebook_gets_the_assignment_before_grading(toy_course):
    (toy_course / "gradebook.db").unlink()
    submit_answer(toy_course, "a", "x = 1")
    outcomes = classgrade.autograde_class(toy_course, workers=1)
    assert [o.ok for o in outcomes] == [True], [o.message for o in outcomes]
    assert gradebook_rows(toy_course) == {"a": 1.0}


@pytest.mark.slow
def test_every_attempt_holds_the_students_lock_and_is_journaled(toy_course):
    for student in ("a", "b"):
        submit_answer(toy_course, student, "x = 1")
    classgrade.autograde_class(toy_course, workers=2)
    # Another grader holds a's lock: a is not graded twice at once, and says why after the wait.
    with classgrade.student_lock(toy_course, "a", None):
        outcome = classgrade.grade_student(str(toy_course), "a", wait=1.0)
    assert not outcome.ok and "still held" in outcome.message, outcome.message
    journal = classgrade.read_journal(toy_course)
    assert sorted(r["student"] for r in journal) == ["a", "b"], "the refused attempt must not be journaled"
    for record in journal:
        assert record["ok"] and record["ended"] >= record["started"] and record["nbgrader_pid"], record


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


@pytest.mark.parametrize("cores, free_mib, workers", [
    (2, 24000, 2),   # this machine: cores decide
    (16, 4000, 3),   # memory decides: 4000 // 1200
    (8, 500, 1),     # never fewer than one
])
def test_the_default_number_of_workers_is_cores_capped_by_memory(monkeypatch, cores, free_mib, workers):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(classgrade, "_available_memory_bytes", lambda: free_mib * 2**20)
    assert settings.MEMORY_PER_WORKER_MB == 1200
    assert classgrade.default_workers() == workers


def _exit_time(pid, timeout):
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return time.time()
    try:
        return time.time() if select.select([handle], [], [], timeout)[0] else None
    finally:
        os.close(handle)


def test_a_grading_process_leads_its_own_session_holds_the_lock_and_dies_with_its_worker(tmp_path):
    # A stand-in worker takes the student's lock and starts a long "nbgrader" the way
    # grade_student does (nbrun.run); then it is SIGKILLed, as a dying Dask worker would be.
    worker_code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from cnnviz import settings
        settings.skip_unused_slow_modules()  # as `python -m cnnviz` does: a quicker start
        from cnnviz.course import classgrade, nbrun
        with classgrade.student_lock(Path({str(tmp_path)!r}), "ana", None) as fd:
            nbrun.run(["-c", "import time; time.sleep(60)"], {str(tmp_path)!r}, None, fd,
                      lambda pid: print(pid, flush=True))
    """)
    worker = subprocess.Popen([sys.executable, "-c", worker_code], stdout=subprocess.PIPE, text=True)
    grader = int(worker.stdout.readline())
    try:
        time.sleep(0.5)  # the grader is past its launcher
        assert os.getsid(grader) == grader, "the grading process must lead its own session"
        with pytest.raises(TimeoutError, match="still held"):
            with classgrade.student_lock(tmp_path, "ana", None, wait=0.5):
                pass

        killed = time.time()
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        died = _exit_time(grader, timeout=10)
        assert died is not None, "the grading process outlived its worker"
        assert died - killed < 5
        with classgrade.student_lock(tmp_path, "ana", None, wait=5):
            pass  # free again, once the grading process is gone
    finally:
        worker.kill()
        try:
            os.kill(grader, signal.SIGKILL)
        except ProcessLookupError:
            pass



@pytest.mark.slow
def test_a_linked_notebook_is_refused_without_showing_what_it_points_at(toy_course, tmp_path):
    secret = tmp_path / "not-the-students.ipynb"
    secret.write_text("SECRET-" + "x" * 200)  # not a notebook: its text would end up in the line
    folder = toy_course / "submitted" / "linker" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").symlink_to(secret)
    [outcome] = classgrade.autograde_class(toy_course, workers=1, students=["linker"], quiet=True)
    assert not outcome.ok and "symbolic link" in outcome.message, outcome.message
    assert "SECRET" not in outcome.message
    assert not any("SECRET" in json.dumps(r) for r in classgrade.read_journal(toy_course))
