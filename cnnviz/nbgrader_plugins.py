"""The course's additions to nbgrader's preprocessors, named in ``nbgrader_config.py``.

Kept apart from ``cnnviz.grading`` so that only nbgrader itself imports nbgrader's
machinery; the course's commands stay quick to start.
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Enum

from . import guard, jail


class ShortTracebacks(NbGraderPreprocessor):
    """Feedback shows each error as one line, ``Name: message``.

    IPython's tracebacks quote the lines of the failing cell, which in a test
    cell are the hidden tests' code; the message alone says what is wrong and
    where to look.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


class JailedExecute(Execute):
    """nbgrader's Execute, with every kernel started in the grading jail (``cnnviz.jail``).

    nbgrader's ``Execute.__init__`` fixes ``kernel_manager_class`` before any
    configuration is read, so the jail is chosen here, in code. Its limits are
    ``c.JailedKernelManager.*`` in ``nbgrader_config.py``. The kernel is killed
    as soon as the last cell has run: a polite shutdown only costs time, and the
    jail's cgroup is emptied and removed either way.
    """

    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="How the kernel is stopped after the last cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", jail.kernel_manager_class())
        super().__init__(*args, **kwargs)


class TamperScan(NbGraderPreprocessor):
    """Zero automatic points for a submission whose own cells change the grading environment.

    Runs after execution, before the grades are saved: every graded cell of a
    flagged notebook gets an error output with ``cnnviz.guard``'s message, so
    nbgrader scores it 0 and the feedback says why; an instructor can still
    give points by hand in the formgrader.
    """

    def preprocess(self, nb, resources):
        code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        by_student = [not (cell.metadata.get("nbgrader", {}).get("locked")
                           or cell.metadata.get("nbgrader", {}).get("grade")) for cell in code_cells]
        findings = guard.find_tampering([cell.source for cell in code_cells], by_student)
        if findings:
            text = guard.message(findings)
            self.log.warning("Submission changes the grading environment: %s", findings[0].describe())
            for cell in code_cells:
                if cell.metadata.get("nbgrader", {}).get("grade"):
                    cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                        "error", ename="GradingEnvironmentChanged", evalue=text,
                        traceback=[f"GradingEnvironmentChanged: {text}"]))
        return nb, resources
