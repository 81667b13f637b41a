"""The feedback page a student reads once: steps named by the lesson, messages that wrap, figures that fit.

``nbgrader_config.py`` adds ``StepTitles`` and ``MathToMathML`` to
``GenerateFeedback``'s preprocessors and selects the template
``templates/cnnviz_feedback/steps.html.j2``, which extends nbgrader's own
feedback page: its summary lists each step by name with its points instead of
twenty identical "Test cell" entries, and it loads no MathJax from a CDN. The
formulas are turned into MathML, which browsers draw themselves, so the page
needs no internet.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz import lesson_steps

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
    step = lesson_steps.STEPS.get(grade_id)
    return f"{number}. {step.title_ko} / {step.title_en}" if step else f"{number}. {grade_id}"


class FeedbackExporter(HTMLExporter):
    """The exporter of ``GenerateFeedback``: nbgrader's HTML exporter under a name of its own.

    Its template is set in its own configuration section (``c.FeedbackExporter``
    in ``nbgrader_config.py``), which wins over ``HTMLExporter``'s: the
    formgrader rewrites ``HTMLExporter``'s template settings for its own pages,
    and those must not reach the feedback page.
    """


class StepTitles(NbGraderPreprocessor):
    """Name each graded cell by its lesson step, for the feedback page's summary and headings."""

    def preprocess(self, nb, resources):
        graded = [cell for cell in nb.cells if utils.is_grade(cell)]
        for number, cell in enumerate(graded, start=1):
            cell.metadata[STEP_KEY] = step_title(cell.metadata["nbgrader"]["grade_id"], number)
        return nb, resources


# $$display$$ first, then $inline$ (not an escaped \$).
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$")
# Inside \text{...} an underscore is escaped only to get past Markdown; MathML wants it plain.
_TEXT_ESCAPE = re.compile(r"\\text\{([^}]*)\}")


def math_to_mathml(markdown: str) -> str:
    """Markdown with its ``$...$`` and ``$$...$$`` formulas replaced by MathML."""
    from latex2mathml.converter import convert

    def mathml(latex: str, display: str) -> str:
        latex = _TEXT_ESCAPE.sub(lambda m: "\\text{" + m.group(1).replace("\\_", "_") + "}", latex)
        return convert(latex.strip(), display=display)

    markdown = _DISPLAY_MATH.sub(lambda m: mathml(m.group(1), "block"), markdown)
    return _INLINE_MATH.sub(lambda m: mathml(m.group(1), "inline"), markdown)


class MathToMathML(NbGraderPreprocessor):
    """Formulas in Markdown cells as MathML, so the feedback page draws them without internet."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = math_to_mathml(cell.source)
        return cell, resources
