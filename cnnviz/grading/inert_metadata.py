"""Cell and notebook metadata made inert: only what nbgrader, the formgrader and the course read, typed.

A student can write any metadata into their file (a title, widget state, a
``grade_id`` with markup in it); the pages print some of it as it is. What is
kept is nbgrader's own keys with their types, the course's verdict origin and
step titles when they are exactly the course's, Jupyter's display flags, plain
tags, and the kernel's and language's names.
"""

from __future__ import annotations

import re
import uuid

from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading.plaintext import terminal_safe


# Cell metadata kept: nbgrader's own (validated), the course's, and Jupyter's display flags.
_NBGRADER_KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "schema_version": int,
                  "points": (int, float), "grade_id": str, "checksum": str, "cell_type": str,
                  # nbgrader's GetGrades adds these for the feedback page (the comment is rendered by
                  # the exporters' markdown2html, which is the allow-list's).
                  "score": (int, float), "comment": str}
_GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")
_COURSE_KEYS = {"cnnviz_caught_by": ("visible", "hidden")}
_FLAG_KEYS = ("deletable", "editable", "collapsed", "scrolled")
_TAG = re.compile(r"^[\w\-]{1,64}$")
_CELL_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")


# The feedback's step names (cnnviz.grading.feedback.StepTitles, run before the exporter's own copy of
# this step): kept only when they are exactly the lesson's title for the cell's grade id, since
# the feedback template prints them as they are.
STEP_TITLE_KEY = "cnnviz_step"
_STEP_NUMBER = re.compile(r"^(\d{1,3})\. ")


def _is_step_title(value, grade_id) -> bool:
    from cnnviz.grading.feedback import step_title

    number = _STEP_NUMBER.match(value) if isinstance(value, str) and isinstance(grade_id, str) else None
    return bool(number) and value == step_title(grade_id, int(number.group(1)))


def inert_cell_metadata(metadata: dict) -> dict:
    """Cell metadata reduced to nbgrader's (typed), the course's verdict origin, flags and plain tags."""
    kept = {}
    nbgrader = metadata.get("nbgrader")
    if isinstance(nbgrader, dict):
        clean = {k: v for k, v in nbgrader.items()
                 if k in _NBGRADER_KEYS and isinstance(v, _NBGRADER_KEYS[k]) and not (
                     isinstance(v, bool) and _NBGRADER_KEYS[k] is not bool)}
        if "grade_id" in clean and not _GRADE_ID.match(clean["grade_id"]):
            clean.pop("grade_id")
        if "checksum" in clean and not re.match(r"^[0-9a-f]{1,128}$", clean["checksum"]):
            clean.pop("checksum")
        if "cell_type" in clean and clean["cell_type"] not in ("code", "markdown", "raw"):
            clean.pop("cell_type")
        kept["nbgrader"] = clean
    for key, values in _COURSE_KEYS.items():
        if metadata.get(key) in values:
            kept[key] = metadata[key]
    if _is_step_title(metadata.get(STEP_TITLE_KEY), kept.get("nbgrader", {}).get("grade_id")):
        kept[STEP_TITLE_KEY] = metadata[STEP_TITLE_KEY]
    for key in _FLAG_KEYS:
        if isinstance(metadata.get(key), bool):
            kept[key] = metadata[key]
    tags = metadata.get("tags")
    if isinstance(tags, list):
        tags = [t for t in tags if isinstance(t, str) and _TAG.match(t)]
        if tags:
            kept["tags"] = tags
    return kept


def inert_notebook_metadata(metadata: dict) -> dict:
    """Notebook metadata reduced to the kernel's and language's names (no title, widgets or extensions)."""
    kept = {}
    spec = metadata.get("kernelspec")
    if isinstance(spec, dict):
        kept["kernelspec"] = {k: terminal_safe(spec[k])[:100] for k in ("display_name", "language", "name")
                              if isinstance(spec.get(k), str)}
    info = metadata.get("language_info")
    if isinstance(info, dict):
        kept["language_info"] = {k: terminal_safe(info[k])[:100] for k in ("name", "version", "pygments_lexer",
                                                                           "file_extension", "mimetype")
                                 if isinstance(info.get(k), str)}
        lexer = info.get("codemirror_mode")
        if isinstance(lexer, dict) and isinstance(lexer.get("name"), str):
            kept["language_info"]["codemirror_mode"] = {"name": terminal_safe(lexer["name"])[:50]}
    return kept


class InertMetadata(NbGraderPreprocessor):
    """Cell and notebook metadata reduced to what nbgrader, the formgrader and the course read."""

    def preprocess(self, nb, resources):
        nb.metadata = type(nb.metadata)(inert_notebook_metadata(dict(nb.metadata)))
        for cell in nb.cells:
            cell.metadata = type(cell.metadata)(inert_cell_metadata(dict(cell.metadata)))
            if "id" in cell and not (isinstance(cell.id, str) and _CELL_ID.match(cell.id)):
                cell.id = uuid.uuid4().hex[:12]
        return nb, resources
