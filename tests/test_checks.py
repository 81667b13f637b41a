"""Unit tests for cnnviz.checks: each value check passes on right work and fails, with its message, on typical mistakes.

The checks read plain facts (cnnviz.facts), so every value here is reduced
with cnnviz.facts, and only then checked, as in the grader. Every failure must
be one bilingual course message that never shows the expected value the check
was given (``check_messages.fails``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from check_messages import bilingual, fails, kernel, rng  # noqa: F401 - fixtures
from cnnviz import checks, introspect
from cnnviz.facts import Figure, Layer, Missing, Value

# --------------------------------------------------------------------------- require and values


def test_require_passes_when_every_name_is_defined():
    checks.require({"kernel_fig": Figure(), "x": Value("int")}, "kernel_fig", "x")


def test_require_lists_every_missing_name():
    message = fails(checks.require, {"model": Value("int")}, "model", "kernel_fig", "conv_acti",
                    match="kernel_fig, conv_acti are not defined")
    assert "model," not in message and "`kernel_fig`, `conv_acti`" in message


def test_require_treats_a_missing_record_like_an_absent_name():
    fails(checks.require, {"kernel_fig": Missing()}, "kernel_fig", match="^`kernel_fig` .* kernel_fig is not defined")


def test_require_says_the_value_may_be_stored_under_another_name():
    message = fails(checks.require, {}, "kernel_fig", match="must store the value under exactly this name")
    assert "정확히 이 이름으로" in message


@pytest.mark.parametrize("value, shape", [
    (np.arange(6.0).reshape(2, 3), (2, 3)), (0.5, (1,)), ([1, 2, 3], (3,)), (np.zeros(0), (0,)),
])
def test_numbers_returns_the_array_a_value_holds_whatever_its_size(value, shape):
    array = checks.numbers(introspect.value_facts(value), "conv_weights")
    assert array.shape == shape
    assert np.array_equal(array.ravel(), np.asarray(value, dtype=float).ravel())


@pytest.mark.parametrize("value, match", [
    ("weights", "conv_weights holds str, not numbers"),
    (None, "conv_weights holds NoneType, not numbers"),
    (Missing(), "conv_weights holds nothing, not numbers"),
    (Figure(), "conv_weights holds Figure, not numbers"),
])
def test_numbers_of_anything_else_fails_naming_what_it_holds(value, match):
    found = value if isinstance(value, (Missing, Figure)) else introspect.value_facts(value)
    fails(checks.numbers, found, "conv_weights", match=match)


@pytest.mark.parametrize("value", [0.25, np.float32(0.25), np.array(0.25), np.array([0.25]), [0.25]])
def test_number_accepts_python_numpy_and_one_element_arrays(value):
    assert checks.number(introspect.value_facts(value), "conv_mean") == pytest.approx(0.25)


@pytest.mark.parametrize("value, match", [
    (np.ones(5), "array of 5 elements"),
    (np.zeros(0), "array of 0 elements"),
    ("0.25", "conv_mean holds str, not numbers"),
    (None, "conv_mean holds NoneType, not numbers"),
    ({"a": 1}, "holds dict"),
])
def test_number_of_something_else_fails_with_one_message(value, match):
    fails(checks.number, introspect.value_facts(value), "conv_mean", match=match)


def test_number_of_missing_and_of_a_figure_fail_cleanly():
    fails(checks.number, Missing(), "conv_mean", match="holds nothing, not numbers")
    fails(checks.number, Figure(), "conv_mean", match="holds Figure, not numbers")


def test_number_close_passes_within_tolerance_and_fails_without_showing_the_expected_value():
    checks.assert_number_close(introspect.value_facts(np.float32(-0.0123456)), -0.0123456, "conv_mean", "힌트", "hint")
    message = fails(checks.assert_number_close, introspect.value_facts(0.5), -0.0123456, "conv_mean",
                    "평균을 확인하세요.", "Check the mean.", match=r"conv_mean \(0.5\) is not right. Check the mean.",
                    secret=-0.0123456)
    assert "평균을 확인하세요." in message


@pytest.mark.parametrize("found, expected", [(0.0, 0.0), (np.nan, 1.0), (1.0, np.inf), (0.0, 1e-300)])
def test_number_close_on_zero_nan_and_inf_gives_a_verdict_not_an_error(found, expected):
    value = introspect.value_facts(found)
    try:
        checks.assert_number_close(value, expected, "x", "힌트", "hint")
    except AssertionError as exc:
        bilingual(str(exc))


def test_array_close_passes_on_equal_values_and_on_float64(kernel):
    checks.assert_array_close(introspect.value_facts(kernel.copy()), kernel, "conv_weights", "힌트", "hint")
    checks.assert_array_close(introspect.value_facts(kernel.astype("float64") + 1e-7), kernel, "conv_weights", "힌트", "hint")


def test_array_of_wrong_shape_shows_only_the_found_shape(kernel):
    fails(checks.assert_array_close, introspect.value_facts(kernel[:, :, 0, :]), kernel, "conv_weights", "힌트", "hint",
          match=re.escape("conv_weights has the wrong shape (found (3, 3, 32))"), secret=kernel)


def test_array_with_other_values_shows_no_number(kernel):
    message = fails(checks.assert_array_close, introspect.value_facts(kernel * 2), kernel, "conv_weights",
                    "커널인지 확인하세요.", "It should be the kernel.", match="conv_weights holds the wrong values",
                    secret=kernel)
    assert not re.search(r"\d\.\d", message)


@pytest.mark.parametrize("value", [None, "weights", {"a": 1}])
def test_non_numeric_array_fails_cleanly(value, kernel):
    fails(checks.assert_array_close, introspect.value_facts(value), kernel, "conv_weights", "힌트", "hint",
          match="not numbers")


def test_assert_numpy_accepts_only_ndarrays(kernel):
    checks.assert_numpy(introspect.value_facts(kernel), "conv_weights")
    fails(checks.assert_numpy, introspect.value_facts(kernel.tolist()), "conv_weights",
          match="should be a NumPy array, found list .*numpy")
    fails(checks.assert_numpy, introspect.value_facts(3.0), "conv_weights", match="found float")
    fails(checks.assert_numpy, Missing(), "conv_weights", match="found nothing")


def test_assert_numpy_rejects_a_keras_variable(keras):
    variable = keras.Variable(np.zeros((3, 3), dtype="float32"))
    fails(checks.assert_numpy, introspect.value_facts(variable), "conv_weights", match="should be a NumPy array")


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_boolean_accepts_python_and_numpy_booleans(value):
    assert checks.boolean(introspect.value_facts(value), "within_limit") == bool(value)


@pytest.mark.parametrize("value", [1, 0, "True", np.array([True, False]), np.array(True), None])
def test_boolean_of_anything_else_fails(value):
    fails(checks.boolean, introspect.value_facts(value), "within_limit", match="within_limit should be True or False")


@pytest.mark.parametrize("shape", [(None, 28, 28, 32), [None, 28, 28, 32]])
def test_shape_of_tuple_or_list_with_none(shape):
    assert checks.shape_of(introspect.value_facts(shape), "s") == (None, 28, 28, 32)


def test_shape_of_a_tensorshape(keras):
    import tensorflow as tf

    assert checks.shape_of(introspect.value_facts(tf.TensorShape([3, 3, 1, 32])), "kernel_shape") == (3, 3, 1, 32)
    layer = keras.layers.Conv2D(4, 3)
    layer.build((None, 8, 8, 1))
    assert checks.shape_of(introspect.value_facts(layer.weights[0].shape), "kernel_shape") == (3, 3, 1, 4)


@pytest.mark.parametrize("value", [None, "3, 3", 3, (3.0, 3.0), (True, 3), np.zeros((3, 3))])
def test_shape_of_something_else_fails(value):
    fails(checks.shape_of, introspect.value_facts(value), "kernel_shape", match="kernel_shape should be a shape")


def test_empty_tuple_is_a_shape_of_rank_zero():
    assert checks.shape_of(introspect.value_facts(()), "s") == ()
    fails(checks.assert_rank, introspect.value_facts(()), 4, "kernel_shape",
          match=re.escape("wrong number of dimensions (found the shape ())"))


def test_assert_rank_passes_on_the_rank_and_fails_on_another():
    assert checks.assert_rank(introspect.value_facts((3, 3, 1, 32)), 4, "kernel_shape") == (3, 3, 1, 32)
    fails(checks.assert_rank, introspect.value_facts((32,)), 4, "kernel_shape",
          match=re.escape("kernel_shape has the wrong number of dimensions (found the shape (32,))"))
    fails(checks.assert_rank, Missing(), 1, "bias_shape", match="bias_shape should be a shape, found nothing")


def test_assert_shape_shows_the_found_shape_not_the_expected_one():
    checks.assert_shape(introspect.value_facts([3, 3, 1, 32]), (3, 3, 1, 32), "kernel_shape", "힌트", "hint")
    fails(checks.assert_shape, introspect.value_facts((3, 3, 32, 1)), (3, 3, 1, 32), "kernel_shape",
          "어느 가중치인지 확인하세요.", "Check which weight.",
          match=re.escape("kernel_shape is not the right shape (found (3, 3, 32, 1)). Check which weight."),
          secret=(3, 3, 1, 32))


# --------------------------------------------------------------------------- found values in words


def test_kind_of_names_values_for_messages(cnn):
    assert checks.kind_of(Missing()) == "nothing"
    assert checks.kind_of(Figure()) == "Figure"
    assert checks.kind_of(introspect.describe(cnn)) == "Sequential"
    assert checks.kind_of(introspect.value_facts(np.zeros((2, 3)))) == "ndarray (2, 3)"
    assert checks.kind_of(introspect.value_facts([1.0])) == "list (1,)"
    assert checks.kind_of(Layer(class_name="Dense", is_conv2d=False, built=False)) == "Dense"
