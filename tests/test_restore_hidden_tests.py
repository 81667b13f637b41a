"""RestoreHiddenTests: a test cell as released gets its hidden tests back without nbgrader's checksum warning."""

from __future__ import annotations

import logging
import types

import nbformat
from nbgrader import utils

from cnnviz.course import notebooks, pipeline
from cnnviz.grading.restore_hidden_tests import RestoreHiddenTests


class _Gradebook:
    """The gradebook's source cells of the course's own assignment (what generate_assignment saved)."""

    def __init__(self, source_nb):
        self.cells = {}
        for cell in source_nb.cells:
            if "nbgrader" in cell.metadata and cell.metadata.nbgrader.get("grade_id"):
                checksum = utils.compute_checksum(cell)
                self.cells[cell.metadata.nbgrader["grade_id"]] = types.SimpleNamespace(
                    source=cell.source, locked=utils.is_locked(cell), checksum=checksum, cell_type=cell.cell_type,
                    max_score=cell.metadata.nbgrader.get("points", 0))

    def find_source_cell(self, grade_id, notebook_id, assignment_id):
        return self.cells[grade_id]

    find_graded_cell = find_source_cell


def _run(nb, gradebook, caplog):
    preprocessor = RestoreHiddenTests()
    preprocessor.gradebook, preprocessor.notebook_id, preprocessor.assignment_id = gradebook, "nb", "a"
    with caplog.at_level(logging.WARNING):
        for index, cell in enumerate(nb.cells):
            preprocessor.log = logging.getLogger("restore")
            preprocessor.preprocess_cell(cell, {}, index)
    return [r.getMessage() for r in caplog.records if "has changed" in r.getMessage()]


def test_released_test_cells_get_their_hidden_tests_back_without_a_warning(caplog):
    where = pipeline.paths()
    source, release = notebooks.read_notebook(where["source"]), notebooks.read_notebook(where["release"])
    gradebook = _Gradebook(source)
    hidden = [g for g, c in gradebook.cells.items() if "BEGIN HIDDEN TESTS" in c.source]
    assert len(hidden) >= 10  # the course's test cells do hide tests: the case nbgrader warned about
    warnings = _run(release, gradebook, caplog)
    assert warnings == []
    restored = {notebooks.grade_id(c): c.source for c in release.cells if notebooks.grade_id(c) in hidden}
    assert all(restored[g] == gradebook.cells[g].source for g in hidden)


def test_a_really_edited_test_cell_is_still_reported_and_overwritten(caplog):
    where = pipeline.paths()
    source, release = notebooks.read_notebook(where["source"]), notebooks.read_notebook(where["release"])
    gradebook = _Gradebook(source)
    edited = next(c for c in release.cells if notebooks.grade_id(c) in gradebook.cells
                  and "BEGIN HIDDEN TESTS" in gradebook.cells[notebooks.grade_id(c)].source)
    edited.source = "pass  # the student's own 'test'"
    warnings = _run(release, gradebook, caplog)
    assert len(warnings) == 1 and notebooks.grade_id(edited) in warnings[0]
    assert edited.source == gradebook.cells[notebooks.grade_id(edited)].source
    nbformat.validate(release)
