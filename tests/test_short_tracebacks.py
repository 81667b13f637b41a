"""ShortTracebacks (cnnviz/nbgrader_plugins.py) on an in-memory notebook."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from cnnviz.nbgrader_plugins import ShortTracebacks

HIDDEN_LINE = "assert np.allclose(conv_weights, expected)  # a hidden test's code"


def failed_cell():
    cell = new_code_cell("lesson.check('test_x', globals())")
    cell.outputs = [
        new_output("stream", name="stdout", text="printed before the failure\n"),
        new_output("error", ename="AssertionError", evalue="[2단계] conv_weights의 모양이 다릅니다. / ...",
                   traceback=["Traceback (most recent call last)", f"----> 3 {HIDDEN_LINE}",
                              "AssertionError: [2단계] ..."]),
    ]
    return cell


def test_an_error_becomes_its_name_and_message_without_the_lines_it_quotes():
    nb, _ = ShortTracebacks().preprocess(new_notebook(cells=[failed_cell()]), {})
    error = nb.cells[0].outputs[1]
    assert error.traceback == [f"AssertionError: {error.evalue}"]
    assert not any(HIDDEN_LINE in line for line in error.traceback)


def test_other_outputs_and_cells_without_errors_are_left_as_they_are():
    quiet = new_code_cell("x = 1")
    quiet.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb, _ = ShortTracebacks().preprocess(new_notebook(cells=[quiet, failed_cell()]), {})
    assert nb.cells[0].outputs == [new_output("stream", name="stdout", text="1\n")]
    assert nb.cells[1].outputs[0].text == "printed before the failure\n"
