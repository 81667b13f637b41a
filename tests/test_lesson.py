"""Unit tests for cnnviz.lesson: the 20 graded steps on facts, error carried forward, and a grader that never raises.

The right answers come from the source notebook itself: its answer cells run
here, in one namespace, once per module (about 10 to 30 s with TensorFlow's
import). Each test then changes a few of those values the way a student
would, extracts the step's facts as the kernel does, carries them through
encode/decode as the grader receives them, and grades them with the
references of the course checkpoint.
"""

from __future__ import annotations

import contextlib
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

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, fact_codec, introspect, lesson  # noqa: E402
from cnnviz.grading import reference
from cnnviz.facts import Figure, Layer, Missing, Model, Value  # noqa: E402

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


@pytest.fixture(scope="module")
def solution():
    """The notebook's namespace after its answer cells ran, as a student's kernel holds it."""
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
def refs():
    return reference.for_checkpoint(SOURCE_DIR / CHECKPOINT_NAME)


def found_for(grade_id: str, namespace: dict) -> dict:
    """A step's facts as the grader receives them: extracted in the kernel, encoded, decoded."""
    text = fact_codec.encode(grade_id, introspect.extract(namespace, lesson.STEPS[grade_id].names))
    step, found = fact_codec.decode(text)
    assert step == grade_id
    return found


def grade_all(namespace: dict, refs) -> dict[str, lesson.Verdict]:
    """Every step graded in notebook order, each with the earlier steps' facts, as TrustedChecks does."""
    earlier: dict = {}
    verdicts = {}
    for grade_id in lesson.STEPS:
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


# --------------------------------------------------------------------------- the solution


def test_there_are_twenty_steps_each_with_names_and_titles():
    assert len(lesson.STEPS) == 20
    for grade_id, step in lesson.STEPS.items():
        assert step.grade_id == grade_id and step.names
        assert HANGUL.search(step.title_ko) and not HANGUL.search(step.title_en)


def test_every_test_cell_of_the_notebook_has_a_step():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    graded = [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
              if cell.cell_type == "code" and is_grade(cell)]
    assert graded == list(lesson.STEPS)


def test_the_solution_passes_every_step(solution, refs):
    verdicts = grade_all(solution, refs)
    assert {g: v.message for g, v in verdicts.items() if not v.passed} == {}


@pytest.mark.parametrize("grade_id", list(lesson.STEPS))
def test_the_solution_passes_the_visible_check_in_the_kernel(solution, grade_id):
    lesson.check(grade_id, solution)


def test_the_instructors_hidden_checks_pass_on_the_solution(solution, monkeypatch):
    monkeypatch.chdir(SOURCE_DIR)  # check_hidden reads the checkpoint beside the notebook
    for grade_id in lesson.STEPS:
        lesson.check(grade_id, solution)
        lesson.check_hidden(grade_id, solution)


# --------------------------------------------------------------------------- one typical mistake per step


@pytest.fixture(scope="module")
def mistakes(solution) -> dict[str, tuple[dict, str]]:
    """grade_id -> (changed variables, the variable the message must name)."""
    ns = solution
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


def test_a_typical_mistake_fails_each_step_naming_its_variable(solution, refs, mistakes):
    assert set(mistakes) == set(lesson.STEPS)
    for grade_id, (changes, name) in mistakes.items():
        verdict = grade_one(grade_id, {**solution, **changes}, refs)
        assert not verdict.passed and not verdict.crashed, (grade_id, verdict)
        korean, english = bilingual(verdict.message)
        assert f"`{name}`" in korean, (grade_id, verdict.message)
        assert re.search(rf"\b{name}\b", english), (grade_id, verdict.message)


@pytest.mark.parametrize("grade_id", ["test_first_conv", "test_conv_weights", "test_kernel_grid",
                                      "test_dense_model", "test_conv_acti", "test_sample", "test_sample_batch",
                                      "test_feature_maps_1", "test_feature_grid_1", "test_conv2_acti",
                                      "test_feature_grid_2", "test_untrained_grid", "test_untrained"])
def test_validate_in_the_kernel_already_names_these_mistakes(solution, mistakes, grade_id):
    changes, name = mistakes[grade_id]
    with pytest.raises(AssertionError, match=rf"\b{name}\b"):
        lesson.check(grade_id, {**solution, **changes})


def test_validate_names_a_conv_that_is_not_models_first_conv_layer(solution):
    keras = solution["keras"]
    model = solution["model"]
    clone = keras.models.clone_model(model)  # same layers, new random weights
    for conv in (model.layers[2], clone.layers[0]):
        with pytest.raises(AssertionError, match="conv is not the first convolution layer of model"):
            lesson.check("test_first_conv", {**solution, "conv": conv})
    clone.set_weights(model.get_weights())  # the same weights: as right as model.layers[0]
    lesson.check("test_first_conv", {**solution, "conv": clone.layers[0]})


