"""The sanitiser (cnnviz.grading.sanitize) on in-memory notebooks: each kind of student content made inert.

What must go: scripts, event handlers, ``javascript:`` links, forms, frames,
SVG and HTML documents, styles, unknown MIME types, escape sequences, foreign
metadata. What must stay: text, tables, formulas, Korean, PNG figures, the
verdicts TrustedChecks writes, nbgrader's metadata, every score.
"""

import base64
import io
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader import utils

from cnnviz import COURSE_ROOT
from cnnviz.grading import sanitize, trusted
from nbcells import nbgrader_cell

SCRIPT = "<script>document.title='PWNED'</script>"
DANGER = re.compile(r"<script|<iframe|<object|<embed|<form|<svg|<style|<img|<link|<meta|<base|\son\w+\s*=|"
                    r"javascript:|style\s*=|srcdoc|xlink:href", re.I)


def png_base64() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def display(data, metadata=None, kind="display_data"):
    if kind == "execute_result":
        return new_output("execute_result", data=data, metadata=metadata or {}, execution_count=3)
    return new_output("display_data", data=data, metadata=metadata or {})


def answer_with(*outputs):
    """The answer cell these tests show outputs in."""
    return nbgrader_cell("answer", "dense_model", "x = 1", outputs=outputs)


def run(*cells, metadata=None):
    nb = new_notebook(metadata=metadata or {})
    nb.cells.extend(cells)  # unvalidated, as a student's file may be
    nb, _ = sanitize.SanitizeSubmission().preprocess(nb, {})
    return nb


# --------------------------------------------------------------------------- outputs, by MIME type

def test_html_output_keeps_its_table_and_korean_and_loses_every_script():
    html = ("<table><thead><tr><th>층</th></tr></thead><tbody><tr><td>합성곱</td></tr></tbody></table>"
            f"{SCRIPT}<img src=x onerror=alert(1)><a href='javascript:alert(1)'>링크</a>"
            "<iframe src='/api/contents'></iframe><form action='/api/contents'><input></form>"
            "<div style='position:fixed;top:0;left:0;width:100%;height:100%'>덮개</div>"
            "<svg onload=alert(1)><foreignObject><script>x</script></foreignObject></svg>"
            "<div class='modal-backdrop'>배경</div><a href='https://keras.io'>keras</a>")
    out = run(answer_with(display({"text/html": html, "text/plain": "<table>"}))).cells[0].outputs[0]
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
    out = run(answer_with(display({mime: value}))).cells[0].outputs[0]
    assert list(out.data) == ["text/plain"], out.data
    assert "output removed" in out.data["text/plain"] and mime in out.data["text/plain"]


def test_markdown_and_latex_outputs_become_clean_html_formulas_included():
    bundle = {"text/markdown": f"**굵게** [x](javascript:alert(1)) {SCRIPT}", "text/plain": "md"}
    markdown = run(answer_with(display(bundle))).cells[0].outputs[0].data
    assert "text/markdown" not in markdown and not DANGER.search(markdown["text/html"])
    assert "<strong>굵게</strong>" in markdown["text/html"]
    latex = run(answer_with(display({"text/latex": r"$\sqrt{x_i} \href{javascript:alert(1)}{y}$"}))).cells[0]
    html = latex.outputs[0].data.get("text/html", "")
    assert "javascript" not in html and "<msqrt>" in html, latex.outputs[0].data


def test_png_figures_stay_and_fake_images_cannot_leave_their_img_tag():
    png = png_base64()
    breakout = 'iVBORw0KGgo" onerror="alert(1)'
    jpeg_lie = base64.b64encode(b"<svg onload=alert(1)>").decode()
    cell = answer_with(display({"image/png": png, "text/plain": "<Figure>"},
                               metadata={"image/png": {"width": 300, "height": "1 onload=alert(1)"},
                                         "filenames": {"image/png": "javascript:alert(1)"}}),
                       display({"image/png": breakout}), display({"image/jpeg": jpeg_lie}))
    outputs = run(cell).cells[0].outputs
    assert outputs[0].data["image/png"] == png and outputs[0].metadata == {"image/png": {"width": 300}}
    assert "image/png" not in outputs[1].data and "image/jpeg" not in outputs[2].data


def test_streams_and_execute_results_keep_text_without_terminal_escapes():
    cell = answer_with(new_output("stream", name="stdout", text="평균\x1b]0;title\x07 \x1b[2J0.01\x1b[31m!\x1b[0m\n"),
                       display({"text/plain": "'\x1b]8;;http://x\x1b\\link'"}, kind="execute_result"))
    stream, result = run(cell).cells[0].outputs
    assert stream.text == "평균 0.01\x1b[31m!\x1b[0m\n", "colours stay (nbconvert draws them), other escapes go"
    assert result.data["text/plain"] == "'link'" and result.execution_count == 3


# --------------------------------------------------------------------------- errors

