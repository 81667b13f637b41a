"""The course's additions to nbgrader's preprocessors, named in ``nbgrader_config.py``.

Kept apart from ``cnnviz.grading`` so that only nbgrader itself imports nbgrader's
machinery; the course's commands stay quick to start.
"""

from __future__ import annotations

import os

import nbformat
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from . import CourseError, guard, sandbox


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


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel started in the bubblewrap sandbox (``cnnviz.sandbox``).

    ``CNNVIZ_SANDBOX=0`` turns the sandbox off, for machines without bubblewrap.
    """

    def preprocess(self, nb, resources=None, km=None):
        if os.environ.get("CNNVIZ_SANDBOX", "1") != "0":
            if not sandbox.available():
                raise CourseError("autograding needs bubblewrap (apt-get install bubblewrap), "
                                  "or set CNNVIZ_SANDBOX=0 to grade without the sandbox")
            os.environ["JUPYTER_PATH"] = os.pathsep.join(
                filter(None, [str(sandbox.KERNELSPEC_PARENT), os.environ.get("JUPYTER_PATH")]))
            self.kernel_name = sandbox.KERNEL_NAME
        return super().preprocess(nb, resources, km)


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
