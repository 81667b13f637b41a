"""The submission catalogue: right and wrong submissions, and the scores each must get.

Each entry is the released notebook filled in one way: the instructor's
solution everywhere but the answers it overrides or leaves blank, and the
graded cells it must lose. ``make demo``'s class (entries with ``demo = true``)
is ``cnnviz/course/demo_class.toml``, shipped with this package, and the demo reads
only that (:func:`demo_class`). The whole catalogue (:func:`load_catalogue`)
is that file and, in the repository, ``tests/submissions/catalogue.toml``;
the catalogue tests, the hostile suite, the hub's class test and the
benchmarks build their submissions from it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz import COURSE_ROOT
from cnnviz.course.notebooks import fill_release, solution_answers

DEMO_CLASS = Path(__file__).resolve().parent / "demo_class.toml"
# The rest of the catalogue: the tests' submissions, in the repository only (never installed).
CATALOGUE = COURSE_ROOT / "tests" / "submissions" / "catalogue.toml"


@dataclass
class Submission:
    """One entry of the submission catalogue: a released notebook filled in one way."""

    name: str
    kind: str  # "right" or "wrong"
    mistake: str
    answers: dict[str, str] = field(default_factory=dict)
    blank: list[str] | str = field(default_factory=list)
    loses: list[str] | str = field(default_factory=list)
    demo: bool = False

    def notebook(self, release_nb, source_nb):
        """The submitted notebook: solutions everywhere but the overridden and blank cells."""
        answers = solution_answers(source_nb)
        blank = list(answers) if self.blank == "all" else list(self.blank)
        for grade_id in blank:
            answers.pop(grade_id)
        answers.update(self.answers)
        return fill_release(release_nb, answers)

    def expected_scores(self, points: dict[str, float]) -> dict[str, float]:
        """The score each graded cell must get: zero for the cells it loses ("all": every one), full for the rest."""
        return {grade_id: (0.0 if self.loses == "all" or grade_id in self.loses else p)
                for grade_id, p in points.items()}


def read_submissions(path: Path) -> list[Submission]:
    """The entries of one catalogue file (TOML, ``[[submission]]`` tables)."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return [Submission(**entry) for entry in data["submission"]]


def demo_class() -> list[Submission]:
    """``make demo``'s class: the entries of ``cnnviz/course/demo_class.toml``."""
    return [entry for entry in read_submissions(DEMO_CLASS) if entry.demo]


def load_catalogue(path: Path = CATALOGUE) -> list[Submission]:
    """The whole submission catalogue: the demo class, then the entries of ``path`` where it exists."""
    return read_submissions(DEMO_CLASS) + (read_submissions(path) if Path(path).is_file() else [])


def by_name(path: Path = CATALOGUE) -> dict[str, Submission]:
    """The catalogue's entries by name."""
    return {entry.name: entry for entry in load_catalogue(path)}
