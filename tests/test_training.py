"""The committed checkpoint best-cnn-model.keras: the chapter 8-2 CNN, accurate enough, documented."""

from __future__ import annotations

import json

import pytest

from cnnviz import CourseError, settings
from cnnviz.course import data, training

CHECKPOINT = training.DEFAULT_OUTPUT

LAYER_CLASSES = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Dense"]


@pytest.fixture(scope="module")
def checkpoint():
    if not CHECKPOINT.is_file():
        pytest.fail(f"no checkpoint at {CHECKPOINT}: run `python -m cnnviz train` (make train)")
    return CHECKPOINT


@pytest.fixture(scope="module")
def model(checkpoint):
    import keras

    return keras.models.load_model(checkpoint)


@pytest.fixture(scope="module")
def layers(model):
    return {layer.name: layer for layer in model.layers}


def test_layers_are_the_chapter_8_2_cnn_in_order_with_the_textbook_names(model):
    assert [type(layer).__name__ for layer in model.layers] == LAYER_CLASSES
    assert tuple(layer.name for layer in model.layers) == training.LAYER_NAMES


def test_convolutions_have_32_then_64_filters_of_3x3_with_relu_and_same_padding(layers):
    convs = [layers["conv2d"], layers["conv2d_1"]]
    assert [conv.filters for conv in convs] == [32, 64]
    for conv in convs:
        assert tuple(conv.kernel_size) == (3, 3)
        assert conv.activation.__name__ == "relu"
        assert conv.padding == "same"


def test_poolings_halve_the_feature_maps(layers):
    for name in ("max_pooling2d", "max_pooling2d_1"):
        assert tuple(layers[name].pool_size) == (2, 2)


def test_dense_layers_are_100_relu_then_10_softmax(layers):
    hidden, output = layers["dense"], layers["dense_1"]
    assert (hidden.units, hidden.activation.__name__) == (100, "relu")
    assert (output.units, output.activation.__name__) == (10, "softmax")


def test_dropout_rate_is_0_4(layers):
    assert layers["dropout"].rate == pytest.approx(0.4)


def test_model_takes_28x28x1_images_and_outputs_10_classes(model):
    assert tuple(model.input_shape) == (None, 28, 28, 1)
    assert tuple(model.output_shape) == (None, 10)


def test_first_convolution_has_a_3x3x1x32_kernel_and_32_biases(layers):
    kernel, bias = layers["conv2d"].get_weights()
    assert kernel.shape == (3, 3, 1, 32)
    assert bias.shape == (32,)


@pytest.mark.slow
def test_checkpoint_scores_at_least_0_9125_on_the_official_test_images(checkpoint):
    # training.measure_accuracy() reads Keras' cache; without the files Keras would download them.
    try:
        data.verify(data.keras_cache_dir())
    except CourseError as exc:
        pytest.fail(f"Fashion-MNIST is not ready in Keras' cache; run `make data` first. {exc}")
    accuracy = training.measure_accuracy(checkpoint)
    assert accuracy >= settings.ACCURACY_BAR, f"{checkpoint.name} scores {accuracy:.4f} < {settings.ACCURACY_BAR}"


def test_metadata_json_beside_the_checkpoint_records_how_it_was_made(checkpoint):
    import keras
    import tensorflow as tf

    path = training.metadata_path(checkpoint)
    assert path.is_file(), f"{path} is missing: retrain with `python -m cnnviz train`"
    info = json.loads(path.read_text())
    for key in ("validation_accuracy", "test_accuracy", "epochs_run", "training_seconds", "versions"):
        assert key in info, key
    assert 0 < info["validation_accuracy"] <= 1 and 0 < info["test_accuracy"] <= 1
    assert 1 <= info["epochs_run"] <= training.MAX_EPOCHS
    assert info["training_seconds"] > 0
    assert info["versions"]["tensorflow"] == tf.__version__
    assert info["versions"]["keras"] == keras.__version__
