"""The one builder of nbgrader cells for the tests: metadata as nbgrader's own tools write it."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell


def nbgrader_cell(kind: str, grade_id: str, source: str = "", *, points: float = 1.0, outputs=(), **extra):
    """A cell as ``generate_assignment`` leaves it: ``answer`` (a solution), ``test`` (graded, read-only,
    ``points``) or ``locked`` (a read-only markdown cell). ``extra`` goes into its nbgrader metadata
    (``score`` of an autograded cell, ...); ``outputs`` are a code cell's outputs."""
    if kind not in ("answer", "test", "locked"):
        raise ValueError(f"kind is answer, test or locked, not {kind!r}")
    cell = new_markdown_cell(source) if kind == "locked" else new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "task": False,
                                 "solution": kind == "answer", "grade": kind == "test",
                                 "locked": kind in ("test", "locked"), **extra}
    if kind == "test":
        cell.metadata["nbgrader"]["points"] = points
    if outputs:
        cell.outputs = list(outputs)
    return cell