def test_a_missing_variable_fails_with_the_require_message(solution, refs):
    namespace = {k: v for k, v in solution.items() if k != "kernel_fig"}
    verdict = grade_one("test_kernel_grid", namespace, refs)
    assert not verdict.passed and "kernel_fig is not defined" in verdict.message


# --------------------------------------------------------------------------- error carried forward


def test_unscaled_sample_batch_costs_only_its_own_step(solution, refs):
    batch = solution["train_input"][0:1].reshape(-1, 28, 28, 1)  # forgot / 255
    maps_1, maps_2 = run(solution["conv_acti"], batch), run(solution["conv2_acti"], batch)
    student = {**solution, "sample_batch": batch, "feature_maps_1": maps_1, "feature_maps_2": maps_2,
               "feature_fig_1": map_grid(maps_1, 4, 8), "feature_fig_2": map_grid(maps_2, 8, 8)}
    verdicts = grade_all(student, refs)
    assert failed(verdicts) == ["test_sample_batch"], {g: v.message for g, v in verdicts.items()}


def test_maps_of_another_batch_than_the_students_own_fail(solution, refs):
    batch = solution["train_input"][0:1].reshape(-1, 28, 28, 1)
    student = {**solution, "sample_batch": batch}  # the maps still come from the right, scaled batch
    verdicts = grade_all(student, refs)
    assert failed(verdicts) == ["test_sample_batch", "test_feature_maps_1", "test_feature_maps_2"]


def test_maps_of_a_model_not_built_on_models_layers_name_that_models_step(solution, refs):
    keras = solution["keras"]
    inputs = keras.Input(shape=(28, 28, 1))
    fresh = keras.Model(inputs, keras.layers.Conv2D(32, 3, activation="relu", padding="same")(inputs))
    maps_1 = run(fresh, solution["sample_batch"])
    student = {**solution, "conv_acti": fresh, "feature_maps_1": maps_1, "feature_fig_1": map_grid(maps_1, 4, 8)}
    verdicts = grade_all(student, refs)
    # The maps are that model's output, which no one can recompute: the maps step names conv_acti's step.
    assert failed(verdicts) == ["test_conv_acti", "test_feature_maps_1"], {g: v.message for g, v in verdicts.items()}
    korean, english = bilingual(verdicts["test_feature_maps_1"].message)
    assert "conv_acti" in english and lesson.STEPS["test_conv_acti"].title_en in english, english
    assert lesson.STEPS["test_conv_acti"].title_ko in korean, korean


def test_the_third_layer_as_conv_costs_only_the_first_conv_step(solution, refs):
    conv = solution["model"].layers[2]
    weights = conv.weights[0].numpy()
    student = {
        **solution, "conv": conv, "kernel_shape": conv.weights[0].shape, "bias_shape": conv.weights[1].shape,
        "conv_weights": weights, "conv_mean": weights.mean(), "conv_std": weights.std(),
        "hist_fig": hist_figure(weights), "kernel_fig": kernel_grid(weights),
        "std_ratio": weights.std() / solution["no_training_std"],
    }
    verdicts = grade_all(student, refs)
    assert failed(verdicts) == ["test_first_conv"], {g: v.message for g, v in verdicts.items()}
    assert "conv is not the first convolution layer" in verdicts["test_first_conv"].message


def test_missing_conv_weights_stats_are_judged_on_the_reference(solution, refs):
    without = {k: v for k, v in solution.items() if k != "conv_weights"}
    assert grade_one("test_conv_stats", without, refs).passed
    assert grade_one("test_hist", without, refs).passed
    assert grade_one("test_kernel_grid", without, refs).passed


def test_missing_conv_weights_and_wrong_stats_name_the_step_to_complete_first(solution, refs):
    without = {k: v for k, v in solution.items() if k != "conv_weights"}
    verdict = grade_one("test_conv_stats", {**without, "conv_mean": 0.5}, refs)
    assert not verdict.passed and not verdict.crashed
    korean, english = bilingual(verdict.message)
    assert lesson.STEPS["test_conv_weights"].title_ko in korean and "`conv_weights`" in korean
    assert "the kernel array" in english and "complete that step first" in english


def test_stats_of_the_students_own_kernel_pass_even_if_that_kernel_is_wrong(solution, refs):
    wrong = solution["conv_weights"] * 2
    student = {**solution, "conv_weights": wrong, "conv_mean": wrong.mean(), "conv_std": wrong.std()}
    assert not grade_one("test_conv_weights", student, refs).passed
    assert grade_one("test_conv_stats", student, refs).passed


def test_untrained_steps_without_any_untrained_kernel_name_the_untrained_step(solution, refs):
    without = {k: v for k, v in solution.items() if k not in ("no_training_weights", "no_training_conv")}
    for grade_id in ("test_untrained_stats", "test_untrained_hist", "test_untrained_grid"):
        verdict = grade_one(grade_id, without, refs)
        assert not verdict.passed and not verdict.crashed, grade_id
        assert "the untrained layer" in verdict.message and "complete that step first" in verdict.message


