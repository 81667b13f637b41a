"""RestoreHiddenTests, nbgrader's OverwriteCells preprocessor without its warning for released test cells."""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class RestoreHiddenTests(OverwriteCells):
    """nbgrader's OverwriteCells, which puts back a test cell as released without one warning per cell.

    ``generate_assignment`` saves each test cell with its hidden tests in the
    gradebook and releases it without them (``ClearHiddenTests``), so every
    submitted test cell differs from its gradebook copy and nbgrader's
    OverwriteCells logs "Attribute 'checksum' for cell test_... has changed!"
    for each one, though nobody edited it. A cell that is exactly the release
    (the gradebook copy with its hidden tests cleared, by nbgrader's own
    preprocessor) gets its hidden tests back here, quietly; any other change to
    a read-only cell still gets nbgrader's warning and is overwritten by it.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.cell_type == "code":
            from nbgrader.api import MissingEntry

            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None
            if source is not None and source.locked and cell.source != source.source \
                    and cell.source == released_source(cell, source.source):
                cell.source = source.source
        return super().preprocess_cell(cell, resources, cell_index)


def released_source(cell, full_source: str) -> str:
    """What ``generate_assignment`` released of a cell whose gradebook source is ``full_source``."""
    import copy

    released = copy.deepcopy(cell)
    released.source = full_source
    released, _ = ClearHiddenTests().preprocess_cell(released, {}, 0)
    return released.source
