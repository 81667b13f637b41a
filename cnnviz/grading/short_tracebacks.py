"""ShortTracebacks, an nbgrader preprocessor of the feedback (``c.GenerateFeedback.preprocessors``)."""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz import message_layout


class ShortTracebacks(NbGraderPreprocessor):
    """Feedback shows each error as its message alone, ``Name: message``, wrapped to the page.

    IPython's tracebacks quote the lines of the failing cell, which in a test
    cell are the hidden tests' code; the message alone says what is wrong and
    where to look.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            # A graded cell's outputs are the grader's own (cnnviz.grading.trusted.TrustedChecks), laid
            # out already from the message's (Korean, English) pair.
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # Raised by the notebook's kernel: its message arrives as text.
                output["traceback"] = message_layout.text_screen_lines(str(output.get("evalue")),
                                                                       prefix=f"{output.get('ename')}: ")
        return cell, resources
