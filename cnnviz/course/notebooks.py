"""Notebook files and their nbgrader cells.

:func:`read_notebook` is the one place a notebook file is checked (the command
line, the class grader and the pipeline all read through it); the cell helpers
read nbgrader's metadata through ``nbgrader.utils`` (``is_grade``,
``is_solution``), as nbgrader's own preprocessors do. nbformat and nbgrader are
imported when first needed: ``cnnviz grade`` answers a missing or broken file
without them (importing nbgrader takes over a second).
"""

from __future__ import annotations

import json
from pathlib import Path

from cnnviz import CourseError

SOLUTION_DELIMITERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def check_file(path: Path) -> Path:
    """``path`` if it is a non-empty file, else one CourseError that says what to do (cheap: no parsing)."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such notebook file; give the path of a .ipynb file")
    if path.stat().st_size == 0:
        raise CourseError(f"{path}: the file is empty; save the notebook in JupyterLab and try again")
    return path


def read_notebook(path: Path):
    """Read a notebook (an ``nbformat.NotebookNode``), or raise one CourseError that says what is wrong."""
    path = check_file(path)
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, nbformat.reader.NotJSONError) as exc:
        raise CourseError(f"{path}: not a Jupyter notebook (not valid JSON: {str(exc)[:120]}); "
                          "open it in JupyterLab, or download it again") from None
    except Exception as exc:  # nbformat raises several kinds for malformed notebooks
        raise CourseError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__}: "
                          f"{str(exc)[:120]})".replace("\n", " ")) from None
    if not isinstance(nb.get("cells"), list):
        raise CourseError(f"{path}: not a Jupyter notebook (it has no list of cells)")
    return nb


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or None for a cell nbgrader does not track."""
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def answer_cells(nb) -> dict[str, object]:
    """The autograded answer cells of a notebook, by nbgrader grade_id."""
    from nbgrader.utils import is_solution

    return {grade_id(cell): cell for cell in nb.cells if is_solution(cell) and cell.cell_type == "code"}


def graded_cells(nb) -> dict[str, object]:
    """The graded test cells of a notebook, by grade_id, in notebook order."""
    from nbgrader.utils import is_grade

    return {grade_id(cell): cell for cell in nb.cells if is_grade(cell) and cell.cell_type == "code"}


def grade_points(nb) -> dict[str, float]:
    """Points of each graded cell, by grade_id, in notebook order."""
    from nbgrader.utils import is_grade

    return {grade_id(cell): float(cell.metadata["nbgrader"].get("points", 0))
            for cell in nb.cells if is_grade(cell)}


def solution_answers(source_nb) -> dict[str, str]:
    """The instructor's answer for each answer cell: the source cell without its delimiters."""
    return {cell_id: "\n".join(line for line in cell.source.splitlines()
                               if line.strip() not in SOLUTION_DELIMITERS)
            for cell_id, cell in answer_cells(source_nb).items()}


def fill_release(release_nb, answers: dict[str, str]):
    """A copy of the released notebook with the given answer cells' source replaced."""
    import nbformat

    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    cells = answer_cells(nb)
    unknown = set(answers) - set(cells)
    if unknown:
        raise CourseError(f"no answer cell with grade_id {sorted(unknown)} in the release")
    for cell_id, source in answers.items():
        cells[cell_id].source = source.strip("\n")
    return nb


def failure_messages(autograded_nb) -> dict[str, str]:
    """For each graded cell that raised, its last error line (``Name: message``)."""
    return {cell_id: f"{output.get('ename')}: {output.get('evalue')}"
            for cell_id, cell in graded_cells(autograded_nb).items()
            for output in cell.get("outputs", []) if output.get("output_type") == "error"}


def caught_by(autograded_nb) -> dict[str, str]:
    """For each graded cell the trusted checks failed: "visible" where the student's own
    Validate names the mistake too, "reference" where only a comparison with the grader's
    reference can, "hidden" where a hidden check on the student's own values did and Validate
    did not (``cnnviz.lesson.Verdict``)."""
    return {grade_id(cell): cell.metadata["cnnviz_caught_by"] for cell in autograded_nb.cells
            if "cnnviz_caught_by" in cell.metadata and grade_id(cell)}
