"""Student content made inert before anyone sees it: the autograded notebook and the pages built from it.

A submission is shown to the instructor (the formgrader, in the instructor's
own logged-in browser), to teaching assistants and to the student (feedback).
Everything in it is the student's: what their code printed in any MIME type,
the markdown cells they wrote or edited, error texts, cell and notebook
metadata. Any of it could carry a script that would run with the viewer's
rights, so it is reduced here to what a grader reads: text, tables, formulas,
Korean, the figures as PNG/JPEG images.

- ``clean_html`` is bleach's allow-list sanitiser (the one nbconvert's own
  ``SanitizeHTML`` uses) with the course's list: text, lists, tables, code,
  MathML; links only to http(s) and mailto; no style, no id, classes only of
  the shapes Pygments and nbconvert emit. Everything else is removed, keeping
  its text.
- ``InertOutputs``, ``InertMarkdown`` and ``InertMetadata`` are one concern
  each; ``SanitizeSubmission`` runs the three. ``nbgrader_config.py`` puts it
  in the autograde chain after ``TrustedChecks`` (so the stored notebook is
  inert for every later view) and in the HTML exporters (formgrader and
  feedback), whose templates also get ``clean_html`` and ``markdown_to_html``
  as their ``clean_html`` and ``markdown2html`` filters.

The verdicts ``TrustedChecks`` writes are plain error outputs and pass unchanged,
and no output is ever turned into or out of an error, so scores cannot change.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from html import escape as html_escape

import bleach
import jinja2
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from nbgrader import utils

from cnnviz.grading.plaintext import clean_text, terminal_safe
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

# --------------------------------------------------------------------------- the allow-list

_TEXT_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "u", "ul", "var",
    "caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
}
# MathML (Presentation), as latex2mathml writes it for the feedback's formulas.
_MATH_TAGS = {
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub", "msup",
    "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "semantics", "annotation",
}
ALLOWED_TAGS = frozenset(_TEXT_TAGS | _MATH_TAGS)
_MATH_ATTRIBUTES = ["mathvariant", "stretchy", "fence", "separator", "lspace", "rspace", "movablelimits",
                    "form", "accent", "accentunder", "columnalign", "rowalign", "columnspacing", "rowspacing",
                    "displaystyle", "scriptlevel", "linethickness", "width", "height", "depth", "notation",
                    "encoding"]
# Pygments' short token classes ("k", "nn", "mi"), nbconvert's own ("highlight", "hl-ipython3",
# "rendered_html", "dataframe"), a fenced block's "language-python": never a class that lays
# a box over the page (Bootstrap's "modal", "navbar-fixed-top", ...).
_SAFE_CLASS = re.compile(r"^(?:[a-z]{1,3}\d?|highlight|hl-[a-z0-9]+|language-[\w+-]+|dataframe|"
                         r"rendered_html|ansi-[a-z]+(?:-(?:fg|bg|intense-fg|intense-bg))?|ansi-bold)$")


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    if name == "class":
        return all(_SAFE_CLASS.match(token) for token in value.split())
    if tag == "a":
        return name in ("href", "title")
    if tag == "abbr":
        return name == "title"
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan", "align") and len(value) < 12
    if tag == "ol":
        return name in ("start", "type") and len(value) < 12
    if tag == "math":
        return name in ("xmlns", "display")
    if tag in _MATH_TAGS:
        return name in _MATH_ATTRIBUTES
    return False


_CLEANER = bleach.sanitizer.Cleaner(
    tags=ALLOWED_TAGS, attributes=_attribute_allowed, protocols={"http", "https", "mailto"},
    strip=True, strip_comments=True, css_sanitizer=CSSSanitizer(allowed_css_properties=()),
)


def clean_html(html) -> str:
    """``html`` reduced to the allow-list: scripts, handlers, forms, frames, SVG, style and
    ``javascript:`` links removed, their text kept (as text)."""
    html = html.decode("utf-8", "replace") if isinstance(html, bytes) else str(html)
    return _CLEANER.clean(html)


# --------------------------------------------------------------------------- markdown

def _markdown_renderer():
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class TextImages(IPythonRenderer):
        """Images as their alt text: a markdown image is never loaded (attachments are dropped)."""

        def image(self, text, url, title=None):
            # The attribute is not on the allow-list: a cell with an image always differs once cleaned.
            return '<span data-image="">[' + html_escape(str(text or "image")) + "]</span>"

    # No anchor links: they need ids, which the allow-list drops.
    return MarkdownWithMath(renderer=TextImages(escape=False, attachments={}, exclude_anchor_links=True))


def markdown_html(source: str) -> str:
    """Markdown rendered to HTML by nbconvert's own renderer (formulas kept as ``$...$``) and cleaned."""
    return clean_html(_markdown_renderer().render(str(source)))


@jinja2.pass_context
def markdown_to_html(context, source) -> str:
    """The exporters' ``markdown2html`` filter: nbconvert's rendering (no attachments), then ``clean_html``."""
    return markdown_html(source)


def inert_markdown(source: str) -> str:
    """A markdown cell's source that renders nothing the allow-list removes.

    Markdown whose rendering the sanitiser leaves as it is stays the same
    Markdown (the instructions, a student's plain answer). Otherwise the cell
    becomes its cleaned rendering: HTML that Markdown renders as itself, the
    removed parts gone, the text still readable.
    """
    rendered = _markdown_renderer().render(str(source))
    cleaned = clean_html(rendered)
    return str(source) if cleaned == rendered else cleaned


# --------------------------------------------------------------------------- outputs

