"""The warm grader process (cnnviz/grading/gradeworker.py): one per worker thread, student after student.

The slow tests grade the toy course (tests/toycourse.py: the real nbgrader_config.py,
jailed kernels, a two-step notebook without TensorFlow): the same scores as one
nbgrader process per student, a grader killed mid-student, the lock it holds, an
interrupt. The Dask path with a killed worker is tests/test_cluster.py's.
"""

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from toycourse import gradebook_cells, submit_answer

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import classgrade, grade_attempt, grade_journal, nbrun, student_locks
from cnnviz.grading import cgroups, gradeworker, jail

ANSWERS = {"right": "x = 1", "wrong": "x = 3", "broken": "x = 1/0", "blank": "pass"}
SLEEPY = "import time\ntime.sleep({seconds})\nx = 1"


def _gone(pids, timeout=15.0):
    """The processes of ``pids`` still alive after ``timeout`` seconds (zombies count as gone)."""
    processes = []
    for pid in pids:
        try:
            processes.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _left_by(pids) -> list[str]:
    """The kernel and template folders and cgroups named after the grader processes ``pids``."""
    owners = {str(pid) for pid in pids}
    places = [f for f in jail.folder_base().glob("cnnviz-jail-*-*") if f.name.split("-")[2] in owners]
    plan = cgroups.find_cgroups()
    for parent in set(plan.parents.values()) if plan else ():
        places += [f for f in parent.iterdir() if f.is_dir() and f.name.split("-", 1)[0] in owners]
    return sorted(map(str, places))


