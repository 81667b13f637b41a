"""Unit tests for cnnviz.keras_checks: Conv2D layers, a fresh Glorot-uniform kernel, functional models.

The Keras objects here are built live (``keras`` and ``cnn`` fixtures of
conftest.py), reduced with cnnviz.facts, and only then checked, as in the
grader. Every failure must be one bilingual course message that never shows
the expected value the check was given.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from check_messages import fails
from cnnviz import introspect, keras_checks
from cnnviz.facts import Missing, Model

def dense_net(keras, input_shape=(784,), hidden_activation="sigmoid", hidden_units=100):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    x = keras.layers.Dense(hidden_units, activation=hidden_activation)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_right_conv2d_passes_and_gives_its_weights(cnn):
    found = keras_checks.conv2d(introspect.describe(cnn.layers[0]), "conv")
    assert found.weights[0].shape == (3, 3, 1, 4)
    keras_checks.assert_conv_settings(found, "conv", filters=4, kernel_size=(3, 3), activation="relu", padding="same")


def test_conv2d_given_the_model_fails(cnn):
    # Issue 11: `conv = model` passed test_first_conv.
    fails(keras_checks.conv2d, introspect.describe(cnn), "conv", match="conv should be a Keras layer, found Sequential")


def test_conv2d_given_another_layer_says_what_it_found(cnn):
    fails(keras_checks.conv2d, introspect.describe(cnn.layers[1]), "conv",
          match="conv should be a Conv2D layer, found a MaxPooling2D layer")


def test_conv2d_given_a_weight_or_nothing_fails(cnn):
    fails(keras_checks.conv2d, introspect.describe(cnn.layers[0].kernel), "conv", match="should be a Keras layer, found Variable")
    fails(keras_checks.conv2d, Missing(), "conv", match="found nothing")


def test_unbuilt_conv2d_gets_the_course_message_not_the_keras_error(keras):
    layer = keras.layers.Conv2D(32, 3, activation="relu", padding="same")
    message = fails(keras_checks.conv2d, introspect.describe(layer), "no_training_conv",
                    match="no_training_conv has no weights yet: add a keras.layers.Input")
    assert "You must build" not in message


@pytest.mark.parametrize("kwargs, what", [
    ({"filters": 8}, "number of filters"),
    ({"kernel_size": (5, 5)}, "kernel size"),
    ({"activation": "sigmoid"}, "activation"),
    ({"padding": "valid"}, "padding"),
])
def test_conv_settings_name_the_wrong_setting(cnn, kwargs, what):
    settings = {"filters": 4, "kernel_size": (3, 3), "activation": "relu", "padding": "same", **kwargs}
    found = introspect.describe(cnn.layers[0])
    fails(keras_checks.assert_conv_settings, found, "no_training_conv", **settings,
          match=f"the {what} of no_training_conv is not the one the instructions give",
          secret=None)


def test_conv_settings_message_does_not_show_the_expected_setting(keras):
    layer = keras.layers.Conv2D(32, 3, padding="valid")
    layer.build((None, 28, 28, 1))
    message = fails(keras_checks.assert_conv_settings, introspect.describe(layer), "no_training_conv", filters=32,
                    kernel_size=(3, 3), activation="linear", padding="same", match="padding .* \\(found valid\\)")
    assert "same" not in message


@pytest.fixture(scope="module")
def fresh_kernel(keras):
    layer = keras.layers.Conv2D(32, 3)
    layer.build((None, 28, 28, 1))
    return keras.ops.convert_to_numpy(layer.kernel)


def test_glorot_limit_of_the_lesson_kernel():
    assert keras_checks.glorot_limit((3, 3, 1, 32)) == pytest.approx(np.sqrt(6 / (9 + 288)))


def test_fresh_conv2d_kernel_is_glorot_uniform(fresh_kernel):
    keras_checks.assert_glorot_uniform(fresh_kernel, "no_training_conv")


@pytest.mark.parametrize("factor", [3.0, 0.3])
def test_scaled_kernel_is_not_glorot_uniform(fresh_kernel, factor):
    message = fails(keras_checks.assert_glorot_uniform, fresh_kernel * factor, "no_training_conv",
                    match="do not look like a fresh Glorot-uniform initialisation",
                    secret=keras_checks.glorot_limit(fresh_kernel.shape))
    assert "(the " not in message.split(" / ")[0]


def test_shifted_kernel_is_not_glorot_uniform(fresh_kernel):
    fails(keras_checks.assert_glorot_uniform, fresh_kernel + 0.05, "no_training_conv", match="Glorot-uniform")


@pytest.mark.parametrize("kernel", [np.zeros((3, 3, 1, 32)), np.zeros(0), np.zeros((3, 3, 0, 0)),
                                    np.ones(5), np.float32(0.1)])
def test_glorot_on_zero_empty_or_odd_kernels_fails_with_the_message(kernel):
    fails(keras_checks.assert_glorot_uniform, kernel, "no_training_conv", match="Glorot-uniform")


def test_model_passes_on_models_and_fails_on_layers(cnn):
    assert keras_checks.model(introspect.describe(cnn), "model").class_name == "Sequential"
    fails(keras_checks.model, introspect.describe(cnn.layers[0]), "conv_acti", match="conv_acti should be a Keras model, found Conv2D")
    fails(keras_checks.model, Missing(), "conv_acti", match="found nothing. Look at the cell that makes conv_acti")


def test_functional_dense_model_passes_every_check(keras):
    dense = introspect.describe(dense_net(keras))
    keras_checks.assert_functional(dense, "dense_model")
    keras_checks.assert_io_shapes(dense, "dense_model", (None, 784), (None, 10))
    keras_checks.assert_dense_stack(dense, "dense_model", [(100, "sigmoid"), (10, "softmax")])


def test_sequential_dense_model_fails_naming_the_functional_api(keras):
    sequential = keras.Sequential([keras.Input((784,)), keras.layers.Dense(100, activation="sigmoid"),
                                   keras.layers.Dense(10, activation="softmax")])
    found = introspect.describe(sequential)
    fails(keras_checks.assert_functional, found, "dense_model", match="dense_model is a Sequential model.*functional API")
    keras_checks.assert_io_shapes(found, "dense_model", (None, 784), (None, 10))


def test_dense_stack_names_the_wrong_layer_and_setting(keras):
    fails(keras_checks.assert_dense_stack, introspect.describe(dense_net(keras, hidden_activation="relu")), "dense_model",
          [(100, "sigmoid"), (10, "softmax")], match="Dense layer 1 of dense_model does not use the activation .*found relu")
    message = fails(keras_checks.assert_dense_stack, introspect.describe(dense_net(keras, hidden_units=64)), "dense_model",
                    [(100, "sigmoid"), (10, "softmax")], match="Dense layer 1 .* number of units .*found 64")
    assert "100" not in message
    inputs = keras.Input((784,))
    one = keras.Model(inputs, keras.layers.Dense(10)(inputs))
    fails(keras_checks.assert_dense_stack, introspect.describe(one), "dense_model", [(100, "sigmoid"), (10, "softmax")],
          match="number of Dense layers .*found 1")


def test_io_shapes_show_the_found_shape_only(keras):
    message = fails(keras_checks.assert_io_shapes, introspect.describe(dense_net(keras, input_shape=(28, 28))), "dense_model",
                    (None, 784), (None, 10),
                    match=re.escape("the input shape of dense_model is not the one the instructions give (found (None, 28, 28))"))
    assert "784" not in message


def test_io_shapes_of_a_model_on_the_wrong_layer(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[1].output)
    fails(keras_checks.assert_io_shapes, introspect.describe(acti), "conv_acti", (None, 28, 28, 1), (None, 28, 28, 4),
          match=re.escape("the output shape of conv_acti is not the one the instructions give (found (None, 14, 14, 4))"))


def test_io_shapes_of_a_model_without_inputs(keras):
    unbuilt = keras.Sequential([keras.layers.Dense(10)])
    fails(keras_checks.assert_io_shapes, introspect.describe(unbuilt), "dense_model", (None, 784), (None, 10),
          match="dense_model has no defined input yet")


def test_io_shapes_of_a_model_with_two_outputs(keras):
    inputs = keras.Input((784,))
    two = keras.Model(inputs, [keras.layers.Dense(10)(inputs), keras.layers.Dense(3)(inputs)])
    fails(keras_checks.assert_io_shapes, introspect.describe(two), "dense_model", (None, 784), (None, 10),
          match="dense_model should have one output, found 2")


def test_io_shapes_on_hand_made_facts_with_no_outputs():
    found = Model(class_name="Functional", is_sequential=False, input_shapes=[(None, 784)], output_shapes=None)
    fails(keras_checks.assert_io_shapes, found, "dense_model", (None, 784), (None, 10), match="one output, found 0")
