"""JailedExecute (cnnviz/grading/jailed_execute.py): nbgrader's Execute with its kernel in the jail."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from cnnviz.grading import jail
from cnnviz.grading.jailed_execute import JailedExecute, pop_timings


def test_the_kernel_manager_is_the_jails_and_the_kernel_is_killed_at_the_end():
    execute = JailedExecute()
    assert execute.kernel_manager_class is jail.kernel_manager_class()
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
