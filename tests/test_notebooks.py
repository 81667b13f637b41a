"""The assignment notebook source/cnn_visualization/cnn_visualization.ipynb.

Slow tests run the source notebook (solutions and hidden tests included) in a
fresh kernel, in a copy of the assignment folder, once with the committed
checkpoint and once with other checkpoints of the same architecture. Fast tests
read the notebook's JSON: nbgrader metadata, points, and the shape of the test
cells.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_grade, is_solution

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT
from cnnviz.course import nbrun, notebooks
from cnnviz.course.notebooks import grade_id as grade_id_of

SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
SOURCE_NB = SOURCE_DIR / f"{ASSIGNMENT}.ipynb"

GRADED_CELLS = 20
TOTAL_POINTS = 100
# Lines of test code per test cell, not counting nbgrader's HIDDEN TESTS marker lines.
MAX_TEST_CELL_LINES = 15

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"


# --------------------------------------------------------------------------- helpers

def _copy_assignment(tmp_path: Path, hidden: bool = True) -> Path:
    """The assignment's folder copied into ``tmp_path``; without ``hidden``, its test cells lose their hidden blocks."""
    folder = tmp_path / ASSIGNMENT
    shutil.copytree(SOURCE_DIR, folder)
    if not hidden:
        nb = nbformat.read(folder / SOURCE_NB.name, as_version=4)
        for cell in nb.cells:
            if is_grade(cell):
                cell.source = _hidden_split(cell.source)[0]
        nbformat.write(nb, folder / SOURCE_NB.name)
    return folder


def _execute(folder: Path) -> nbformat.NotebookNode:
    """Run the notebook in ``folder`` top to bottom in a fresh python3 kernel, as nbgrader would."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(folder / SOURCE_NB.name, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute(env=nbrun.nbgrader_env())
    except CellExecutionError as exc:
        pytest.fail(f"the source notebook stopped with an error in {folder}:\n{str(exc)[-3000:]}")
    return nb


def _errors(nb) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                grade_id = grade_id_of(cell) or "?"
                found.append(f"cell {index} ({grade_id}): {output.get('ename')}: {output.get('evalue')}")
    return found


def _stdout(nb, grade_id: str) -> str:
    for cell in nb.cells:
        if grade_id_of(cell) == grade_id:
            return "".join(o.get("text", "") for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream" and o.get("name") == "stdout")
    raise AssertionError(f"no cell with grade_id {grade_id!r} in the executed notebook")


def _source_nb():
    return nbformat.read(SOURCE_NB, as_version=4)


def _nbgrader_cells(nb):
    return [cell for cell in nb.cells if "nbgrader" in cell.metadata]


def _test_cells(nb):
    return [cell for cell in nb.cells
            if cell.cell_type == "code" and is_grade(cell)]


def _solution_cells(nb):
    return [cell for cell in nb.cells
            if cell.cell_type == "code" and is_solution(cell)]


def _hidden_split(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source."""
    if HIDDEN_BEGIN not in source:
        return source, ""
    before, rest = source.split(HIDDEN_BEGIN, 1)
    hidden, after = rest.split(HIDDEN_END, 1)
    return before + after, hidden


# --------------------------------------------------------------------------- running it

@pytest.mark.slow
def test_source_notebook_runs_top_to_bottom_without_error_and_keeps_the_students_random_state(tmp_path):
    nb = _execute(_copy_assignment(tmp_path))

    errors = _errors(nb)
    assert not errors, "the source notebook (solutions and hidden tests) has error outputs:\n" + "\n".join(errors)
    # The untrained layer's mean and std depend on keras.utils.set_random_seed(42) in the setup
    # cell and on every random draw before the layer is built: recomputed by the same notebook
    # without its hidden tests, they must be the same, whatever the library versions draw.
    printed = _stdout(nb, "untrained")
    visible = _stdout(_execute(_copy_assignment(tmp_path / "visible", hidden=False)), "untrained")
    assert printed.strip() and printed == visible, (
        f"the untrained layer's shape/mean/std printed {printed!r} with the hidden tests and {visible!r} "
        "without: a hidden test before it moves Python's, NumPy's or Keras' random state"
    )


