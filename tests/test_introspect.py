"""Unit tests for cnnviz.introspect: live values, figures and Keras objects read into plain facts.

Extraction runs on live matplotlib figures and small Keras objects, as the
student's kernel holds them.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnviz import facts, introspect  # noqa: E402
from cnnviz.facts import Figure, Layer, Missing, Model, Value  # noqa: E402
from samefacts import round_trip, same  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")



# --------------------------------------------------------------------------- values


def test_value_facts_of_an_array_keep_its_numbers_and_kind():
    array = np.arange(6, dtype="float32").reshape(2, 3)
    found = introspect.value_facts(array)
    assert found.type_name == "ndarray" and found.is_numpy and not found.is_bool
    assert found.array.dtype == np.float32 and np.array_equal(found.array, array)
    assert found.array is not array  # a copy: later changes in the kernel do not move it


@pytest.mark.parametrize("value, type_name, numbers", [
    (2.5, "float", 2.5),
    (3, "int", 3),
    (np.float32(0.25), "float32", 0.25),
    ([1.0, 2.0], "list", [1.0, 2.0]),
])
def test_value_facts_of_numbers_and_lists(value, type_name, numbers):
    found = introspect.value_facts(value)
    assert found.type_name == type_name and not found.is_numpy
    assert np.allclose(found.array, numbers)


@pytest.mark.parametrize("value", ["0.25", None, {"a": 1}, object(), np.array(["a"]),
                                   np.array([{}], dtype=object), [1, "a"]])
def test_value_facts_hold_no_numbers_for_non_numeric_values(value):
    assert introspect.value_facts(value).array is None


def test_booleans_are_marked_as_booleans():
    assert introspect.value_facts(True).is_bool and introspect.value_facts(np.bool_(False)).is_bool
    assert not introspect.value_facts(1).is_bool and not introspect.value_facts(np.array(True)).is_bool


def test_too_large_an_array_carries_no_numbers(monkeypatch):
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 10)
    assert introspect.value_facts(np.zeros(11)).array is None
    assert introspect.value_facts(np.zeros(10)).array is not None


def test_big_endian_array_comes_back_in_native_order():
    found = introspect.value_facts(np.arange(4, dtype=">f4"))
    assert found.array.dtype.isnative and np.array_equal(found.array, [0, 1, 2, 3])


def test_ndarray_subclass_comes_out_as_a_plain_ndarray():
    class Spy(np.ndarray):
        """An array that would answer every comparison with True, if it reached a check."""

        def __eq__(self, other):
            return True

    spy = np.arange(4.0).view(Spy)
    found = introspect.extract({"conv_weights": spy}, ["conv_weights"])["conv_weights"]
    assert type(found.array) is np.ndarray
    decoded = round_trip({"conv_weights": found})["conv_weights"]
    assert type(decoded.array) is np.ndarray and np.array_equal(decoded.array, [0, 1, 2, 3])


@pytest.mark.parametrize("value, shape", [((3, 3, 1, 32), (3, 3, 1, 32)), ([None, 28], (None, 28)),
                                          ((np.int64(3),), (3,)), ((), ())])
def test_shapes_are_read_from_tuples_and_lists(value, shape):
    assert introspect.value_facts(value).shape == shape


@pytest.mark.parametrize("value", [(3.0, 3), (True, 1), "3, 3", np.zeros(3), tuple(range(17))])
def test_non_shapes_have_no_shape(value):
    assert introspect.value_facts(value).shape is None


def test_tensors_variables_and_tensorshapes(keras):
    import tensorflow as tf

    tensor = introspect.value_facts(tf.constant([1.0, 2.0]))
    assert not tensor.is_numpy and np.array_equal(tensor.array, [1.0, 2.0])
    variable = introspect.value_facts(keras.Variable(np.ones((2, 2), dtype="float32")))
    assert variable.type_name == "Variable" and not variable.is_numpy and variable.array.shape == (2, 2)
    assert introspect.value_facts(tf.TensorShape([None, 3])).shape == (None, 3)
    assert introspect.value_facts(tf.TensorShape(None)).shape is None  # unknown rank


def test_extract_gives_missing_for_undefined_names_and_keeps_order():
    found = introspect.extract({"a": 1}, ["b", "a"])
    assert list(found) == ["b", "a"]
    assert isinstance(found["b"], Missing) and isinstance(found["a"], Value)


def test_extract_turns_a_value_that_breaks_reading_into_an_unusable_value(keras):
    class Broken(keras.layers.Layer):
        @property
        def weights(self):
            raise RuntimeError("no")

    layer = Broken()
    layer.built = True
    found = introspect.extract({"conv": layer}, ["conv"])["conv"]
    assert found == Value(type_name="Broken")



# --------------------------------------------------------------------------- figures


def test_figure_facts_of_a_subplot_grid():
    fig, axs = plt.subplots(2, 3)
    axs[1, 2].imshow(np.arange(4.0).reshape(2, 2), vmin=-1, vmax=5, cmap="gray_r")
    axs[0, 0].axis("off")
    axs[0, 1].set_xlabel("weight")
    axs[0, 1].set_ylabel("count")
    found = introspect.describe(fig)
    assert isinstance(found, Figure) and len(found.axes) == 6
    by_place = {ax.grid[3:]: ax for ax in found.axes}
    assert {ax.grid[:3] for ax in found.axes} == {(0, 2, 3)}
    image = by_place[(1, 2)].images[0]
    assert image.clim == (-1.0, 5.0) and image.cmap == "gray_r" and np.array_equal(image.array, [[0, 1], [2, 3]])
    assert not by_place[(0, 0)].axis_on and by_place[(0, 1)].axis_on
    assert (by_place[(0, 1)].xlabel, by_place[(0, 1)].ylabel) == ("weight", "count")
    assert by_place[(0, 0)].box[1] > by_place[(1, 0)].box[1]  # the first row is on top


def test_figure_facts_of_add_axes_have_no_grid_and_two_gridspecs_are_told_apart():
    fig = plt.figure()
    assert introspect.figure_facts(fig).axes == []
    fig.add_axes((0.1, 0.1, 0.3, 0.3))
    fig.add_subplot(2, 2, 1)
    fig.add_subplot(1, 2, 2)
    found = introspect.figure_facts(fig)
    assert found.axes[0].grid is None
    assert found.axes[1].grid[0] != found.axes[2].grid[0]


def test_masked_pixels_become_nan_and_the_autoscaled_clim_is_the_data_range():
    fig, ax = plt.subplots()
    ax.imshow(np.ma.masked_less(np.arange(4.0).reshape(2, 2), 1))
    image = introspect.figure_facts(fig).axes[0].images[0]
    assert np.isnan(image.array[0, 0]) and image.array[1, 1] == 3
    assert image.clim == (1.0, 3.0)


def test_histogram_bars_are_read_as_edges_and_counts():
    fig, ax = plt.subplots()
    counts, edges, _ = ax.hist(np.random.default_rng(0).normal(size=100), bins=7)
    (hist,) = introspect.figure_facts(fig).axes[0].histograms
    assert np.allclose(hist.edges, edges) and np.array_equal(hist.counts, counts)


@pytest.mark.parametrize("kwargs", [{"rwidth": 0.5}, {"orientation": "horizontal"}, {"histtype": "step"},
                                    {"histtype": "stepfilled"}])
def test_histograms_drawn_other_ways_give_the_same_edges_and_counts(kwargs):
    data = np.random.default_rng(1).normal(size=200)
    fig, ax = plt.subplots()
    counts, edges, _ = ax.hist(data, bins=9, **kwargs)
    (hist,) = introspect.figure_facts(fig).axes[0].histograms
    assert np.allclose(hist.edges, edges) and np.allclose(hist.counts, counts)


def test_a_plot_is_not_a_histogram():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2])
    ax.bar([0, 1], [3, 4])  # one bar container: read as a histogram, judged by the checks
    assert len(introspect.figure_facts(fig).axes[0].histograms) == 1
    fig2, ax2 = plt.subplots()
    ax2.plot([0, 1, 2])
    assert introspect.figure_facts(fig2).axes[0].histograms == []


# --------------------------------------------------------------------------- Keras layers


def test_layer_facts_of_a_built_conv2d(cnn):
    found = introspect.describe(cnn.layers[0])
    assert isinstance(found, Layer) and found.class_name == "Conv2D" and found.is_conv2d and found.built
    assert (found.filters, found.kernel_size, found.activation, found.padding) == (4, (3, 3), "relu", "same")
    kernel, bias = found.weights
    assert type(kernel) is np.ndarray and np.array_equal(kernel, cnn.layers[0].kernel.numpy())
    assert bias.shape == (4,)


def test_layer_facts_of_an_unbuilt_layer_have_no_weights(keras):
    found = introspect.describe(keras.layers.Conv2D(32, 3))
    assert found.is_conv2d and not found.built and found.weights == []
    assert found.activation == "linear" and found.padding == "valid"


def test_layer_facts_of_other_layers(cnn, keras):
    pool = introspect.describe(cnn.layers[1])
    assert not pool.is_conv2d and pool.class_name == "MaxPooling2D" and pool.filters is None
    dense = keras.layers.Dense(10, activation="softmax")
    dense.build((None, 5))
    found = introspect.describe(dense)
    assert (found.units, found.activation, found.class_name) == (10, "softmax", "Dense")


def test_a_conv2d_subclass_is_a_conv2d(keras):
    class MyConv(keras.layers.Conv2D):
        pass

    found = introspect.describe(MyConv(2, 3))
    assert found.is_conv2d and found.class_name == "MyConv"


# --------------------------------------------------------------------------- Keras models


def test_model_facts_of_a_sequential_cnn(cnn):
    found = introspect.describe(cnn, {"model": cnn})
    assert isinstance(found, Model) and found.is_sequential and found.is_model_variable
    assert [lay.class_name for lay in found.layers] == ["Conv2D", "MaxPooling2D", "Conv2D"]
    assert all(lay.weights == [] for lay in found.layers)  # settings only
    assert found.input_shapes == [(None, 28, 28, 1)] and found.output_shapes == [(None, 14, 14, 8)]
    assert found.weights_digest == facts.weights_digest(cnn.get_weights())
    assert found.shares_layers == []


def test_probe_output_is_the_models_output_on_the_probe(cnn):
    found = introspect.describe(cnn)
    assert found.probe_output.shape == (1, 14, 14, 8)
    assert np.allclose(found.probe_output, cnn(facts.probe_input()).numpy(), atol=1e-6)


def test_functional_model_on_the_cnns_layers_shares_them(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[0].output)
    found = introspect.describe(acti, {"model": cnn})
    assert not found.is_sequential and not found.is_model_variable
    assert found.shares_layers == [0]
    assert found.output_shapes == [(None, 28, 28, 4)]
    assert np.allclose(found.probe_output, cnn.layers[0](facts.probe_input()).numpy(), atol=1e-6)
    deeper = introspect.describe(keras.Model(cnn.inputs, cnn.layers[2].output), {"model": cnn})
    assert deeper.shares_layers == [0, 2]  # the pooling layer has no weights to share


def test_a_copy_with_the_same_weights_shares_no_layers(cnn, keras):
    clone = keras.models.clone_model(cnn)
    clone.set_weights(cnn.get_weights())
    found = introspect.describe(keras.Model(clone.inputs, clone.layers[0].output), {"model": cnn})
    assert found.shares_layers == []
    assert introspect.describe(clone).weights_digest == introspect.describe(cnn).weights_digest


def test_models_not_on_28_by_28_images_are_not_probed(keras):
    inputs = keras.Input((784,))
    dense = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
    found = introspect.describe(dense)
    assert found.probe_output is None and found.input_shapes == [(None, 784)]


def test_a_sequential_without_input_has_no_shapes_and_does_not_raise(keras):
    found = introspect.describe(keras.Sequential([keras.layers.Dense(3)]))
    assert found.input_shapes is None and found.output_shapes is None and found.weights_digest == ""
    assert found.probe_output is None


def test_model_facts_survive_the_round_trip(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[0].output)
    found = introspect.extract({"model": cnn, "conv_acti": acti, "conv": cnn.layers[0]}, ["model", "conv_acti", "conv"])
    assert same(round_trip(found), found)

