"""Unit tests for cnnviz.lesson_steps: the 20 graded steps on facts, error carried forward, and no step that breaks.

The right answers are the source notebook's own (tests/lesson_solution.py):
each test changes a few of those values the way a student would, and grades
the step's facts as the grader receives them, with the references of the
course checkpoint.
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest
from nbgrader.utils import is_grade

from cnnviz import introspect, lesson, lesson_steps
from cnnviz.facts import Figure, Layer, Missing, Model, Value
from lesson_solution import (  # noqa: F401 - fixtures
    HANGUL, SOURCE_NB, _close_figures, bilingual, failed, found_for, grade_all, grade_one, hist_figure, kernel_grid,
    map_grid, mistakes, refs, run, solution)


# --------------------------------------------------------------------------- the solution


def test_there_are_twenty_steps_each_with_names_and_titles():
    assert len(lesson_steps.STEPS) == 20
    for grade_id, step in lesson_steps.STEPS.items():
        assert step.grade_id == grade_id and step.names
        assert HANGUL.search(step.title_ko) and not HANGUL.search(step.title_en)


def test_every_test_cell_of_the_notebook_has_a_step():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    graded = [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
              if cell.cell_type == "code" and is_grade(cell)]
    assert graded == list(lesson_steps.STEPS)


def test_the_solution_passes_every_step(solution, refs):
    verdicts = grade_all(solution, refs)
    assert {g: v.message for g, v in verdicts.items() if not v.passed} == {}


@pytest.mark.parametrize("grade_id", list(lesson_steps.STEPS))
def test_the_solution_passes_the_visible_check_in_the_kernel(solution, grade_id):
    lesson.check(grade_id, solution)


# --------------------------------------------------------------------------- one typical mistake per step


def test_a_typical_mistake_fails_each_step_naming_its_variable(solution, refs, mistakes):
    assert set(mistakes) == set(lesson_steps.STEPS)
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
    assert "conv_acti" in english and lesson_steps.STEPS["test_conv_acti"].title_en in english, english
    assert lesson_steps.STEPS["test_conv_acti"].title_ko in korean, korean


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
    assert lesson_steps.STEPS["test_conv_weights"].title_ko in korean and "`conv_weights`" in korean
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
    for other in lesson_steps.STEPS:
        if other == grade_id:
            return names
        names |= set(lesson_steps.STEPS[other].names)
    raise KeyError(grade_id)


def test_grade_never_raises_and_every_failure_is_a_course_message(solution, refs):
    for grade_id, step in lesson_steps.STEPS.items():
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
    for grade_id in lesson_steps.STEPS:
        verdict = lesson.grade(grade_id, {}, refs, {})
        assert not verdict.passed and not verdict.crashed and "not defined" in verdict.message, grade_id


def test_dense_step_fails_when_model_changed_since_it_was_loaded(solution, refs):
    earlier = {"test_load_model": found_for("test_load_model", solution)}
    keras = solution["keras"]
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    now = found_for("test_dense_model", {**solution, "model": other})
    verdict = lesson.grade("test_dense_model", now, refs, earlier)
    assert not verdict.passed and "model changed in this step" in verdict.message