def test_error_names_values_and_tracebacks_are_plain_text():
    cell = answer_with(new_output("error", ename="<img src=x onerror=alert(1)>Error", evalue="bad\x1b]0;t\x07 값",
                                  traceback=["\x1b[31mTraceback\x1b[0m", "\x1b[2K<script>x</script>"]))
    error = run(cell).cells[0].outputs[0]
    assert error.ename == "imgsrcxonerroralert1Error" and error.evalue == "bad 값"
    assert error.traceback == ["\x1b[31mTraceback\x1b[0m", "<script>x</script>"], \
        "tracebacks are text (nbconvert escapes them); only the escape sequences go"


def test_the_verdicts_trusted_checks_write_pass_unchanged():
    message = "`conv_weights`의 모양이 (3, 3, 1, 32)가 아닙니다 / the shape of `conv_weights` is wrong"
    verdict = trusted._error("AssertionError", message)
    cell = new_code_cell("lesson.check('test_conv_weights', globals())")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 5,
                                 "grade_id": "test_conv_weights", "schema_version": 3}
    cell.outputs = [verdict]
    kept = run(cell).cells[0]
    assert kept.outputs == [verdict]
    assert kept.metadata["nbgrader"] == cell.metadata["nbgrader"]


def test_no_score_changes_whatever_the_outputs():
    def grade_cell(outputs):
        return nbgrader_cell("test", "test_x", "check()", points=5, outputs=outputs)

    cases = [[], [trusted._error("AssertionError", "wrong")], [display({"text/plain": "2.5"}, kind="execute_result")],
             [display({"text/html": SCRIPT}), new_output("stream", name="stderr", text="warn")],
             [display({"application/javascript": "x"})]]
    for outputs in cases:
        before = utils.determine_grade(grade_cell([nbformat.from_dict(o) for o in outputs]), None)
        after = utils.determine_grade(run(grade_cell([nbformat.from_dict(o) for o in outputs])).cells[0], None)
        assert before == after, outputs


# --------------------------------------------------------------------------- markdown and raw cells

def test_a_markdown_cell_the_student_added_loses_html_links_and_attachments_but_keeps_its_text():
    cell = new_markdown_cell(f"## 제 답\n\n가중치는 **0** 근처입니다. {SCRIPT}\n\n"
                             "[보기](javascript:fetch('/api/contents')) <a href='JaVaScRiPt:alert(1)'>a</a>\n\n"
                             "<img src=x onerror=alert(1)> ![그림](attachment:x.png)\n\n<iframe srcdoc='<script>x</script>'>")
    cell.attachments = {"x.png": {"image/svg+xml": "<svg onload=alert(1)>"}}
    kept = run(cell).cells[0]
    assert "attachments" not in kept
    assert not DANGER.search(kept.source), kept.source
    assert "제 답" in kept.source and "<strong>0</strong>" in kept.source and "[그림]" in kept.source


def test_plain_markdown_stays_markdown_and_locked_instructor_cells_are_left_alone():
    plain = new_markdown_cell("가중치의 평균은 $\\mu$입니다.\n\n| 층 | 모양 |\n|---|---|\n| conv | (3, 3) |")
    locked = new_markdown_cell("<b>instructor's</b> text")
    locked.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True, "grade_id": "intro",
                                   "schema_version": 3}
    cells = run(plain, locked).cells
    assert cells[0].source == plain.source, "markdown with nothing to remove is not rewritten"
    assert cells[1].source == "<b>instructor's</b> text"


def test_the_instructors_markdown_cells_survive_unchanged():
    release = nbformat.read(COURSE_ROOT / "release" / "cnn_visualization" / "cnn_visualization.ipynb", 4)
    sources = [cell.source for cell in release.cells if cell.cell_type == "markdown"]
    assert [sanitize.inert_markdown(s) for s in sources] == sources


def test_a_raw_cell_is_cleaned_as_html():
    cell = new_raw_cell(f"<p>raw</p>{SCRIPT}")
    cell.metadata["format"] = "text/html"
    assert run(cell).cells[0].source == "<p>raw</p>document.title='PWNED'"


# --------------------------------------------------------------------------- metadata

def test_cell_metadata_keeps_nbgraders_and_drops_the_rest():
    cell = new_code_cell("x")
    cell.metadata.update({
        "nbgrader": {"grade": True, "grade_id": "test_x\" onmouseover=\"alert(1)", "points": 5, "locked": True,
                     "solution": False, "schema_version": 3, "extra": "<script>"},
        "tags": ["ok-tag", "\" onclick=\"x"], "jupyter": {"source_hidden": True}, "deletable": False,
        "cnnviz_caught_by": "visible", "widgets": {"x": SCRIPT}, "attachments": SCRIPT})
    cell.id = 'x" onload="y'
    kept = run(cell).cells[0]
    assert kept.metadata == {"nbgrader": {"grade": True, "points": 5, "locked": True, "solution": False,
                                          "schema_version": 3},
                             "tags": ["ok-tag"], "deletable": False, "cnnviz_caught_by": "visible"}
    assert re.fullmatch(r"[a-f0-9]{12}", kept.id)


