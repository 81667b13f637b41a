"""CSV cells a spreadsheet cannot run: one rule for every CSV the course writes.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or their full-width forms), a
tab or a line break is read by Excel, LibreOffice and Google Sheets as a formula
(OWASP's "CSV injection"). Names and ids come from rosters and students, so every
text cell goes through :func:`cell` before it is written; numbers are written as
numbers. The cell keeps its text, behind a leading apostrophe, which spreadsheets
show as text and LMS imports keep as part of the value.
"""

from __future__ import annotations

import math
import numbers
import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Left as they are: a plain negative number, and Moodle's "-" (no grade), which its import reads as
# such and would refuse with an apostrophe; neither is a formula in any spreadsheet.
NOT_FORMULAS = re.compile(r"-|-\d+(\.\d+)?")


def cell(value) -> str:
    """``value`` as a CSV cell that no spreadsheet reads as a formula.

    ``None`` is an empty cell; a real number is written plainly (``85``, ``72.5``;
    never negative in our exports, so never a formula); text that would start a
    formula gets a leading ``'`` (not a plain ``-5``, nor a lone ``-``).
    """
    if value is None:
        return ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not math.isfinite(value):
            return ""
        text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not NOT_FORMULAS.fullmatch(text):
        return "'" + text
    return text


def row(values) -> list[str]:
    """Every value of a CSV row through :func:`cell`."""
    return [cell(value) for value in values]


def text_cell(value):
    """``value`` with text made safe as in :func:`cell`, and anything else as it is.

    For writers that keep another program's number format (nbgrader's own ``grades.csv``).
    """
    return cell(value) if isinstance(value, str) else value
