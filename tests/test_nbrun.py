"""Running nbgrader and Python children (cnnviz/course/nbrun.py): environment, output, failures."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest

from cnnviz import COURSE_ROOT, CourseError
from cnnviz.course import nbrun


def test_children_import_this_checkout_and_draw_without_a_display():
    env = nbrun.nbgrader_env()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(COURSE_ROOT)
    result = nbrun.run(["-c", "import cnnviz, matplotlib; print(cnnviz.__file__); print(matplotlib.get_backend())"])
    printed = result.stdout.split()
    assert printed[0].startswith(str(COURSE_ROOT)), "a child must import the checkout that started it"
    assert "agg" in printed[1].lower() or "inline" in printed[1].lower(), printed[1]


def test_run_returns_the_exit_status_and_both_streams_together(tmp_path):
    result = nbrun.run(["-c", "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(3)"],
                       tmp_path)
    assert result.returncode == 3
    assert "to stdout" in result.stdout and "to stderr" in result.stdout


def test_a_child_dies_with_the_thread_that_started_it(tmp_path):
    started = []

    def start_and_wait_until_it_runs():
        child = nbrun.start(["-c", "import time; print('up', flush=True); time.sleep(60)"], tmp_path,
                            stdout=subprocess.PIPE, text=True)
        started.append(child)
        child.stdout.readline()  # its death signal is set before its code runs

    thread = threading.Thread(target=start_and_wait_until_it_runs)
    thread.start()
    thread.join()
    try:
        assert started[0].wait(timeout=15) == -9, "PR_SET_PDEATHSIG: the child outlived its thread"
    finally:
        nbrun.forget(started[0])


def test_a_failing_nbgrader_is_one_course_error_naming_the_command(tmp_path):
    with pytest.raises(CourseError, match="`nbgrader autograde no-such-assignment` failed in") as caught:
        nbrun.run_nbgrader("autograde", "no-such-assignment", root=tmp_path, quiet=True)
    assert "Traceback" not in str(caught.value)