def test_the_feedbacks_step_name_survives_only_when_it_is_the_lessons_own_title():
    from cnnviz import lesson_steps
    from cnnviz.grading import feedback

    grade_id = next(iter(lesson_steps.STEPS))
    cell = new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 5,
                                 "grade_id": grade_id, "schema_version": 3}
    cell.metadata["cnnviz_step"] = feedback.step_title(grade_id, 3)
    assert run(cell).cells[0].metadata["cnnviz_step"] == feedback.step_title(grade_id, 3)
    cell.metadata["cnnviz_step"] = feedback.step_title(grade_id, 3) + SCRIPT
    assert "cnnviz_step" not in run(cell).cells[0].metadata


def test_the_feedbacks_scores_and_comments_survive_whatever_order_the_steps_run_in():
    cell = new_code_cell("check()")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 5, "score": 2.5,
                                 "grade_id": "test_x", "schema_version": 3, "comment": "잘했어요"}
    assert run(cell).cells[0].metadata["nbgrader"] == cell.metadata["nbgrader"]


def test_notebook_metadata_keeps_the_kernel_and_drops_titles_and_widget_state():
    nb = run(new_code_cell("x"), metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 <script>", "language": "python"},
        "language_info": {"name": "python", "version": "3.11"}, "title": f"<title>{SCRIPT}",
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": SCRIPT}}, "authors": [SCRIPT]})
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert nb.metadata.kernelspec["name"] == "python3"


# --------------------------------------------------------------------------- the pages built from it

def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()


def _hostile_notebook():
    cell = answer_with(display({"text/html": SCRIPT, "application/javascript": "document.title='PWNED'"}),
                       display({"application/vnd.jupyter.widget-view+json": {"model_id": "m"}}))
    markdown = new_markdown_cell(f"{SCRIPT} [x](javascript:alert(1))")
    return new_notebook(cells=[markdown, cell], metadata={"widgets": {
        "application/vnd.jupyter.widget-state+json": {"state": {}, "x": SCRIPT}}})


def test_the_formgraders_page_carries_no_student_script_even_from_an_unsanitised_notebook():
    """The formgrader's own exporter, configured as nbgrader's server extension configures it."""
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    config = _course_config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"base_url": "", "assignment_id": "a", "notebook_id": "n", "submission_id": "s", "index": 0,
                 "total": 1, "student": "s", "last_name": "", "first_name": "", "notebook_path": "x"}
    html, _ = HTMLExporter(config=config).from_notebook_node(_hostile_notebook(), resources=dict(resources))
    honest, _ = HTMLExporter(config=config).from_notebook_node(new_notebook(), resources=dict(resources))
    assert "<script>document.title" not in html and "javascript:alert" not in html
    assert html.count("<script") == honest.count("<script"), "only nbgrader's own scripts are on the page"


def test_the_feedback_page_runs_no_script_and_says_so_in_its_policy():
    from cnnviz.grading import feedback

    config = _course_config()
    config.FeedbackExporter.extra_template_paths = [
        f"{feedback.nbgrader_templates()}/../static/node_modules/bootstrap/dist/css"]
    nb = _hostile_notebook()
    nb.cells.append(new_markdown_cell(r"경계는 $\sqrt{6}$입니다."))
    nb, _ = feedback.MathToMathML().preprocess(nb, {})
    resources = {"nbgrader": {"notebook": "n", "score": 0, "max_score": 5, "late_penalty": 0}}
    html, _ = feedback.FeedbackExporter(config=config).from_notebook_node(nb, resources=resources)
    policy = re.search(r'<meta content="([^"]+)" http-equiv="Content-Security-Policy"/>', html)
    assert policy and "script-src 'none'" in policy.group(1) and "default-src 'none'" in policy.group(1)
    assert html.index("Content-Security-Policy") < html.index("<style"), "the policy comes before any content"
    executable = [s for s in re.findall(r"<script[^>]*>", html) if "text/x-mathjax-config" not in s]
    assert executable == [], executable
    assert "<msqrt>" in html and "경계는" in html, "the formulas (MathML) and Korean text stay"


# --------------------------------------------------------------------------- is it configured?

def test_the_chain_report_finds_the_step_in_the_course_config_and_misses_it_elsewhere(tmp_path):
    lines, ok = sanitize.chain_report(COURSE_ROOT)
    assert ok, lines
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Autograde.autograde_preprocessors = ['nbgrader.preprocessors.SaveAutoGrades']\n")
    lines, ok = sanitize.chain_report(tmp_path)
    assert not ok and any("FAIL autograde chain" in line for line in lines), lines