def _noisy_checkpoint(original: Path, target: Path, seed: int = 2024, scale: float = 0.05) -> None:
    """The same model with each weight array w replaced by w + N(0, scale * std(w))."""
    import keras
    import numpy as np

    model = keras.models.load_model(original)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([w + rng.normal(0.0, max(scale * float(w.std()), 1e-3), w.shape).astype(w.dtype)
                               for w in weights])
    model.save(target)


def _retrained_checkpoint(target: Path, seed: int = 7) -> None:
    """Another training run of the course's architecture: 5000 images, 4 epochs, another seed (~15 s).

    Short runs leave the first kernel's spread close to the Glorot initialisation, and
    the notebook's test_compare requires a trained std 1.5 times the untrained one;
    4 epochs at learning rate 0.005 give about 2 times, as a real checkpoint does.
    """
    import keras

    from cnnviz.course import training

    keras.utils.set_random_seed(seed)
    (x_train, y_train), _, _ = training.load_scaled_data()
    model = training.build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train[:5000], y_train[:5000], epochs=4, verbose=0)
    model.save(target)


@pytest.mark.slow
@pytest.mark.parametrize("make_checkpoint", [
    pytest.param(lambda original, target: _noisy_checkpoint(original, target), id="noisy-weights"),
    pytest.param(lambda original, target: _retrained_checkpoint(target), id="retrained-5000-images"),
])
def test_every_test_passes_with_another_checkpoint_of_the_same_architecture(tmp_path, make_checkpoint):
    import numpy as np

    from cnnviz.grading import reference

    folder = _copy_assignment(tmp_path)
    checkpoint = folder / CHECKPOINT_NAME
    original = tmp_path / "original.keras"
    shutil.move(checkpoint, original)
    make_checkpoint(original, checkpoint)
    assert checkpoint.is_file(), f"the replacement checkpoint was not written to {checkpoint}"
    old_kernel = reference.for_checkpoint(original).kernel
    new_kernel = reference.for_checkpoint(checkpoint).kernel
    assert not np.allclose(old_kernel, new_kernel, atol=1e-4), \
        "the replacement checkpoint has the committed first kernel: the test would prove nothing"

    nb = _execute(folder)

    errors = _errors(nb)
    assert not errors, ("with another checkpoint the source notebook has error outputs (an expected value "
                        "that follows one checkpoint only?):\n" + "\n".join(errors))
    # The solution prints conv_mean and conv_std (NumPy float32 scalars) of the kernel it loaded.
    printed = _stdout(nb, "conv_weights").splitlines()
    expected = f"{new_kernel.mean()!s} {new_kernel.std()!s}"
    committed = f"{old_kernel.mean()!s} {old_kernel.std()!s}"
    assert expected in printed and committed not in printed, (
        f"the notebook printed the kernel mean/std {printed}, expected {expected!r} from the replacement "
        f"checkpoint ({committed!r} is the committed one's): it did not load the checkpoint in its own folder"
    )


# --------------------------------------------------------------------------- reading it

