"""ShortTracebacks (cnnviz/grading/short_tracebacks.py) on an in-memory notebook."""

import re

from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnviz.message_layout import SCREEN_COLUMNS, screen_columns
from cnnviz.grading.short_tracebacks import ShortTracebacks

HANGUL = re.compile("[\uac00-\ud7a3]")
HIDDEN_LINE = "assert np.allclose(conv_weights, expected)  # a hidden test's code"


def failed_cell():
    cell = new_code_cell("lesson.check('test_x', globals())")
    cell.outputs = [
        new_output("stream", name="stdout", text="printed before the failure\n"),
        new_output("error", ename="AssertionError",
                   evalue="[첫 번째 합성곱 층의 커널] `conv_weights` 배열의 모양이 층의 커널과 다릅니다. `conv.weights`의 "
                          "첫 번째 항목을 넘파이 배열로 바꿔 담았는지 확인하세요. / [the first layer's kernel] "
                          "conv_weights has another shape than the layer's kernel: check that it holds the first "
                          "item of conv.weights as a NumPy array.",
                   traceback=["Traceback (most recent call last)", f"----> 3 {HIDDEN_LINE}",
                              "AssertionError: [2단계] ..."]),
    ]
    return cell


def test_an_error_becomes_its_name_and_message_without_the_lines_it_quotes():
    nb, _ = ShortTracebacks().preprocess(new_notebook(cells=[failed_cell()]), {})
    error = nb.cells[0].outputs[1]
    assert not any(HIDDEN_LINE in line for line in error.traceback)
    # The message alone, wrapped: Korean lines, then English lines, none wider than a screen.
    ko, _, en = error.evalue.partition(" / ")
    assert error.traceback[0].startswith("AssertionError: [첫 번째")
    assert " ".join(error.traceback) == f"AssertionError: {ko} {en}"
    assert len(error.traceback) >= 4, error.traceback
    assert all(screen_columns(line) <= SCREEN_COLUMNS for line in error.traceback), error.traceback
    english_from = next(i for i, line in enumerate(error.traceback) if line.startswith("[the first"))
    assert all(HANGUL.search(line) for line in error.traceback[:english_from])
    assert not any(HANGUL.search(line) for line in error.traceback[english_from:])


def test_other_outputs_and_cells_without_errors_are_left_as_they_are():
    quiet = new_code_cell("x = 1")
    quiet.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb, _ = ShortTracebacks().preprocess(new_notebook(cells=[quiet, failed_cell()]), {})
    assert nb.cells[0].outputs == [new_output("stream", name="stdout", text="1\n")]
    assert nb.cells[1].outputs[0].text == "printed before the failure\n"


def test_a_graded_cell_keeps_the_graders_own_layout_of_its_message():
    # TrustedChecks laid it out from the pair, whose Korean half may hold " / " itself.
    cell = failed_cell()
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_x", "points": 1, "solution": False}
    laid_out = ["AssertionError: `a / b`가 틀렸습니다.", "a / b is wrong."]
    cell.outputs[1].traceback = list(laid_out)
    nb, _ = ShortTracebacks().preprocess(new_notebook(cells=[cell]), {})
    assert nb.cells[0].outputs[1].traceback == laid_out