def _wait_for_record(course, student, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in grade_journal.read_journal(course):
            if record["student"] == student and "nbgrader_pid" in record and "ended" not in record:
                return record
        time.sleep(0.05)
    pytest.fail(f"{student}'s grading never started; journal: {grade_journal.read_journal(course)}")


def test_a_grader_grades_only_a_submitted_student_it_is_asked_for_and_stops_when_told(tmp_path):
    (tmp_path / "submitted").mkdir()
    grader, seconds = gradeworker.grader_for(str(tmp_path), None, nbrun.nbgrader_env())
    try:
        assert seconds is not None and grader.alive()
        again, seconds = gradeworker.grader_for(str(tmp_path), None, nbrun.nbgrader_env())
        assert again is grader and seconds is None, "the same thread and course must keep its warm grader"
        for name in ("../../etc", "nobody", ".hidden", ""):
            reply = grader.grade(name, None)
            assert not reply.ok and "no submission" in reply.reason and "\n" not in reply.reason, reply
        assert grader.alive(), "a bad request must not end the grader"
    finally:
        gradeworker.stop_all()
    assert not grader.alive() and grader.process.returncode == 0, "an idle grader exits when its socket closes"


@pytest.mark.slow
def test_a_warm_grader_grades_students_in_a_row_with_the_scores_of_one_process_per_student(toy_course, tmp_path):
    for student, answer in ANSWERS.items():
        submit_answer(toy_course, student, answer)
    old_way = tmp_path / "old-way"
    shutil.copytree(toy_course, old_way)

    warm = classgrade.autograde_class(toy_course, workers=1, quiet=True)
    per_student = classgrade.autograde_class(old_way, workers=1, quiet=True, one_process_per_student=True)

    assert [o.ok for o in warm] == [True] * len(ANSWERS), [o.message for o in warm]
    assert [o.ok for o in per_student] == [True] * len(ANSWERS), [o.message for o in per_student]
    assert gradebook_cells(toy_course) == gradebook_cells(old_way), "warm and per-student scores differ"
    journal = grade_journal.read_journal(toy_course)
    pids = {r["nbgrader_pid"] for r in journal}
    assert len(pids) == 1 and {r["grader"] for r in journal} == {"warm"}, "one warm process for the one worker"
    assert [("grader_start" in r["phases"]) for r in journal] == [True] + [False] * (len(ANSWERS) - 1), \
        "only the first student pays for starting the grader"
    assert all(r["phases"]["nbgrader"] > 0 and "lock_wait" in r["phases"] for r in journal), journal
    assert len({r["nbgrader_pid"] for r in grade_journal.read_journal(old_way)}) == len(ANSWERS)
    assert not _gone(pids, timeout=5), "the warm grader outlived the class run"


@pytest.mark.slow
def test_at_the_end_of_a_run_each_warm_grader_closes_its_own_kernel_template(toy_course, monkeypatch):
    # Only the graders may clean up here. A worker thread that ends first kills its grader
    # (PR_SET_PDEATHSIG) before the grader could close its template.
    monkeypatch.setattr(jail, "remove_leftovers", lambda *args: None)
    for k in range(4):
        submit_answer(toy_course, f"s{k}", "x = 1")
    outcomes = classgrade.autograde_class(toy_course, workers=2, quiet=True)
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    journal = grade_journal.read_journal(toy_course)
    assert {r["phases"]["kernel_kind"] for r in journal} == {"template"}, journal
    pids = {r["nbgrader_pid"] for r in journal}
    assert not _gone(pids, timeout=5), "a warm grader outlived the class run"
    assert _left_by(pids) == [], "a warm grader exited without closing its kernel template"


@pytest.mark.slow
def test_a_grader_killed_mid_student_fails_that_student_alone_and_the_next_gets_a_new_one(toy_course):
    submit_answer(toy_course, "victim", SLEEPY.format(seconds=60))
    submit_answer(toy_course, "next", "x = 1")
    root = str(toy_course)
    with ThreadPoolExecutor(max_workers=1) as worker:  # one thread: its warm grader is reused
        assert worker.submit(grade_attempt.grade_student, root, "next").result().ok
        victim = worker.submit(grade_attempt.grade_student, root, "victim")
        record = _wait_for_record(toy_course, "victim")
        grader = psutil.Process(record["nbgrader_pid"])
        deadline = time.monotonic() + 60
        while not grader.children(recursive=True) and time.monotonic() < deadline:
            time.sleep(0.1)  # its kernel is up: the student is mid-run
        kernels = grader.children(recursive=True)
        time.sleep(1.0)
        grader.kill()
        outcome = victim.result(timeout=60)
        assert not outcome.ok and "\n" not in outcome.message, outcome
        assert "grader process" in outcome.message and "not graded" in outcome.message, outcome.message
        assert not _gone([k.pid for k in kernels]), "the killed grader's kernel outlived it"
        assert _left_by([grader.pid]) == [], "the killed grader's template and kernel folders or cgroups were left"
        with student_locks.student_lock(toy_course, "victim", None, wait=2.0):
            pass  # released with the grader
        after = worker.submit(grade_attempt.grade_student, root, "next").result()
        assert after.ok, after.message
    records = {r["student"]: r for r in grade_journal.read_journal(toy_course) if "ended" in r}
    assert records["victim"]["ok"] is False and records["victim"]["message"] == outcome.message
    assert records["next"]["nbgrader_pid"] != record["nbgrader_pid"], "the next student needs a new grader"
    assert gradebook_cells(toy_course)[("next", "test_x")] == 1.0
    gradeworker.stop_all()


@pytest.mark.slow
def test_the_grader_holds_the_students_lock_while_grading_and_closes_it_when_done(toy_course):
    submit_answer(toy_course, "sleepy", SLEEPY.format(seconds=4))
    root = str(toy_course)
    with ThreadPoolExecutor(max_workers=1) as worker:
        first = worker.submit(grade_attempt.grade_student, root, "sleepy")
        record = _wait_for_record(toy_course, "sleepy")
        other = grade_attempt.grade_student(root, "sleepy", wait=1.0)  # another attempt, from this thread
        assert not other.ok and "still held" in other.message, other.message
        assert first.result(timeout=120).ok
        grader = psutil.Process(record["nbgrader_pid"])
        assert grader.is_running(), "the warm grader stays up between students"
        lock = toy_course / "autograded" / ".locks" / "sleepy.lock"
        holders = [f.path for f in grader.open_files()]
        assert str(lock) not in holders, "the grader kept the lock after the student was done"
        with student_locks.student_lock(toy_course, "sleepy", None, wait=1.0):
            pass
    gradeworker.stop_all()
    assert _gone([record["nbgrader_pid"]]) == []


@pytest.mark.slow
def test_an_interrupt_leaves_no_grader_or_kernel_behind(toy_course):
    for k in range(4):
        submit_answer(toy_course, f"s{k}", SLEEPY.format(seconds=60))
    command = [sys.executable, "-m", "cnnviz", "autograde", "--workers", "2", "--course-dir", str(toy_course)]
    client = subprocess.Popen(command, env=nbrun.nbgrader_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        graders = []
        while len(graders) < 2 and time.monotonic() < deadline:
            graders = [r["nbgrader_pid"] for r in grade_journal.read_journal(toy_course) if "nbgrader_pid" in r]
            time.sleep(0.1)
        assert len(graders) == 2, "two students never started grading"
        time.sleep(2.0)  # their kernels are starting or running
        tree = [p.pid for pid in graders for p in psutil.Process(pid).children(recursive=True)]
        client.send_signal(signal.SIGINT)
        client.communicate(timeout=60)
        assert not _gone(graders + tree), "a grader or its kernel outlived the interrupted class run"
        for k in range(4):
            with student_locks.student_lock(toy_course, f"s{k}", None, wait=1.0):
                pass
    finally:
        client.kill()
        client.wait()


def test_a_thread_that_dies_takes_its_warm_grader_with_it(tmp_path):
    (tmp_path / "submitted").mkdir()
    started = []
    thread = threading.Thread(target=lambda: started.append(
        gradeworker.grader_for(str(tmp_path), None, nbrun.nbgrader_env())[0]))
    thread.start()
    thread.join()
    grader = started[0]
    try:
        grader.process.wait(timeout=15)  # PR_SET_PDEATHSIG: the thread that started it is gone
    finally:
        gradeworker.stop_all()
    assert grader.process.returncode == -signal.SIGKILL, grader.process.returncode


@pytest.mark.parametrize("case", ["graded", "refused", "raised"])
def test_a_grading_answers_why_not_as_a_record(monkeypatch, case):
    """gradeworker._grade with nbgrader's converter replaced: the record, not the output's words, says why."""
    import types

    import nbgrader.converters
    from nbgrader.converters import NbGraderException

    from cnnviz.grading import failures

    refused = failures.Failure(failures.REFUSED, "kim", "", "submission not graded: because")

    class Converter:
        def __init__(self, **kwargs):
            pass

        def start(self):
            print("[AutogradeApp | ERROR] words nobody parses for a refusal")
            if case == "refused":
                failures.report(refused)
                raise NbGraderException("Please see the error log")
            if case == "raised":
                raise ValueError("the gradebook is gone")

    monkeypatch.setattr(nbgrader.converters, "Autograde", Converter)
    app = types.SimpleNamespace(coursedir=types.SimpleNamespace(assignment_id="", student_id=""))
    reply = gradeworker._grade(app, "kim", gradeworker._Output())
    expected = {"graded": None, "refused": refused,
                "raised": failures.Failure(failures.NBGRADER_ERROR, "kim", "", "ValueError: the gradebook is gone")}
    assert json.loads(json.dumps(reply))["failure"] == (expected[case].to_dict() if expected[case] else None)


@pytest.mark.slow
def test_each_worker_starts_its_grader_while_the_gradebook_is_checked(toy_course, monkeypatch):
    for k in range(3):
        submit_answer(toy_course, f"s{k}", "x = 1")
    seen = []
    check_gradebook = classgrade.ensure_gradebook

    def slow_check(root, db_url):
        deadline = time.monotonic() + 60
        while len(gradeworker._graders) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        seen.append(len(gradeworker._graders))
        check_gradebook(root, db_url)

    monkeypatch.setattr(classgrade, "ensure_gradebook", slow_check)
    outcomes = classgrade.autograde_class(toy_course, workers=2, quiet=True)
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert seen == [2], "the two workers' graders did not start before the gradebook check ended"
    journal = grade_journal.read_journal(toy_course)
    assert len({r["nbgrader_pid"] for r in journal}) == 2, "each worker grades with the grader it started"
    assert sum("grader_start" in r["phases"] for r in journal) == 2, \
        "each grader's start time belongs in the journal of its first student"


@pytest.mark.slow
def test_a_gradebook_that_cannot_be_opened_stops_the_graders_started_beside_its_check(toy_course, monkeypatch):
    submit_answer(toy_course, "s0", "x = 1")
    started = []

    def refuse(root, db_url):
        deadline = time.monotonic() + 60
        while not gradeworker._graders and time.monotonic() < deadline:
            time.sleep(0.1)
        started.extend(g.pid for g in list(gradeworker._graders))
        raise CourseError("cannot open the gradebook")

    monkeypatch.setattr(classgrade, "ensure_gradebook", refuse)
    with pytest.raises(CourseError, match="cannot open the gradebook"):
        classgrade.autograde_class(toy_course, workers=2, quiet=True)
    assert started, "no grader started beside the gradebook's check"
    assert not _gone(started, timeout=10), "a grader outlived the run its gradebook refused"
    assert grade_journal.read_journal(toy_course) == [], "nobody may be graded without a gradebook"