_B64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def valid_image(mime: str, value) -> bool:
    """A base64 PNG or JPEG that is what it says (no text that could leave an ``<img src>``)."""
    if not isinstance(value, str) or not _B64.match(value):
        return False
    try:
        head = base64.b64decode("".join(value.split())[:64] + "==", validate=False)[:8]
    except (binascii.Error, ValueError):
        return False
    return head.startswith(_IMAGE_MAGIC[mime])


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _latex_html(latex: str) -> str | None:
    from latex2mathml.converter import convert

    body = latex.strip()
    for opening, closing in (("$$", "$$"), ("$", "$"), (r"\[", r"\]"), (r"\(", r"\)")):
        if body.startswith(opening) and body.endswith(closing) and len(body) > len(opening) + len(closing):
            body = body[len(opening):-len(closing)]
            break
    try:
        return clean_html(convert(body))
    except Exception:  # latex2mathml refuses what it cannot draw: the formula stays text
        return None


def _image_metadata(metadata: dict, mime: str) -> dict:
    kept = {}
    for key in ("width", "height"):
        value = (metadata.get(mime) or {}).get(key) if isinstance(metadata.get(mime), dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10000:
            kept[key] = value
    return {mime: kept} if kept else {}


def inert_bundle(data: dict, metadata: dict) -> tuple[dict, dict, list[str]]:
    """A display bundle reduced to text, cleaned HTML and real PNG/JPEG images; the MIME types removed.

    HTML and Markdown become cleaned HTML, LaTeX becomes MathML (or text);
    SVG, JavaScript, widget views, PDFs and unknown types are removed.
    """
    kept, kept_metadata, removed = {}, {}, []
    for mime, value in data.items():
        if mime == "text/plain":
            kept[mime] = clean_text(_text(value))
        elif mime in _IMAGE_MAGIC and valid_image(mime, value):
            kept[mime] = "".join(value.split())
            kept_metadata.update(_image_metadata(metadata or {}, mime))
        elif mime == "text/html":
            kept[mime] = clean_html(_text(value))
        elif mime == "text/markdown":
            kept.setdefault("text/html", markdown_html(_text(value)))
        elif mime == "text/latex":
            html = _latex_html(_text(value))
            if html is not None:
                kept.setdefault("text/html", html)
            else:
                kept.setdefault("text/plain", clean_text(_text(value)))
        else:
            removed.append(mime)
    return kept, kept_metadata, removed


_ENAME = re.compile(r"[^\w.]")


class _Step(Preprocessor):
    """nbconvert's preprocessor, on by default (nbgrader's chains and the exporters run it as listed)."""

    enabled = Bool(True).tag(config=True)


class InertOutputs(_Step):
    """Every output of every code cell reduced to text, cleaned HTML and real PNG/JPEG images.

    Streams and errors keep their text without escape sequences (colours
    aside); an error's name is a Python name. A bundle left with nothing gets a
    line saying which types were removed, so a reviewer knows something was there.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
                outputs.append({"output_type": "stream", "name": name, "text": clean_text(_text(output.get("text", "")))})
            elif kind == "error":
                outputs.append({
                    "output_type": "error",
                    "ename": _ENAME.sub("", str(output.get("ename", "")))[:100] or "Error",
                    "evalue": clean_text(str(output.get("evalue", ""))),
                    "traceback": [clean_text(str(line)) for line in output.get("traceback", []) or []],
                })
            elif kind in ("display_data", "execute_result"):
                data, metadata, removed = inert_bundle(dict(output.get("data", {}) or {}),
                                                       dict(output.get("metadata", {}) or {}))
                if removed:
                    self.log.info("cell %d: removed outputs of type %s", index, ", ".join(sorted(removed)))
                if not data:
                    data = {"text/plain": "[출력 제거됨 / output removed: " + ", ".join(
                        terminal_safe(m)[:80] for m in sorted(removed)) + "]"}
                kept = {"output_type": kind, "data": data, "metadata": metadata}
                if kind == "execute_result":
                    count = output.get("execution_count")
                    kept["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
                outputs.append(kept)
            # Anything else is not an nbformat output; nothing is kept of it.
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        return cell, resources


class InertMarkdown(_Step):
    """Markdown and raw cells a student could write or change, cleaned; their attachments removed.

    nbgrader's locked cells are left alone: ``OverwriteCells`` has already put
    the instructor's source back in them.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type not in ("markdown", "raw"):
            return cell, resources
        cell.pop("attachments", None)
        if utils.is_locked(cell) and not utils.is_solution(cell):
            return cell, resources
        if cell.cell_type == "markdown":
            cell.source = inert_markdown(cell.source)
        else:
            # A raw cell is copied as it is into HTML when its format says so: clean it as HTML.
            cell.source = clean_html(cell.source)
        return cell, resources


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


class InertMetadata(_Step):
    """Cell and notebook metadata reduced to what nbgrader, the formgrader and the course read."""

    def preprocess(self, nb, resources):
        nb.metadata = type(nb.metadata)(inert_notebook_metadata(dict(nb.metadata)))
        for cell in nb.cells:
            cell.metadata = type(cell.metadata)(inert_cell_metadata(dict(cell.metadata)))
            if "id" in cell and not (isinstance(cell.id, str) and _CELL_ID.match(cell.id)):
                cell.id = uuid.uuid4().hex[:12]
        return nb, resources


class SanitizeSubmission(_Step):
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
        filtered = (_names([filters.get("clean_html", "")]) == [f"{__name__}.clean_html"]
                    and _names([filters.get("markdown2html", "")]) == [f"{__name__}.markdown_to_html"])
        good = pre and filtered
        page = "formgrader pages" if section == "HTMLExporter" else "feedback pages"
        lines.append(f"[sanitize] {'ok  ' if good else 'FAIL'} {page} ({section}): "
                     f"preprocessor {'yes' if pre else 'MISSING'}, filters {'yes' if filtered else 'MISSING'}")
        ok &= good
    return lines, ok
