"""Student-controlled text made safe for a terminal (standard library only).

The command line prints students' names, file names and nbgrader's lines about
their submissions: none may pass on an escape sequence (spreadsheet formulas are
``cnnviz.grading.csvsafe``'s concern). ``cnnviz.grading.sanitize`` uses the same
``clean_text`` for the text outputs of the autograded notebook.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- text

# ANSI colours (SGR, ``ESC [ ... m``) are drawn by nbconvert's ansi2html as spans; any other
# escape sequence (cursor moves, OSC titles and links, ...) and every other control character
# is removed. Newlines, carriage returns (a progress line) and tabs stay.
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|.?)",
                     re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text, keep_colours: bool = True) -> str:
    """``text`` without escape sequences (ANSI colours kept when ``keep_colours``) or control characters."""
    text = str(text)
    if keep_colours:
        parts = _SGR.split(text)
        colours = _SGR.findall(text)
        cleaned = [_CONTROL.sub("", _ESCAPE.sub("", part)) for part in parts]
        return "".join(p + (colours[i] if i < len(colours) else "") for i, p in enumerate(cleaned))
    return _CONTROL.sub("", _ESCAPE.sub("", text))


def terminal_safe(text) -> str:
    """One line of student-controlled text for a terminal: no escape sequences, no control characters."""
    return clean_text(text, keep_colours=False).replace("\r", " ").replace("\n", " ").replace("\t", " ")
