"""The nbgrader preprocessor ``MatchRelease``: a submission made against another release.

When the instructor changes the assignment mid-course (``python -m cnnviz
update-assignment``), students may already have submitted the older release. This
preprocessor runs before nbgrader's ``OverwriteCells`` and fits such a submission to
the release in the gradebook:

- test cells the current release no longer has are dropped, and answer or read-only
  cells it no longer has become plain cells (later code may use what they define);
- test cells added since are put back, after the cell that precedes them in the
  release (nbgrader's own ``add_missing_cells`` assumes that cell is an answer or a
  test, and stops with a ``KeyError`` when it is not);
- a submission without an answer cell that the current release asks for was made
  before that task existed, and is refused with one line that names both releases.

A release is named by its layout: a short digest of its answer and test cells.
"""

from __future__ import annotations

import hashlib

from nbformat import from_dict
from nbformat.v4 import new_code_cell, new_markdown_cell
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading import failures
from cnnviz.course.notebooks import grade_id as grade_id_of


class MismatchedRelease(failures.Refused):
    """A submission made against a release that lacks a task the current one has."""


def layout_digest(answers: list[str], tests: dict[str, float]) -> str:
    """A short name for a release: its answer cells, its test cells and their points."""
    parts = [f"answer:{name}" for name in sorted(answers)]
    parts += [f"test:{name}:{float(points):g}" for name, points in sorted(tests.items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def submission_layout(nb) -> tuple[list[str], dict[str, float]]:
    """The answer cells and test cells (with their points) a submitted notebook carries."""
    answers, tests = [], {}
    for cell in nb.cells:
        grade_id = grade_id_of(cell)
        if grade_id is None:
            continue
        if utils.is_solution(cell):
            answers.append(grade_id)
        elif utils.is_grade(cell):
            tests[grade_id] = float(cell.metadata["nbgrader"].get("points", 0))
    return answers, tests


def released_test_cell(source_cell, points: float, is_answer: bool):
    """A test cell as the release has it, from the gradebook's record of it.

    (nbgrader's ``OverwriteCells.missing_cell_transform`` nests plain dicts in the
    cell, which its own metadata validator then cannot read.)
    """
    make = new_code_cell if source_cell.cell_type == "code" else new_markdown_cell
    cell = make(source_cell.source)
    cell.metadata = from_dict({"deletable": False, "editable": is_answer, "nbgrader": {
        "schema_version": 3, "grade": True, "grade_id": source_cell.name, "locked": source_cell.locked,
        "checksum": source_cell.checksum, "points": float(points), "solution": is_answer, "task": False}})
    return cell


class MatchRelease(NbGraderPreprocessor):
    """Fit a submission made against another release to the one in the gradebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            record = gradebook.find_notebook(info["notebook"], info["assignment"])
            order = [cell.name for cell in record.source_cells]
            sources = {cell.name: cell for cell in record.source_cells}
            tests = {cell.name: cell.max_score for cell in record.grade_cells}
            answers = [cell.name for cell in record.solution_cells]
            student = info.get("student", "?")
            self._refuse_missing_answers(nb, answers, tests, info["assignment"], student)
            nb.cells = self._without_unknown_cells(nb.cells, set(order), student)
            self._put_back_tests(nb, order, sources, tests, answers, student)
        return nb, resources

    def _refuse_missing_answers(self, nb, answers, tests, assignment, student):
        submitted_answers, submitted_tests = submission_layout(nb)
        missing = [name for name in answers if name not in submitted_answers]
        if not missing:
            return
        reason = (f"submission not graded: it was made against another release of "
                  f"{assignment} (layout {layout_digest(submitted_answers, submitted_tests)}; the course now "
                  f"has {layout_digest(answers, tests)}) and has no answer cell {', '.join(missing)}; "
                  "ask the student to fetch the current release, copy their answers over and submit again")
        self.log.error("[release] %s: %s", student, reason)
        refused = MismatchedRelease(failures.Failure(failures.REFUSED, student, "", reason))
        failures.report(refused.failure)
        raise refused

    def _without_unknown_cells(self, cells, known, student):
        kept = []
        for cell in cells:
            grade_id = grade_id_of(cell)
            if grade_id is None or grade_id in known:
                kept.append(cell)
                continue
            if utils.is_grade(cell) and not utils.is_solution(cell):
                self.log.warning("[release] %s: test cell %s is not in the current release; dropped",
                                 student, grade_id)
                continue
            # An answer or read-only cell of an older release: the student's code stays, ungraded.
            del cell.metadata["nbgrader"]
            kept.append(cell)
        return kept

    def _put_back_tests(self, nb, order, sources, tests, answers, student):
        for index, name in enumerate(order):
            positions = self._positions(nb)
            if name not in tests or name in positions:
                continue
            before = [positions[other] for other in order[:index] if other in positions]
            nb.cells.insert(max(before) + 1 if before else 0,
                            released_test_cell(sources[name], tests[name], name in answers))
            self.log.warning("[release] %s: test cell %s was missing; put back from the release",
                             student, name)

    @staticmethod
    def _positions(nb) -> dict[str, int]:
        return {grade_id_of(cell): index for index, cell in enumerate(nb.cells) if grade_id_of(cell) is not None}
