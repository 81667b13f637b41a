"""release/ and solutions/ stay true to source/.

``release/`` is what ``nbgrader generate_assignment`` makes from ``source/``
and holds no answer and no hidden test; ``solutions/`` is what
``nbgrader generate_solution`` makes: the source notebook executed, figures
included. Both are committed; ``python -m cnnviz release`` regenerates them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import nbrun, notebooks, pipeline
from cnnviz.grading import deadlines
from cnnviz.course.notebooks import grade_id as grade_id_of

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT
SOLUTIONS_DIR = COURSE_ROOT / "solutions" / ASSIGNMENT
REGENERATE = "regenerate it with `python -m cnnviz release`"

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB = "raise NotImplementedError()"
MIN_FIGURES = 7

# nbgrader 0.9.6's Validator (nbgrader/validator.py) writes these on success.
VALIDATE_SUCCESS = "Success! Your notebook passes all the tests."
VALIDATE_INVERT_SUCCESS = "Success! The notebook does not pass any tests."


def _read(path: Path):
    assert path.is_file(), f"{path} is missing: {REGENERATE}"
    return nbformat.read(path, as_version=4)


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _solution_lines(source_nb) -> list[str]:
    """Each non-trivial line the instructor wrote between BEGIN and END SOLUTION."""
    lines = []
    for cell in notebooks.answer_cells(source_nb).values():
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == SOLUTION_MARKERS[0]:
                inside = True
            elif stripped == SOLUTION_MARKERS[1]:
                inside = False
            elif inside and len(stripped) >= 12 and not stripped.startswith(("for ", "#")):
                lines.append(stripped)
    return lines


def _without_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


# --------------------------------------------------------------------------- release

@pytest.mark.slow
def test_release_is_exactly_what_generate_assignment_makes_from_source(tmp_path):
    course = pipeline.scratch_course(tmp_path)
    made = _files(course / "release" / ASSIGNMENT)
    committed = _files(RELEASE_DIR)

    assert sorted(committed) == sorted(made), \
        f"release/ holds {sorted(committed)}, generate_assignment makes {sorted(made)}: {REGENERATE}"
    for name, path in made.items():
        if name.endswith(".ipynb"):
            ours, theirs = json.loads(committed[name].read_text()), json.loads(path.read_text())
            ours["cells"] = _without_notice(ours["cells"])
            differing = [i for i, (a, b) in enumerate(zip(ours["cells"], theirs["cells"])) if a != b]
            assert ours == theirs, (f"release/{ASSIGNMENT}/{name} differs from a fresh generate_assignment "
                                    f"(cells {differing}, or notebook metadata): {REGENERATE}")
        else:
            assert committed[name].read_bytes() == path.read_bytes(), \
                f"release/{ASSIGNMENT}/{name} differs from source/: {REGENERATE}"


def _without_notice(cells: list) -> list:
    """The release's cells less the due-date notice, which comes from the gradebook, not source/
    (cnnviz.grading.deadlines.DeadlineNotice: a course that set a due date releases it)."""
    return [cell for cell in cells if not cell.get("metadata", {}).get(deadlines.NOTICE_MARK)]


def _without_hidden_tests(source: str) -> list[str]:
    """A test cell's non-blank lines as ClearHiddenTests leaves them: the hidden block cut out."""
    kept, hidden = [], False
    for line in source.splitlines():
        if line.strip() in HIDDEN_MARKERS:
            hidden = line.strip() == HIDDEN_MARKERS[0]
            continue
        if not hidden and line.strip():
            kept.append(line)
    return kept


def test_release_matches_source_without_running_nbgrader():
    """Release drift, fast: the committed release is the source, cell for cell, with the answers
    stubbed and the hidden tests cut; every other file is the source's (the slow test above
    compares with a fresh generate_assignment byte for byte)."""
    source_nb, release_nb = _read(SOURCE_DIR / NOTEBOOK), _read(RELEASE_DIR / NOTEBOOK)
    release_nb.cells = _without_notice(release_nb.cells)
    ids = [(cell.cell_type, grade_id_of(cell)) for cell in source_nb.cells]
    assert [(cell.cell_type, grade_id_of(cell)) for cell in release_nb.cells] == ids, \
        f"release/ has other cells than source/: {REGENERATE}"
    answers = notebooks.answer_cells(source_nb)
    drift = []
    for source, release in zip(source_nb.cells, release_nb.cells):
        if grade_id_of(source) in answers:
            same = STUB in release.source and not set(_solution_lines(source_nb)) & set(release.source.splitlines())
        elif is_grade(source):
            same = _without_hidden_tests(source.source) == _without_hidden_tests(release.source)
        else:
            same = source.source == release.source
        if not same:
            drift.append(grade_id_of(source) or source.source.splitlines()[0][:40] if source.source else "?")
    assert drift == [], f"release/ differs from source/ in the cells {drift}: {REGENERATE}"
    files = {name for name in _files(SOURCE_DIR) if not name.endswith(".ipynb")}
    assert files == {name for name in _files(RELEASE_DIR) if not name.endswith(".ipynb")}
    for name in files:
        assert (SOURCE_DIR / name).read_bytes() == (RELEASE_DIR / name).read_bytes(), \
            f"release/{ASSIGNMENT}/{name} differs from source/: {REGENERATE}"


