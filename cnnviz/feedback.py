"""The feedback page a student reads once: steps named by the lesson, messages that wrap, figures that fit.

``nbgrader_config.py`` adds ``StepTitles`` to ``GenerateFeedback``'s preprocessors
and selects the template ``templates/cnnviz_feedback/steps.html.j2``, which
extends nbgrader's own feedback page: its summary lists each step by name
with its points instead of twenty identical "Test cell" entries.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from . import lesson

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "cnnviz_feedback"
TEMPLATE_FILE = "steps.html.j2"
STEP_KEY = "cnnviz_step"


def nbgrader_templates() -> str:
    """nbgrader's own template folder, which holds the feedback page ours extends."""
    import nbgrader

    return str(Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates")


def step_title(grade_id: str, number: int) -> str:
    """The summary's name of a graded cell: "3. 커널 배열 / the kernel array"."""
    step = lesson.STEPS.get(grade_id)
    return f"{number}. {step.title_ko} / {step.title_en}" if step else f"{number}. {grade_id}"


class StepTitles(NbGraderPreprocessor):
    """Name each graded cell by its lesson step, for the feedback page's summary and headings."""

    def preprocess(self, nb, resources):
        graded = [cell for cell in nb.cells if utils.is_grade(cell)]
        for number, cell in enumerate(graded, start=1):
            cell.metadata[STEP_KEY] = step_title(cell.metadata["nbgrader"]["grade_id"], number)
        return nb, resources
