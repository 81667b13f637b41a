"""The source notebook's solution as a student's kernel holds it, for the tests of the lesson's steps
(tests/test_lesson_steps.py) and of the runtime that runs them (tests/test_lesson.py).

The right answers come from the source notebook itself: its answer cells run
here, in one namespace, once per test process (about 10 to 30 s with
TensorFlow's import). Each test then changes a few of those values the way a
student would, extracts the step's facts as the kernel does, carries them
through encode/decode as the grader receives them, and grades them with the
references of the course checkpoint.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nbgrader.utils import is_grade  # noqa: E402

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, fact_codec, introspect, lesson, lesson_steps  # noqa: E402
from cnnviz.grading import reference  # noqa: E402

SOURCE_DIR = COURSE_ROOT / "source" / ASSIGNMENT
SOURCE_NB = SOURCE_DIR / f"{ASSIGNMENT}.ipynb"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HANGUL = re.compile("[\uac00-\ud7a3]")


def _answer_cells(nb) -> list[str]:
    """Every code cell but the test cells, with nbgrader's solution markers taken out."""
    sources = []
    for cell in nb.cells:
        if cell.cell_type != "code" or is_grade(cell):
            continue
        sources.append("\n".join(line for line in cell.source.split("\n")
                                 if line.strip() not in SOLUTION_MARKERS))
    return sources


