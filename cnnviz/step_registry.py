"""The step registry: what one graded test cell of the notebook is, and how a step enters the lesson's table.

Every graded test cell of the notebook is one ``Step``, under the cell's
nbgrader ``grade_id``. The lesson's table of them is
``cnnviz.lesson_steps.STEPS`` (the 20 steps, in the notebook's order);
``cnnviz.lesson`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One graded test cell of the notebook."""

    grade_id: str
    title_ko: str
    title_en: str
    names: tuple[str, ...]
    visible: Callable[[dict], None]
    hidden: Callable[[dict, object, dict], None]  # (facts, references, earlier steps' facts)


def registrar(table: dict[str, Step]):
    """The decorator that enters a step into ``table``: ``step(grade_id, title_ko, title_en, *names)((visible, hidden))``.

    A ``grade_id`` is entered once: a second step under the same id would
    silently replace the first one's checks for that cell.
    """

    def step(grade_id: str, title_ko: str, title_en: str, *names: str):
        def register(pair):
            if grade_id in table:
                raise ValueError(f"a step is already registered under the grade_id {grade_id!r}")
            visible, hidden = pair
            table[grade_id] = Step(grade_id, title_ko, title_en, names, visible, hidden)
            return pair

        return register

    return step
