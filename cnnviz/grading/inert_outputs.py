"""A code cell's outputs made inert, MIME type by MIME type: text, cleaned HTML and real PNG/JPEG images.

What the student's code printed or displayed is theirs, whatever its type:
HTML and Markdown become cleaned HTML (``cnnviz.grading.html_allowlist``),
LaTeX becomes MathML or text, images stay only when they are what they say,
streams and errors keep their text without escape sequences. Errors stay
errors and nothing becomes one, so the verdicts ``TrustedChecks`` writes and
every score pass unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading.html_allowlist import clean_html
from cnnviz.grading.inert_markdown import markdown_html
from cnnviz.grading.plaintext import clean_text, terminal_safe

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


class InertOutputs(NbGraderPreprocessor):
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