def test_source_notebook_has_no_outputs_and_no_execution_counts():
    dirty = [f"cell {i}" for i, cell in enumerate(_source_nb().cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"the source notebook is committed with outputs or execution counts in: {dirty}"


def test_twenty_graded_cells_share_100_points():
    points = notebooks.grade_points(_source_nb())
    assert len(points) == GRADED_CELLS, f"expected {GRADED_CELLS} graded cells, found {len(points)}: {list(points)}"
    assert sum(points.values()) == TOTAL_POINTS, \
        f"the graded cells' points sum to {sum(points.values())}, not {TOTAL_POINTS}: {points}"


def test_nbgrader_metadata_is_schema_3_with_unique_grade_ids():
    cells = _nbgrader_cells(_source_nb())
    old = [cell.metadata.nbgrader.get("grade_id") for cell in cells
           if cell.metadata.nbgrader.get("schema_version") != 3]
    assert not old, f"nbgrader cells without schema_version 3: {old}"
    ids = [cell.metadata.nbgrader.get("grade_id") for cell in cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"grade_ids used more than once: {duplicates}"
    assert all(ids), "an nbgrader cell has no grade_id"


def test_every_test_cell_starts_with_a_docstring_korean_line_then_english_line():
    """Validate quotes a failed test cell in a box that never wraps: each line must fit it."""
    from cnnviz.message_layout import SCREEN_COLUMNS, screen_columns

    bad = []
    for cell in _test_cells(_source_nb()):
        lines = cell.source.splitlines()[:2]
        if not (len(lines) == 2 and re.fullmatch(r'""".*[\uac00-\ud7a3].*', lines[0])
                and re.fullmatch(r'[^\uac00-\ud7a3]+"""', lines[1])
                and all(screen_columns(line) <= SCREEN_COLUMNS for line in lines)):
            bad.append(cell.metadata.nbgrader.grade_id)
    assert not bad, f"test cells that do not start with a Korean line and an English line of docstring: {bad}"


def test_every_test_cell_runs_its_own_step_visibly_and_hides_only_the_hidden_checks():
    from cnnviz import lesson_steps

    wrong = []
    for cell in _test_cells(_source_nb()):
        grade_id = cell.metadata.nbgrader.grade_id
        visible, hidden = _hidden_split(cell.source)
        if (grade_id not in lesson_steps.STEPS or f'lesson.check("{grade_id}", globals())' not in visible
                or "check_hidden" in visible or f'lesson.check_hidden("{grade_id}", globals())' not in hidden):
            wrong.append(grade_id)
    assert not wrong, f"test cells that do not run their own step of cnnviz.lesson_steps (visible, then hidden): {wrong}"
    graded = {cell.metadata.nbgrader.grade_id for cell in _test_cells(_source_nb())}
    assert graded == set(lesson_steps.STEPS), f"steps without a test cell: {sorted(set(lesson_steps.STEPS) - graded)}"


def test_hidden_blocks_are_well_formed():
    bad = [cell.metadata.nbgrader.grade_id for cell in _test_cells(_source_nb())
           if cell.source.count(HIDDEN_BEGIN) != cell.source.count(HIDDEN_END)
           or cell.source.count(HIDDEN_BEGIN) > 1
           or (HIDDEN_BEGIN in cell.source and cell.source.index(HIDDEN_BEGIN) > cell.source.index(HIDDEN_END))]
    assert not bad, f"test cells with unmatched or repeated HIDDEN TESTS markers: {bad}"


def test_test_cells_are_short():
    long = {}
    for cell in _test_cells(_source_nb()):
        lines = [line for line in cell.source.splitlines() if line.strip() not in (HIDDEN_BEGIN, HIDDEN_END)]
        if len(lines) > MAX_TEST_CELL_LINES:
            long[cell.metadata.nbgrader.grade_id] = len(lines)
    assert not long, f"test cells longer than {MAX_TEST_CELL_LINES} lines of test code: {long}"


def test_no_test_cell_holds_a_number_that_looks_like_a_checkpoint_statistic():
    # A float literal with 4 or more decimals (0.2200, -0.010056901, 1.2345e-3) would be a
    # value read off one checkpoint; the tests must recompute such values from the files.
    pattern = re.compile(r"(?<![\w.])\d*\.\d{4,}(?:[eE][-+]?\d+)?")
    found = {cell.metadata.nbgrader.grade_id: pattern.findall(cell.source)
             for cell in _test_cells(_source_nb()) if pattern.search(cell.source)}
    assert not found, f"test cells with hard-coded precise numbers: {found}"


def test_every_solution_cell_has_exactly_one_begin_end_solution_pair():
    bad = {}
    for cell in _solution_cells(_source_nb()):
        lines = [line.strip() for line in cell.source.splitlines()]
        begins = [i for i, line in enumerate(lines) if line == SOLUTION_BEGIN]
        ends = [i for i, line in enumerate(lines) if line == SOLUTION_END]
        if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
            bad[cell.metadata.nbgrader.grade_id] = (len(begins), len(ends))
    assert not bad, f"solution cells without exactly one ordered BEGIN/END SOLUTION pair (begins, ends): {bad}"
