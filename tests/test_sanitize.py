"""SanitizeSubmission (cnnviz.grading.sanitize): its three steps together, the pages built with it, its report.

The steps one by one have their own tests (test_inert_outputs, test_inert_markdown,
test_inert_metadata, test_html_allowlist). Here: the verdicts TrustedChecks
writes and every score pass the whole step unchanged; the formgrader's and the
feedback's exporters, configured as the course configures them, carry no
student script; and the chain report finds the step where it must be.
"""

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader import utils

from cnnviz import COURSE_ROOT
from cnnviz.grading import sanitize, trusted
from nbcells import nbgrader_cell
from studentcontent import SCRIPT, display


def run(*cells, metadata=None):
    nb = new_notebook(metadata=metadata or {})
    nb.cells.extend(cells)  # unvalidated, as a student's file may be
    nb, _ = sanitize.SanitizeSubmission().preprocess(nb, {})
    return nb


# --------------------------------------------------------------------------- the three steps together

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


# --------------------------------------------------------------------------- the pages built from it

def _course_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()


def _hostile_notebook():
    cell = nbgrader_cell("answer", "dense_model", "x = 1", outputs=[
        display({"text/html": SCRIPT, "application/javascript": "document.title='PWNED'"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "m"}})])
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

