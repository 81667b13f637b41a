"""The two HTML exporters an instructor and a student meet, on an executed notebook with figures.

- the formgrader's (nbgrader's submission view: nbconvert's HTMLExporter with
  the ``formgrade`` template, configured as nbgrader's formgrader extension does);
- the feedback page's (``cnnviz.grading.feedback.FeedbackExporter`` with the course's
  ``nbgrader_config.py`` and its feedback preprocessors).

Both run nbconvert's HTML post-processing (BeautifulSoup and soupsieve): the
issue's ``SelectorSyntaxError`` on ``img:not([alt])`` failed exactly here, in the
hub's users' environment. `make test-hub` runs this file again with that
environment's Python (tests/e2e/test_hub_env.py).
"""

from __future__ import annotations

import copy
import re
import sys

import nbformat
import pytest
from traitlets.config import Config, PyFileConfigLoader

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import notebooks

EXECUTED = COURSE_ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
MIN_FIGURES = 7  # the solution draws the histogram, two kernel grids, the sample, two feature-map grids, ...
PNG = re.compile(r"<img[^>]*src=\"data:image/png;base64,")


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.read(EXECUTED, as_version=4)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= MIN_FIGURES, f"{EXECUTED} holds {figures} figures: `make release` writes the executed solution"
    return nb


def test_the_formgrader_shows_a_submission_with_its_figures(executed):
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

    exporter = HTMLExporter(config=FormgradeExtension().build_extra_config())
    # What nbgrader's SubmissionHandler hands the formgrade template.
    resources = {"assignment_id": ASSIGNMENT, "notebook_id": ASSIGNMENT, "submission_id": "abc", "index": 0,
                 "total": 1, "base_url": "/user/instructor", "student": "student1", "last_name": None,
                 "first_name": None, "notebook_path": f"./autograded/student1/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"}
    html, _ = exporter.from_notebook_node(copy.deepcopy(executed), resources=resources)
    assert len(PNG.findall(html)) >= MIN_FIGURES, f"{len(PNG.findall(html))} figures in the submission view"
    # The formgrade template itself (its scripts under the server's base URL), not nbconvert's plain page.
    assert 'src="/user/instructor/formgrader/static/js/utils.js"' in html
    assert 'alt="No description has been provided for this image"' in html  # nbconvert's soupsieve step ran


def test_the_feedback_page_shows_the_steps_and_the_figures(executed):
    from nbgrader.preprocessors import ClearHiddenTests

    from cnnviz import lesson_steps
    from cnnviz.grading import feedback
    from cnnviz.grading.short_tracebacks import ShortTracebacks

    loader = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT))
    config = loader.load_config()
    # As nbgrader's GenerateFeedback does: its page inlines Bootstrap's stylesheet.
    config.merge(Config({"FeedbackExporter": {"extra_template_paths": [
        f"{feedback.nbgrader_templates()}/../static/node_modules/bootstrap/dist/css"]}}))
    nb = copy.deepcopy(executed)
    points = notebooks.grade_points(nb)
    for cell in nb.cells:
        if notebooks.grade_id(cell) in points:
            cell.metadata.nbgrader["score"] = cell.metadata.nbgrader.get("points", 0)
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "score": sum(points.values()),
                              "max_score": sum(points.values()), "late_penalty": 0}}
    # The course's feedback chain (nbgrader_config.py), without GetGrades, which reads the gradebook.
    for preprocessor in (ClearHiddenTests, ShortTracebacks, feedback.StepTitles, feedback.MathToMathML):
        nb, resources = preprocessor(config=config).preprocess(nb, resources)
    html, _ = feedback.FeedbackExporter(config=config).from_notebook_node(nb, resources=resources)
    assert len(PNG.findall(html)) >= MIN_FIGURES, f"{len(PNG.findall(html))} figures in the feedback"
    assert f"{sum(points.values()):g}" in html and "BEGIN HIDDEN TESTS" not in html
    assert all(lesson_steps.STEPS[grade_id].title_en in html for grade_id in points)  # every step by name


def test_this_python_runs_the_lock():
    """Whichever interpreter runs these tests (.venv's, or the hub's users' environment) is the locked set."""
    from cnnviz.course import lock

    assert sys.version_info[:2] == (3, 11)
    assert lock.differences() == [], f"{sys.prefix} differs from requirements.lock"
