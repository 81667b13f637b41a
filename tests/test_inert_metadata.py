"""InertMetadata (cnnviz.grading.inert_metadata): cell and notebook metadata reduced to what is read, typed."""

import re

from nbformat.v4 import new_code_cell, new_notebook

from cnnviz.grading.inert_metadata import InertMetadata
from studentcontent import SCRIPT


def run(*cells, metadata=None):
    nb = new_notebook(metadata=metadata or {})
    nb.cells.extend(cells)  # unvalidated, as a student's file may be
    nb, _ = InertMetadata().preprocess(nb, {})
    return nb


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