def test_release_notebook_holds_no_solution_no_hidden_test_and_no_reference():
    release_nb = _read(RELEASE_DIR / NOTEBOOK)
    text = "\n".join(cell.source for cell in release_nb.cells)
    for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
        assert marker not in text, f"the release notebook still holds {marker!r}: {REGENERATE}"
    assert not re.search(r"\breference\b", "\n".join(c.source for c in release_nb.cells if c.cell_type == "code")), \
        "a code cell of the release mentions cnnviz.grading.reference, which only hidden tests may use"
    outputs = [i for i, c in enumerate(release_nb.cells) if c.cell_type == "code" and c.get("outputs")]
    assert not outputs, f"release cells {outputs} have outputs (printed values students should compute)"


def test_release_notebook_holds_none_of_the_instructors_solution_lines():
    source_nb = _read(SOURCE_DIR / NOTEBOOK)
    release_nb = _read(RELEASE_DIR / NOTEBOOK)
    # A line the instructions already show (e.g. `hist_fig, hist_ax = plt.subplots()`) gives nothing away.
    instructions = "\n".join(c.source for c in source_nb.cells if c.cell_type == "markdown")
    secret = [line for line in _solution_lines(source_nb) if line not in instructions]
    assert len(secret) >= 20, f"found only {len(secret)} solution lines in the source: the test would prove little"
    text = "\n".join(cell.source for cell in release_nb.cells)
    leaked = [line for line in secret if line in text]
    assert not leaked, f"the release notebook gives away solution lines: {leaked}"


def test_every_answer_cell_of_the_release_holds_the_stub():
    source_ids = set(notebooks.answer_cells(_read(SOURCE_DIR / NOTEBOOK)))
    cells = notebooks.answer_cells(_read(RELEASE_DIR / NOTEBOOK))
    assert set(cells) == source_ids, \
        f"the release's answer cells {sorted(cells)} are not the source's {sorted(source_ids)}: {REGENERATE}"
    missing = [grade_id for grade_id, cell in cells.items() if STUB not in cell.source.splitlines()]
    assert not missing, f"answer cells of the release without the line {STUB!r}: {missing}"


# --------------------------------------------------------------------------- validate

def _validate(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nbgrader", "validate", *args, NOTEBOOK], cwd=folder,
                          env=nbrun.nbgrader_env(), text=True, capture_output=True, timeout=900)


@pytest.mark.slow
def test_source_notebook_passes_nbgrader_validate(tmp_path):
    folder = tmp_path / ASSIGNMENT
    shutil.copytree(SOURCE_DIR, folder)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    result = _validate(folder)
    assert result.returncode == 0, f"nbgrader validate exited {result.returncode}:\n{result.stderr[-2000:]}"
    assert VALIDATE_SUCCESS in result.stdout, \
        f"nbgrader validate did not pass the source notebook:\n{result.stdout[-3000:]}{result.stderr[-1500:]}"


@pytest.mark.slow
def test_release_notebook_passes_no_test_under_nbgrader_validate_invert(tmp_path):
    folder = tmp_path / ASSIGNMENT
    shutil.copytree(RELEASE_DIR, folder)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    result = _validate(folder, "--invert")
    assert result.returncode == 0, f"nbgrader validate --invert exited {result.returncode}:\n{result.stderr[-2000:]}"
    assert VALIDATE_INVERT_SUCCESS in result.stdout, \
        f"some test of the untouched release passes (or its cells changed):\n{result.stdout[-3000:]}"


# --------------------------------------------------------------------------- solutions

def test_solutions_are_committed_executed_and_free_of_errors():
    nb = _read(SOLUTIONS_DIR / NOTEBOOK)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    unexecuted = [i for i, c in code if c.get("execution_count") is None]
    assert not unexecuted, f"solutions/ cells {unexecuted} were not executed: {REGENERATE}"
    counts = [c.execution_count for _, c in code]
    assert counts == list(range(1, len(code) + 1)), \
        f"solutions/ was not run top to bottom in one kernel (execution counts {counts}): {REGENERATE}"
    errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in code
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "solutions/ holds error outputs:\n" + "\n".join(errors)


def test_solutions_show_the_figures():
    nb = _read(SOLUTIONS_DIR / NOTEBOOK)
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                  for o in c.get("outputs", []))
    assert figures >= MIN_FIGURES, f"solutions/ shows {figures} PNG figures, expected at least {MIN_FIGURES}"


def test_solutions_code_is_the_source_code_with_the_solution_markers_removed():
    # nbgrader 0.9.6's generate_solution (IncludeHeaderFooter, LockCells, ClearOutput,
    # ClearMarkScheme, Execute) keeps the cells' source; compare without the solution
    # delimiters so that stripping them, as notebooks.solution_answers does, is fine too.
    source = [c.source for c in _read(SOURCE_DIR / NOTEBOOK).cells]
    solutions = [c.source for c in _read(SOLUTIONS_DIR / NOTEBOOK).cells]
    assert len(solutions) == len(source), \
        f"solutions/ has {len(solutions)} cells, source/ {len(source)}: {REGENERATE}"
    differing = [i for i, (a, b) in enumerate(zip(source, solutions))
                 if _without_solution_markers(a) != _without_solution_markers(b)]
    assert not differing, f"solutions/ cells {differing} differ from source/: {REGENERATE}"


def test_solutions_folder_holds_the_same_checkpoint_as_source():
    for name in ("best-cnn-model.keras", "best-cnn-model.json"):
        ours, theirs = SOLUTIONS_DIR / name, SOURCE_DIR / name
        assert ours.is_file(), f"solutions/{ASSIGNMENT}/{name} is missing: {REGENERATE}"
        assert ours.read_bytes() == theirs.read_bytes(), \
            f"solutions/{ASSIGNMENT}/{name} differs from source/: {REGENERATE}"