# The answer cells run once per test process, for every module that uses these fixtures: a
# fixture imported into two test modules is two fixtures to pytest, each with its own cache.
@functools.cache
def _solution() -> dict:
    nb = nbformat.read(SOURCE_NB, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    cwd = os.getcwd()
    os.chdir(SOURCE_DIR)  # the notebook loads best-cnn-model.keras from its own folder
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for source in _answer_cells(nb):
                exec(compile(source, str(SOURCE_NB), "exec"), namespace)
    finally:
        os.chdir(cwd)
    plt.close("all")
    return namespace


@pytest.fixture(scope="module")
def solution():
    """The notebook's namespace after its answer cells ran, as a student's kernel holds it."""
    return _solution()


@pytest.fixture(scope="module")
def refs():
    return reference.for_checkpoint(SOURCE_DIR / CHECKPOINT_NAME)


def found_for(grade_id: str, namespace: dict) -> dict:
    """A step's facts as the grader receives them: extracted in the kernel, encoded, decoded."""
    step, found = fact_codec.decode(fact_codec.encode(grade_id, introspect.extract(namespace, lesson_steps.STEPS[grade_id].names)))
    assert step == grade_id
    return found


def grade_all(namespace: dict, refs) -> dict[str, lesson.Verdict]:
    """Every step graded in notebook order, each with the earlier steps' facts, as TrustedChecks does."""
    earlier: dict = {}
    verdicts = {}
    for grade_id in lesson_steps.STEPS:
        found = found_for(grade_id, namespace)
        earlier[grade_id] = found
        verdicts[grade_id] = lesson.grade(grade_id, found, refs, earlier)
    return verdicts


def grade_one(grade_id: str, namespace: dict, refs) -> lesson.Verdict:
    return lesson.grade(grade_id, found_for(grade_id, namespace), refs, {})


def failed(verdicts: dict) -> list[str]:
    return [grade_id for grade_id, verdict in verdicts.items() if not verdict.passed]


def bilingual(message: str) -> tuple[str, str]:
    assert " / " in message, message
    korean, english = message.split(" / ", 1)
    assert HANGUL.search(korean) and not HANGUL.search(english), message
    return korean, english


# --------------------------------------------------------------------------- figures a student draws


def kernel_grid(kernel, column_major=False, **scale):
    fig, axs = plt.subplots(2, 16, figsize=(15, 2))
    for i in range(2):
        for j in range(16):
            k = j * 2 + i if column_major else i * 16 + j
            axs[i, j].imshow(kernel[:, :, 0, k], **(scale or {"vmin": -0.5, "vmax": 0.5}))
            axs[i, j].axis("off")
    return fig


def map_grid(maps, rows, cols, **scale):
    fig, axs = plt.subplots(rows, cols)
    for i in range(rows):
        for j in range(cols):
            axs[i, j].imshow(maps[0, :, :, i * cols + j], **scale)
            axs[i, j].axis("off")
    return fig


def hist_figure(data):
    fig, ax = plt.subplots()
    ax.hist(np.asarray(data).ravel())
    ax.set_xlabel("weight")
    ax.set_ylabel("count")
    return fig


def run(model, batch):
    return np.asarray(model(np.asarray(batch, dtype="float32"), training=False))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mistakes() -> dict[str, tuple[dict, str]]:
    """grade_id -> (changed variables, the variable the message must name)."""
    return _mistakes()


@functools.cache
def _mistakes() -> dict[str, tuple[dict, str]]:
    ns = _solution()
    model, conv_weights = ns["model"], ns["conv_weights"]
    untrained = ns["no_training_weights"]
    keras = ns["keras"]
    sequential_dense = keras.Sequential([keras.Input((784,)), keras.layers.Dense(100, activation="sigmoid"),
                                         keras.layers.Dense(10, activation="softmax")])
    sample_fig, ax = plt.subplots()
    ax.imshow(ns["train_input"][0] / 255, cmap="gray_r")
    other_image = ns["train_input"][1:2].reshape(-1, 28, 28, 1) / 255.0
    return {
        "test_load_model": ({"model": ns["dense_model"]}, "model"),
        "test_first_conv": ({"conv": model}, "conv"),
        "test_conv_weights": ({"conv_weights": ns["conv"].weights[0]}, "conv_weights"),
        "test_conv_stats": ({"conv_std": conv_weights.var()}, "conv_std"),
        "test_hist": ({"hist_fig": hist_figure(conv_weights[0, 0, 0, :])}, "hist_fig"),
        "test_kernel_grid": ({"kernel_fig": kernel_grid(conv_weights, vmin=None)}, "kernel_fig"),
        "test_untrained": ({"no_training_conv": ns["conv"], "no_training_weights": conv_weights}, "no_training_conv"),
        "test_untrained_stats": ({"no_training_std": untrained.var()}, "no_training_std"),
        "test_untrained_hist": ({"no_training_hist_fig": hist_figure(conv_weights)}, "no_training_hist_fig"),
        "test_untrained_grid": ({"no_training_kernel_fig": kernel_grid(untrained, column_major=True)},
                                "no_training_kernel_fig"),
        "test_compare": ({"std_ratio": ns["no_training_std"] / ns["conv_std"]}, "std_ratio"),
        "test_dense_model": ({"dense_model": sequential_dense}, "dense_model"),
        "test_conv_acti": ({"conv_acti": keras.Model(model.inputs, model.layers[1].output)}, "conv_acti"),
        "test_sample": ({"sample_fig": sample_fig}, "sample_fig"),
        "test_sample_batch": ({"sample_batch": ns["train_input"][0:1].reshape(-1, 28, 28, 1)}, "sample_batch"),
        "test_feature_maps_1": ({"feature_maps_1": ns["feature_maps_2"]}, "feature_maps_1"),
        "test_feature_grid_1": ({"feature_fig_1": map_grid(ns["feature_maps_1"], 4, 8, vmin=0, vmax=1)},
                                "feature_fig_1"),
        "test_conv2_acti": ({"conv2_acti": keras.Model(model.inputs, model.layers[3].output)}, "conv2_acti"),
        "test_feature_maps_2": ({"feature_maps_2": run(ns["conv2_acti"], other_image)}, "feature_maps_2"),
        "test_feature_grid_2": ({"feature_fig_2": map_grid(ns["feature_maps_2"], 4, 16)}, "feature_fig_2"),
    }
