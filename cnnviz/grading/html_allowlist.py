"""The allow-list every piece of a student's HTML passes through before anyone's browser renders it.

bleach's allow-list sanitiser (the one nbconvert's own ``SanitizeHTML`` uses)
with the course's list: text, lists, tables, code, MathML; links only to
http(s) and mailto; no style, no id, classes only of the shapes Pygments and
nbconvert emit. Everything else is removed, keeping its text. The sanitiser's
steps (``cnnviz.grading.sanitize``) and the HTML exporters' ``clean_html``
filter (``nbgrader_config.py``) both use it.
"""

from __future__ import annotations

import re

import bleach
from bleach.css_sanitizer import CSSSanitizer

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
