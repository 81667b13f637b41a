"""ShortTracebacks, an nbgrader preprocessor of the feedback (``c.GenerateFeedback.preprocessors``)."""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz import checks


class ShortTracebacks(NbGraderPreprocessor):
    """Feedback shows each error as its message alone, ``Name: message``, wrapped to the page.

    IPython's tracebacks quote the lines of the failing cell, which in a test
    cell are the hidden tests' code; the message alone says what is wrong and
    where to look.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = checks.screen_lines(str(output.get("evalue")),
                                                          prefix=f"{output.get('ename')}: ")
        return cell, resources
