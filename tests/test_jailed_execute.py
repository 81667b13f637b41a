"""JailedExecute (cnnviz/grading/jailed_execute.py): nbgrader's Execute with its kernel in the jail.

It reports why nbclient gave up on a notebook as a record, by the exception's type.
nbclient itself is replaced here by its two steps (the kernel's first reply, then
each cell), so that each way of failing can be made without a kernel; the slow
tests of tests/test_classgrade.py grade real runaway submissions.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.preprocessors import Execute

from cnnviz.grading import failures, jailed_kernel_manager
from cnnviz.grading.jailed_execute import JailedExecute, pop_timings
from nbcells import nbgrader_cell


def test_the_kernel_manager_is_the_jails_and_the_kernel_is_killed_at_the_end():
    execute = JailedExecute()
    assert execute.kernel_manager_class is jailed_kernel_manager.kernel_manager_class()
    assert execute.shutdown_kernel == "immediate", "a polite shutdown only costs time: the cgroup goes anyway"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")
def test_an_execution_runs_jailed_and_hands_its_timings_over_once(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(os.getuid(), os.getpid())")])
    pop_timings()
    JailedExecute(timeout=120).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    uid, pid = map(int, nb.cells[0].outputs[0]["text"].split())
    assert uid != 0 and pid < 10, "the cell ran outside a jail of its own"
    timings = pop_timings()
    assert timings["kernel_kind"] in {"template", "jail"}, timings
    assert 0 < timings["kernel_launch"] <= timings["execute"] and 0 < timings["kernel_ready"] <= timings["execute"]
    assert pop_timings() == {}, "the timings are handed over once"


@pytest.fixture
def execute(monkeypatch):
    """Run a JailedExecute whose kernel answers (or not) and whose cell "boom" raises ``error``."""
    def run(error, kernel_answers=True):
        def start_new_kernel_client(self):
            if not kernel_answers:
                raise error
            return object()

        def preprocess(self, nb, resources=None, km=None):
            self.start_new_kernel_client()
            for index, cell in enumerate(nb.cells):
                self.preprocess_cell(cell, resources, index)
            return nb, resources

        def preprocess_cell(self, cell, resources, index):
            if cell.source == "boom":
                raise error
            return cell, resources

        monkeypatch.setattr(Execute, "start_new_kernel_client", start_new_kernel_client)
        monkeypatch.setattr(Execute, "preprocess", preprocess)
        monkeypatch.setattr(Execute, "preprocess_cell", preprocess_cell)
        nb = new_notebook(cells=[new_code_cell("x = 1"), nbgrader_cell("test", "test_x", "boom")])
        failures.pop_reported()
        with pytest.raises(type(error)):
            JailedExecute().preprocess(nb, {"nbgrader": {"student": "kim"}})
        return failures.pop_reported()
    return run


def test_a_kernel_that_dies_in_a_cell_is_reported_with_that_cell(execute):
    [failure] = execute(DeadKernelError("Kernel died"))
    assert failure == failures.Failure(failures.KERNEL_DIED, "kim", "test_x", failures.KERNEL_DIED_REASON)
    assert not failure.retry


def test_a_cell_timeout_is_reported_with_its_cell(execute):
    [failure] = execute(CellTimeoutError("no reply"))
    assert (failure.kind, failure.cell) == (failures.TIMEOUT, "test_x") and "Execute.timeout" in failure.reason


@pytest.mark.parametrize("error", [RuntimeError("Kernel died before replying to kernel_info"),
                                   RuntimeError("Kernel didn't respond in 180 seconds")])
def test_a_kernel_that_never_answers_is_reported_whatever_its_words_and_is_tried_again(execute, error):
    [failure] = execute(error, kernel_answers=False)
    assert (failure.kind, failure.student, failure.cell) == (failures.KERNEL_NEVER_ANSWERED, "kim", "")
    assert failure.retry


def test_a_kernel_that_never_started_is_left_to_nbgrader_with_its_own_reason(monkeypatch):
    # The jail could not start it: no first request was sent, and no retry would help.
    def start_new_kernel(self, **kwargs):
        raise RuntimeError("bwrap: cannot create the namespace")

    monkeypatch.setattr(Execute, "start_new_kernel", start_new_kernel, raising=False)

    def preprocess(self, nb, resources=None, km=None):
        self.start_new_kernel()
        self.start_new_kernel_client()

    monkeypatch.setattr(Execute, "preprocess", preprocess)
    failures.pop_reported()
    with pytest.raises(RuntimeError):
        JailedExecute().preprocess(new_notebook(), {"nbgrader": {"student": "kim"}})
    assert failures.pop_reported() == []


def test_any_other_error_is_left_to_nbgrader(execute):
    assert execute(ValueError("nbgrader's own")) == []
    assert execute(RuntimeError("after the first reply")) == []
