"""InertOutputs (cnnviz.grading.inert_outputs) on a student's answer cell: each MIME type made inert.

What must go: scripts, event handlers, ``javascript:`` links, forms, frames,
SVG and HTML documents, styles, unknown MIME types, escape sequences. What
must stay: text, tables, formulas, Korean, PNG figures.
"""

import base64

import pytest
from nbformat.v4 import new_output

from cnnviz.grading.inert_outputs import InertOutputs
from nbcells import nbgrader_cell
from studentcontent import DANGER, SCRIPT, display, png_base64


def inert_outputs(*outputs) -> list:
    """The outputs of a student's answer cell that showed ``outputs``, once InertOutputs has run on it."""
    cell = nbgrader_cell("answer", "dense_model", "x = 1", outputs=outputs)
    cell, _ = InertOutputs().preprocess_cell(cell, {}, 0)
    return cell.outputs


def test_html_output_keeps_its_table_and_korean_and_loses_every_script():
    html = ("<table><thead><tr><th>층</th></tr></thead><tbody><tr><td>합성곱</td></tr></tbody></table>"
            f"{SCRIPT}<img src=x onerror=alert(1)><a href='javascript:alert(1)'>링크</a>"
            "<iframe src='/api/contents'></iframe><form action='/api/contents'><input></form>"
            "<div style='position:fixed;top:0;left:0;width:100%;height:100%'>덮개</div>"
            "<svg onload=alert(1)><foreignObject><script>x</script></foreignObject></svg>"
            "<div class='modal-backdrop'>배경</div><a href='https://keras.io'>keras</a>")
    out = inert_outputs(display({"text/html": html, "text/plain": "<table>"}))[0]
    cleaned = out.data["text/html"]
    assert not DANGER.search(cleaned), cleaned
    assert "<table>" in cleaned and "<th>층</th>" in cleaned and "<td>합성곱</td>" in cleaned
    assert '<a href="https://keras.io">keras</a>' in cleaned, "an ordinary link stays"
    assert "modal" not in cleaned, "a class that lays a box over the page is dropped"
    assert "덮개" in cleaned and "링크" in cleaned, "the text of removed markup stays readable"


@pytest.mark.parametrize("mime", ["application/javascript", "text/javascript", "image/svg+xml",
                                  "application/vnd.jupyter.widget-view+json", "application/pdf",
                                  "application/x-cnnviz-unknown", "text/vnd.cnnviz+html"])
def test_script_carrying_and_unknown_types_are_removed_and_the_removal_is_said(mime):
    value = {"model_id": "1", "version_major": 2} if mime.endswith("+json") else f"{SCRIPT}<svg onload=x>"
    out = inert_outputs(display({mime: value}))[0]
    assert list(out.data) == ["text/plain"], out.data
    assert "output removed" in out.data["text/plain"] and mime in out.data["text/plain"]


def test_markdown_and_latex_outputs_become_clean_html_formulas_included():
    bundle = {"text/markdown": f"**굵게** [x](javascript:alert(1)) {SCRIPT}", "text/plain": "md"}
    markdown = inert_outputs(display(bundle))[0].data
    assert "text/markdown" not in markdown and not DANGER.search(markdown["text/html"])
    assert "<strong>굵게</strong>" in markdown["text/html"]
    latex = inert_outputs(display({"text/latex": r"$\sqrt{x_i} \href{javascript:alert(1)}{y}$"}))
    html = latex[0].data.get("text/html", "")
    assert "javascript" not in html and "<msqrt>" in html, latex[0].data


def test_png_figures_stay_and_fake_images_cannot_leave_their_img_tag():
    png = png_base64()
    breakout = 'iVBORw0KGgo" onerror="alert(1)'
    jpeg_lie = base64.b64encode(b"<svg onload=alert(1)>").decode()
    outputs = inert_outputs(display({"image/png": png, "text/plain": "<Figure>"},
                                    metadata={"image/png": {"width": 300, "height": "1 onload=alert(1)"},
                                              "filenames": {"image/png": "javascript:alert(1)"}}),
                            display({"image/png": breakout}), display({"image/jpeg": jpeg_lie}))
    assert outputs[0].data["image/png"] == png and outputs[0].metadata == {"image/png": {"width": 300}}
    assert "image/png" not in outputs[1].data and "image/jpeg" not in outputs[2].data


def test_streams_and_execute_results_keep_text_without_terminal_escapes():
    stream, result = inert_outputs(
        new_output("stream", name="stdout", text="평균\x1b]0;title\x07 \x1b[2J0.01\x1b[31m!\x1b[0m\n"),
        display({"text/plain": "'\x1b]8;;http://x\x1b\\link'"}, kind="execute_result"))
    assert stream.text == "평균 0.01\x1b[31m!\x1b[0m\n", "colours stay (nbconvert draws them), other escapes go"
    assert result.data["text/plain"] == "'link'" and result.execution_count == 3


def test_error_names_values_and_tracebacks_are_plain_text():
    (error,) = inert_outputs(new_output("error", ename="<img src=x onerror=alert(1)>Error",
                                        evalue="bad\x1b]0;t\x07 값",
                                        traceback=["\x1b[31mTraceback\x1b[0m", "\x1b[2K<script>x</script>"]))
    assert error.ename == "imgsrcxonerroralert1Error" and error.evalue == "bad 값"
    assert error.traceback == ["\x1b[31mTraceback\x1b[0m", "<script>x</script>"], \
        "tracebacks are text (nbconvert escapes them); only the escape sequences go"

