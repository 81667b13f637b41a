"""How a bilingual course message is laid out where it is shown.

A message is a pair, Korean and English, until it is shown. nbgrader, the
catalogue and the exports keep its one-line form ``korean / english``
(:func:`render`); a student reads it as its Korean lines, then its English
lines, wrapped for nbgrader's Validate dialog (:func:`screen_lines`). The
grader uses the same layout for the verdicts it writes into a notebook
(``cnnviz.grading.trusted``, ``cnnviz.grading.short_tracebacks``).
"""

from __future__ import annotations

import unicodedata


def render(korean: str, english: str) -> str:
    """A bilingual message in its one-line form, as nbgrader keeps it: ``korean / english``."""
    return f"{korean} / {english}"



# nbgrader's Validate dialog shows a failed cell's output in a <pre> that never wraps, and a
# laptop screen shows about 80 columns of it; a Hangul syllable takes two columns.
SCREEN_COLUMNS = 76


def screen_columns(text: str) -> int:
    """How many columns ``text`` takes in a fixed-width font (a Hangul syllable takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int = SCREEN_COLUMNS) -> list[str]:
    """``text`` broken at spaces into lines of at most ``columns`` screen columns (Hangul is two wide).

    A single word longer than a line keeps a line of its own rather than being cut.
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        longer = f"{line} {word}" if line else word
        if line and screen_columns(longer) > columns:
            lines.append(line)
            line = word
        else:
            line = longer
    return lines + [line] if line else lines


def screen_lines(korean: str, english: str = "", prefix: str = "") -> list[str]:
    """A message as a student reads it: ``prefix`` and the Korean half, then the English half, each wrapped.

    A message in one language only (``english`` empty) is its one wrapped paragraph.
    """
    return wrap(prefix + korean) + wrap(english)


def text_screen_lines(text: str, prefix: str = "") -> list[str]:
    """:func:`screen_lines` of a message that arrives as text only (an error a notebook's kernel raised,
    read from the notebook): a one-line bilingual form (:func:`render`) is laid out as its two halves."""
    korean, _, english = text.partition(" / ")
    return screen_lines(korean, english, prefix)
