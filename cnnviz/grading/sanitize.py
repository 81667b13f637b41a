"""Student content made inert before anyone sees it: the autograded notebook and the pages built from it.

A submission is shown to the instructor (the formgrader, in the instructor's
own logged-in browser), to teaching assistants and to the student (feedback).
Everything in it is the student's: what their code printed in any MIME type,
the markdown cells they wrote or edited, error texts, cell and notebook
metadata. Any of it could carry a script that would run with the viewer's
rights, so it is reduced to what a grader reads: text, tables, formulas,
Korean, the figures as PNG/JPEG images.

- ``cnnviz.grading.html_allowlist.clean_html``: the allow-list all HTML passes.
- ``InertOutputs``, ``InertMarkdown`` and ``InertMetadata`` (``inert_outputs``,
  ``inert_markdown``, ``inert_metadata``) are one concern each;
  ``SanitizeSubmission`` here runs the three. ``nbgrader_config.py`` puts it
  in the autograde chain after ``TrustedChecks`` (so the stored notebook is
  inert for every later view) and in the HTML exporters (formgrader and
  feedback), whose templates also get ``clean_html`` and ``markdown_to_html``
  as their ``clean_html`` and ``markdown2html`` filters; ``chain_report`` says
  whether a course's configuration does all of that.

The verdicts ``TrustedChecks`` writes are plain error outputs and pass unchanged,
and no output is ever turned into or out of an error, so scores cannot change.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading.html_allowlist import clean_html
from cnnviz.grading.inert_markdown import InertMarkdown, markdown_to_html
from cnnviz.grading.inert_metadata import InertMetadata
from cnnviz.grading.inert_outputs import InertOutputs


class SanitizeSubmission(NbGraderPreprocessor):
    """The whole notebook made inert: outputs, markdown and raw cells, metadata (one step of the chain)."""

    def preprocess(self, nb, resources):
        outputs, markdown = InertOutputs(parent=self), InertMarkdown(parent=self)
        for index, cell in enumerate(nb.cells):
            outputs.preprocess_cell(cell, resources, index)
            markdown.preprocess_cell(cell, resources, index)
        return InertMetadata(parent=self).preprocess(nb, resources)


# --------------------------------------------------------------------------- is it configured?

STEP_NAME = f"{SanitizeSubmission.__module__}.{SanitizeSubmission.__name__}"


def _names(classes) -> list[str]:
    return [c if isinstance(c, str) else f"{c.__module__}.{c.__name__}" for c in classes or []]


def chain_report(course_root) -> tuple[list[str], bool]:
    """Lines saying where ``course_root/nbgrader_config.py`` sanitises submissions, and whether it does everywhere."""
    from pathlib import Path

    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (Path(course_root) / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    lines, ok = [], True
    chain = _names(config.Autograde.get("autograde_preprocessors", []))
    if STEP_NAME in chain:
        position = chain.index(STEP_NAME)
        after = [n for n in chain[:position] if n.endswith(("TrustedChecks", "JailedExecute", ".Execute"))]
        before_save = any(n.endswith("SaveAutoGrades") for n in chain[position:])
        good = bool(after) and before_save
        lines.append(f"[sanitize] {'ok  ' if good else 'FAIL'} autograde chain: {STEP_NAME} at step "
                     f"{position + 1} of {len(chain)}" + ("" if good else " (it must come after the kernel "
                                                         "and TrustedChecks, before SaveAutoGrades)"))
        ok &= good
    else:
        lines.append(f"[sanitize] FAIL autograde chain: no {STEP_NAME} in c.Autograde.autograde_preprocessors "
                     "(the autograded notebooks keep the students' scripts)")
        ok = False
    for section in ("HTMLExporter", "FeedbackExporter"):
        exporter = config.get(section, {})
        pre = STEP_NAME in _names(exporter.get("preprocessors", [])) or (
            section == "FeedbackExporter" and STEP_NAME in _names(config.HTMLExporter.get("preprocessors", [])))
        filters = dict(config.HTMLExporter.get("filters", {}), **exporter.get("filters", {}))
        filtered = (_names([filters.get("clean_html", "")]) == _names([clean_html])
                    and _names([filters.get("markdown2html", "")]) == _names([markdown_to_html]))
        good = pre and filtered
        page = "formgrader pages" if section == "HTMLExporter" else "feedback pages"
        lines.append(f"[sanitize] {'ok  ' if good else 'FAIL'} {page} ({section}): "
                     f"preprocessor {'yes' if pre else 'MISSING'}, filters {'yes' if filtered else 'MISSING'}")
        ok &= good
    return lines, ok
