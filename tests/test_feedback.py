"""The feedback page's parts (cnnviz.grading.feedback): step names, formulas without a CDN, the template."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from cnnviz import lesson_steps
from cnnviz.grading import feedback
from nbcells import nbgrader_cell


def test_step_titles_number_the_graded_cells_and_name_them_in_both_languages():
    nb = new_notebook(cells=[new_markdown_cell("intro"), nbgrader_cell("test", "test_load_model"),
                             new_code_cell("x = 1"), nbgrader_cell("test", "test_feature_grid_2"),
                             nbgrader_cell("test", "test_not_a_step")])
    nb, _ = feedback.StepTitles().preprocess(nb, {})
    titles = [cell.metadata.get(feedback.STEP_KEY) for cell in nb.cells]
    step = lesson_steps.STEPS["test_feature_grid_2"]
    assert titles[0] is None and titles[2] is None
    assert titles[1] == f"1. {lesson_steps.STEPS['test_load_model'].title_ko} / {lesson_steps.STEPS['test_load_model'].title_en}"
    assert titles[3] == f"2. {step.title_ko} / {step.title_en}"
    assert titles[4] == "3. test_not_a_step", "a cell the lesson does not know keeps its grade_id"


def test_formulas_become_mathml_and_escaped_dollars_stay_text():
    source = (r"경계는 $\pm\sqrt{6 / (\text{fan\_in} + \text{fan\_out})}$입니다. "
              r"Costs \$5, and $$x^2$$ is shown apart.")
    html = feedback.math_to_mathml(source)
    assert html.count("<math") == 2 and 'display="block"' in html and 'display="inline"' in html
    assert "<msqrt>" in html and "<mtext>fan_in</mtext>" in html, "\\_ inside \\text{} should become a plain _"
    assert r"\$5" in html and "$x" not in html and r"\pm" not in html


def test_the_page_names_steps_wraps_messages_and_loads_nothing_from_a_cdn():
    from nbconvert import HTMLExporter

    config = Config()
    config.HTMLExporter.template_name = feedback.TEMPLATE_NAME
    config.HTMLExporter.template_file = feedback.TEMPLATE_FILE
    config.HTMLExporter.extra_template_basedirs = [feedback.nbgrader_templates(), str(feedback.TEMPLATES)]
    # As nbgrader's GenerateFeedback does: its page inlines Bootstrap's stylesheet.
    config.HTMLExporter.extra_template_paths = [
        f"{feedback.nbgrader_templates()}/../static/node_modules/bootstrap/dist/css"]
    # Two autograded test cells of 5 points: one passed, one lost with a long message.
    passed = nbgrader_cell("test", "test_load_model", points=5.0, score=5.0)
    lost = nbgrader_cell("test", "test_kernel_grid", points=5.0, score=0.0, outputs=[nbformat.v4.new_output(
        "error", ename="AssertionError", evalue="a long message " * 40, traceback=["AssertionError: a long message"])])
    nb = new_notebook(cells=[new_markdown_cell(r"The bound $\sqrt{6}$."), passed, lost])
    nb, _ = feedback.StepTitles().preprocess(nb, {})
    nb, _ = feedback.MathToMathML().preprocess(nb, {})
    resources = {"nbgrader": {"notebook": "cnn_visualization", "score": 5, "max_score": 10, "late_penalty": 0}}
    html, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)

    assert f"2. {lesson_steps.STEPS['test_kernel_grid'].title_ko} / {lesson_steps.STEPS['test_kernel_grid'].title_en}</a> (0.0 / 5.0)" in html
    assert "Test cell" not in html
    assert "white-space: pre-wrap" in html and "max-width: 100%" in html
    assert "cdnjs" not in html and "<math" in html