def test_untrained_layer_without_relu_costs_only_its_own_step(solution, refs):
    keras = solution["keras"]
    layer = keras.layers.Conv2D(32, kernel_size=3, padding="same")  # activation forgotten
    layer.build((None, 28, 28, 1))
    weights = layer.kernel.numpy()
    student = {
        **solution, "no_training_conv": layer, "no_training_weights": weights,
        "no_training_mean": weights.mean(), "no_training_std": weights.std(),
        "no_training_hist_fig": hist_figure(weights), "no_training_kernel_fig": kernel_grid(weights),
        "std_ratio": solution["conv_std"] / weights.std(),
        "within_limit": bool(np.all(np.abs(weights) <= solution["glorot_limit"])),
    }
    verdicts = grade_all(student, refs)
    assert failed(verdicts) == ["test_untrained"], {g: v.message for g, v in verdicts.items()}
    assert "activation" in verdicts["test_untrained"].message


# --------------------------------------------------------------------------- the grader never raises


JUNK = [Missing(), Value(type_name="str"), Figure(), Layer(class_name="Dense", is_conv2d=False, built=False),
        Model(class_name="Sequential", is_sequential=True), Value(type_name="ndarray", is_numpy=True, array=np.zeros(0))]


def _earlier_names(grade_id: str) -> set[str]:
    """Names of ``grade_id`` that an earlier step produces (error carried forward reads them)."""
    names: set[str] = set()
    for other in lesson.STEPS:
        if other == grade_id:
            return names
        names |= set(lesson.STEPS[other].names)
    raise KeyError(grade_id)


def test_grade_never_raises_and_every_failure_is_a_course_message(solution, refs):
    for grade_id, step in lesson.STEPS.items():
        right = found_for(grade_id, solution)
        for name in step.names:
            for junk in JUNK:
                verdict = lesson.grade(grade_id, {**right, name: junk}, refs, {})
                assert not verdict.crashed, (grade_id, name, junk, verdict.message)
                # A derived fact (`train_input[0]`, `conv_acti(sample_batch)`) only feeds a visible twin.
                if name not in _earlier_names(grade_id) and not introspect.DERIVED.match(name):
                    assert not verdict.passed, (grade_id, name, junk)
                if not verdict.passed:
                    bilingual(verdict.message)


def test_a_step_with_no_facts_at_all_fails_with_the_require_message(refs):
    for grade_id in lesson.STEPS:
        verdict = lesson.grade(grade_id, {}, refs, {})
        assert not verdict.passed and not verdict.crashed and "not defined" in verdict.message, grade_id


def test_a_check_that_itself_breaks_is_reported_as_crashed(solution):
    verdict = lesson.grade("test_load_model", found_for("test_load_model", solution), None, {})
    assert not verdict.passed and verdict.crashed
    assert "AttributeError" in verdict.message
    bilingual(verdict.message)


def test_dense_step_fails_when_model_changed_since_it_was_loaded(solution, refs):
    earlier = {"test_load_model": found_for("test_load_model", solution)}
    keras = solution["keras"]
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    now = found_for("test_dense_model", {**solution, "model": other})
    verdict = lesson.grade("test_dense_model", now, refs, earlier)
    assert not verdict.passed and "model changed in this step" in verdict.message


# --------------------------------------------------------------------------- handing facts to the grader


def test_check_hands_its_facts_over_even_when_the_visible_check_fails(solution, mistakes, monkeypatch):
    import IPython.display

    published = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kwargs: published.append(data))
    monkeypatch.setattr(lesson, "_publishing", False)
    lesson.check("test_conv_stats", solution)
    assert published == []  # Validate and the student's own runs hand nothing over
    lesson.publish_facts()
    changes, _ = mistakes["test_kernel_grid"]
    with pytest.raises(AssertionError):
        lesson.check("test_kernel_grid", {**solution, **changes})
    (data,) = published
    step, found = fact_codec.decode(data[fact_codec.MIME_TYPE])
    assert step == "test_kernel_grid" and set(found) == set(lesson.STEPS["test_kernel_grid"].names)
    assert not lesson.grade(step, found, reference.for_checkpoint(SOURCE_DIR / CHECKPOINT_NAME), {}).passed


def test_a_passing_test_cell_says_so_in_one_short_bilingual_line(solution, capsys):
    lesson.check("test_load_model", solution)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [lesson.PASSED]
    korean, english = bilingual(lesson.PASSED)
    assert len(lesson.checks.wrap(lesson.PASSED)) == 1, "the passing line must fit one line of the Validate dialog"


def test_a_failing_test_cell_prints_no_passing_line(solution, mistakes, capsys):
    changes, _ = mistakes["test_first_conv"]
    with pytest.raises(AssertionError):
        lesson.check("test_first_conv", {**solution, **changes})
    assert lesson.PASSED not in capsys.readouterr().out
