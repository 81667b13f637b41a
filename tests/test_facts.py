"""Unit tests for cnnviz.facts: what the grader reads out of the kernel, and that it reads nothing else.

Extraction runs on live matplotlib figures and small Keras objects; the
decoder is fed hand-made payloads of every kind it must refuse.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnviz import facts  # noqa: E402
from cnnviz.grading import trusted
from cnnviz.facts import Axes, BadFacts, Figure, Histogram, Image, Layer, Missing, Model, Value  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def same(a, b) -> bool:
    """Deep equality of records, lists, tuples and arrays (dataclass == cannot compare arrays)."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def round_trip(found: dict, step: str = "test_step") -> dict:
    got_step, decoded = facts.decode(facts.encode(step, found))
    assert got_step == step
    return decoded


def payload(manifest, **arrays) -> str:
    """A hand-made payload: ``manifest`` (any JSON, or raw bytes) and arrays, as encode would pack them."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    buffer = io.BytesIO()
    np.savez(buffer, manifest=np.frombuffer(raw, dtype=np.uint8), **arrays)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def value_node(**fields) -> dict:
    body = {"type_name": {"value": "ndarray"}}
    body.update(fields)
    return {"record": "Value", "fields": body}


# --------------------------------------------------------------------------- values


def test_value_facts_of_an_array_keep_its_numbers_and_kind():
    array = np.arange(6, dtype="float32").reshape(2, 3)
    found = facts.value_facts(array)
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
    found = facts.value_facts(value)
    assert found.type_name == type_name and not found.is_numpy
    assert np.allclose(found.array, numbers)


@pytest.mark.parametrize("value", ["0.25", None, {"a": 1}, object(), np.array(["a"]),
                                   np.array([{}], dtype=object), [1, "a"]])
def test_value_facts_hold_no_numbers_for_non_numeric_values(value):
    assert facts.value_facts(value).array is None


def test_booleans_are_marked_as_booleans():
    assert facts.value_facts(True).is_bool and facts.value_facts(np.bool_(False)).is_bool
    assert not facts.value_facts(1).is_bool and not facts.value_facts(np.array(True)).is_bool


def test_too_large_an_array_carries_no_numbers(monkeypatch):
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 10)
    assert facts.value_facts(np.zeros(11)).array is None
    assert facts.value_facts(np.zeros(10)).array is not None


def test_big_endian_array_comes_back_in_native_order():
    found = facts.value_facts(np.arange(4, dtype=">f4"))
    assert found.array.dtype.isnative and np.array_equal(found.array, [0, 1, 2, 3])


def test_ndarray_subclass_comes_out_as_a_plain_ndarray():
    class Spy(np.ndarray):
        """An array that would answer every comparison with True, if it reached a check."""

        def __eq__(self, other):
            return True

    spy = np.arange(4.0).view(Spy)
    found = facts.extract({"conv_weights": spy}, ["conv_weights"])["conv_weights"]
    assert type(found.array) is np.ndarray
    decoded = round_trip({"conv_weights": found})["conv_weights"]
    assert type(decoded.array) is np.ndarray and np.array_equal(decoded.array, [0, 1, 2, 3])


@pytest.mark.parametrize("value, shape", [((3, 3, 1, 32), (3, 3, 1, 32)), ([None, 28], (None, 28)),
                                          ((np.int64(3),), (3,)), ((), ())])
def test_shapes_are_read_from_tuples_and_lists(value, shape):
    assert facts.value_facts(value).shape == shape


@pytest.mark.parametrize("value", [(3.0, 3), (True, 1), "3, 3", np.zeros(3), tuple(range(17))])
def test_non_shapes_have_no_shape(value):
    assert facts.value_facts(value).shape is None


def test_tensors_variables_and_tensorshapes(keras):
    import tensorflow as tf

    tensor = facts.value_facts(tf.constant([1.0, 2.0]))
    assert not tensor.is_numpy and np.array_equal(tensor.array, [1.0, 2.0])
    variable = facts.value_facts(keras.Variable(np.ones((2, 2), dtype="float32")))
    assert variable.type_name == "Variable" and not variable.is_numpy and variable.array.shape == (2, 2)
    assert facts.value_facts(tf.TensorShape([None, 3])).shape == (None, 3)
    assert facts.value_facts(tf.TensorShape(None)).shape is None  # unknown rank


def test_extract_gives_missing_for_undefined_names_and_keeps_order():
    found = facts.extract({"a": 1}, ["b", "a"])
    assert list(found) == ["b", "a"]
    assert isinstance(found["b"], Missing) and isinstance(found["a"], Value)


def test_extract_turns_a_value_that_breaks_reading_into_an_unusable_value(keras):
    class Broken(keras.layers.Layer):
        @property
        def weights(self):
            raise RuntimeError("no")

    layer = Broken()
    layer.built = True
    found = facts.extract({"conv": layer}, ["conv"])["conv"]
    assert found == Value(type_name="Broken")


def test_probe_input_is_fixed():
    first, second = facts.probe_input(), facts.probe_input()
    assert first.shape == (1, 28, 28, 1) and first.dtype == np.float32 and np.array_equal(first, second)


# --------------------------------------------------------------------------- figures


def test_figure_facts_of_a_subplot_grid():
    fig, axs = plt.subplots(2, 3)
    axs[1, 2].imshow(np.arange(4.0).reshape(2, 2), vmin=-1, vmax=5, cmap="gray_r")
    axs[0, 0].axis("off")
    axs[0, 1].set_xlabel("weight")
    axs[0, 1].set_ylabel("count")
    found = facts.describe(fig)
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
    assert facts.figure_facts(fig).axes == []
    fig.add_axes((0.1, 0.1, 0.3, 0.3))
    fig.add_subplot(2, 2, 1)
    fig.add_subplot(1, 2, 2)
    found = facts.figure_facts(fig)
    assert found.axes[0].grid is None
    assert found.axes[1].grid[0] != found.axes[2].grid[0]


def test_masked_pixels_become_nan_and_the_autoscaled_clim_is_the_data_range():
    fig, ax = plt.subplots()
    ax.imshow(np.ma.masked_less(np.arange(4.0).reshape(2, 2), 1))
    image = facts.figure_facts(fig).axes[0].images[0]
    assert np.isnan(image.array[0, 0]) and image.array[1, 1] == 3
    assert image.clim == (1.0, 3.0)


def test_histogram_bars_are_read_as_edges_and_counts():
    fig, ax = plt.subplots()
    counts, edges, _ = ax.hist(np.random.default_rng(0).normal(size=100), bins=7)
    (hist,) = facts.figure_facts(fig).axes[0].histograms
    assert np.allclose(hist.edges, edges) and np.array_equal(hist.counts, counts)


@pytest.mark.parametrize("kwargs", [{"rwidth": 0.5}, {"orientation": "horizontal"}, {"histtype": "step"},
                                    {"histtype": "stepfilled"}])
def test_histograms_drawn_other_ways_give_the_same_edges_and_counts(kwargs):
    data = np.random.default_rng(1).normal(size=200)
    fig, ax = plt.subplots()
    counts, edges, _ = ax.hist(data, bins=9, **kwargs)
    (hist,) = facts.figure_facts(fig).axes[0].histograms
    assert np.allclose(hist.edges, edges) and np.allclose(hist.counts, counts)


def test_a_plot_is_not_a_histogram():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2])
    ax.bar([0, 1], [3, 4])  # one bar container: read as a histogram, judged by the checks
    assert len(facts.figure_facts(fig).axes[0].histograms) == 1
    fig2, ax2 = plt.subplots()
    ax2.plot([0, 1, 2])
    assert facts.figure_facts(fig2).axes[0].histograms == []


# --------------------------------------------------------------------------- Keras layers


def test_layer_facts_of_a_built_conv2d(cnn):
    found = facts.describe(cnn.layers[0])
    assert isinstance(found, Layer) and found.class_name == "Conv2D" and found.is_conv2d and found.built
    assert (found.filters, found.kernel_size, found.activation, found.padding) == (4, (3, 3), "relu", "same")
    kernel, bias = found.weights
    assert type(kernel) is np.ndarray and np.array_equal(kernel, cnn.layers[0].kernel.numpy())
    assert bias.shape == (4,)


def test_layer_facts_of_an_unbuilt_layer_have_no_weights(keras):
    found = facts.describe(keras.layers.Conv2D(32, 3))
    assert found.is_conv2d and not found.built and found.weights == []
    assert found.activation == "linear" and found.padding == "valid"


def test_layer_facts_of_other_layers(cnn, keras):
    pool = facts.describe(cnn.layers[1])
    assert not pool.is_conv2d and pool.class_name == "MaxPooling2D" and pool.filters is None
    dense = keras.layers.Dense(10, activation="softmax")
    dense.build((None, 5))
    found = facts.describe(dense)
    assert (found.units, found.activation, found.class_name) == (10, "softmax", "Dense")


def test_a_conv2d_subclass_is_a_conv2d(keras):
    class MyConv(keras.layers.Conv2D):
        pass

    found = facts.describe(MyConv(2, 3))
    assert found.is_conv2d and found.class_name == "MyConv"


# --------------------------------------------------------------------------- Keras models


def test_model_facts_of_a_sequential_cnn(cnn):
    found = facts.describe(cnn, {"model": cnn})
    assert isinstance(found, Model) and found.is_sequential and found.is_model_variable
    assert [lay.class_name for lay in found.layers] == ["Conv2D", "MaxPooling2D", "Conv2D"]
    assert all(lay.weights == [] for lay in found.layers)  # settings only
    assert found.input_shapes == [(None, 28, 28, 1)] and found.output_shapes == [(None, 14, 14, 8)]
    assert found.weights_digest == facts.weights_digest(cnn.get_weights())
    assert found.shares_layers == []


def test_probe_output_is_the_models_output_on_the_probe(cnn):
    found = facts.describe(cnn)
    assert found.probe_output.shape == (1, 14, 14, 8)
    assert np.allclose(found.probe_output, cnn(facts.probe_input()).numpy(), atol=1e-6)


def test_functional_model_on_the_cnns_layers_shares_them(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[0].output)
    found = facts.describe(acti, {"model": cnn})
    assert not found.is_sequential and not found.is_model_variable
    assert found.shares_layers == [0]
    assert found.output_shapes == [(None, 28, 28, 4)]
    assert np.allclose(found.probe_output, cnn.layers[0](facts.probe_input()).numpy(), atol=1e-6)
    deeper = facts.describe(keras.Model(cnn.inputs, cnn.layers[2].output), {"model": cnn})
    assert deeper.shares_layers == [0, 2]  # the pooling layer has no weights to share


def test_a_copy_with_the_same_weights_shares_no_layers(cnn, keras):
    clone = keras.models.clone_model(cnn)
    clone.set_weights(cnn.get_weights())
    found = facts.describe(keras.Model(clone.inputs, clone.layers[0].output), {"model": cnn})
    assert found.shares_layers == []
    assert facts.describe(clone).weights_digest == facts.describe(cnn).weights_digest


def test_models_not_on_28_by_28_images_are_not_probed(keras):
    inputs = keras.Input((784,))
    dense = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))
    found = facts.describe(dense)
    assert found.probe_output is None and found.input_shapes == [(None, 784)]


def test_a_sequential_without_input_has_no_shapes_and_does_not_raise(keras):
    found = facts.describe(keras.Sequential([keras.layers.Dense(3)]))
    assert found.input_shapes is None and found.output_shapes is None and found.weights_digest == ""
    assert found.probe_output is None


def test_model_facts_survive_the_round_trip(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[0].output)
    found = facts.extract({"model": cnn, "conv_acti": acti, "conv": cnn.layers[0]}, ["model", "conv_acti", "conv"])
    assert same(round_trip(found), found)


# --------------------------------------------------------------------------- encode / decode


def test_every_kind_of_record_survives_the_round_trip():
    fig = Figure(axes=[Axes(box=(0.0, 0.1, 0.5, 0.6), grid=(0, 2, 16, 1, 3), axis_on=False,
                            images=[Image(array=np.eye(3), clim=(-0.5, 0.5), cmap="viridis")],
                            histograms=[Histogram(edges=np.linspace(0, 1, 4), counts=np.array([1.0, 0.0, 2.0]))],
                            xlabel="weight", ylabel="가중치")])
    found = {
        "missing": Missing(),
        "value": Value(type_name="ndarray", is_numpy=True, array=np.arange(6, dtype="int16").reshape(2, 3)),
        "shape": Value(type_name="tuple", array=np.array([3, 3]), shape=(None, 3)),
        "flag": Value(type_name="bool", is_bool=True, array=np.array(True)),
        "nan": Value(type_name="float", array=np.array(np.nan)),
        "fig": fig,
        "layer": Layer(class_name="Conv2D", is_conv2d=True, built=True, filters=32, kernel_size=(3, 3),
                       activation="relu", padding="same", weights=[np.ones((3, 3, 1, 32), "float32"), np.zeros(32)]),
        "model": Model(class_name="Functional", is_sequential=False, layers=[Layer("InputLayer", False, True)],
                       input_shapes=[(None, 28, 28, 1)], output_shapes=[(None, 28, 28, 32)], weights_digest="ab",
                       shares_layers=[0], probe_output=np.zeros((1, 2), "float32")),
    }
    assert same(round_trip(found), found)


def test_encode_refuses_what_is_not_plain_data():
    with pytest.raises(TypeError):
        facts.encode("s", {"x": Value(type_name="x", shape=(object(),))})


def test_decoded_arrays_are_plain_and_numeric():
    decoded = round_trip({"x": facts.value_facts(np.arange(3.0))})["x"]
    assert type(decoded.array) is np.ndarray and decoded.array.dtype == np.float64


def test_decode_refuses_a_pickled_object_array():
    text = payload({"step": "s", "facts": {"dict": {"x": value_node(array={"array": 0})}}},
                   a0=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(BadFacts, match="unreadable facts"):
        facts.decode(text)


def test_decode_refuses_a_string_array():
    text = payload({"step": "s", "facts": {"dict": {"x": value_node(array={"array": 0})}}}, a0=np.array(["a"]))
    with pytest.raises(BadFacts, match="non-numeric array"):
        facts.decode(text)


def test_decode_refuses_an_oversized_payload(monkeypatch):
    text = facts.encode("s", {"x": facts.value_facts(np.zeros(100))})
    monkeypatch.setattr(facts, "MAX_PAYLOAD_CHARS", len(text) - 1)
    with pytest.raises(BadFacts, match="too large"):
        facts.decode(text)


def test_decode_refuses_arrays_larger_than_the_limit(monkeypatch):
    text = facts.encode("s", {"x": facts.value_facts(np.zeros(1000))})
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 100)
    with pytest.raises(BadFacts, match="too large"):
        facts.decode(text)


def test_decode_refuses_a_compressed_bomb_before_inflating_it(monkeypatch):
    text = facts.encode("s", {"x": facts.value_facts(np.zeros(100_000))})  # 800 kB of zeros, a few kB packed
    assert len(text) < 10_000
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 1000)

    def inflate(*args, **kwargs):
        raise AssertionError("np.load ran on an archive whose declared size is over the limit")

    monkeypatch.setattr(np, "load", inflate)
    with pytest.raises(BadFacts, match="too large"):
        facts.decode(text)


@pytest.mark.parametrize("text", [None, 5, "not base64 !", base64.b64encode(b"not a zip").decode(), ""])
def test_decode_refuses_what_is_not_a_payload(text):
    with pytest.raises(BadFacts):
        facts.decode(text)


def test_decode_refuses_a_manifest_that_is_not_json():
    with pytest.raises(BadFacts, match="unreadable manifest"):
        facts.decode(payload(b"\xff{not json"))


@pytest.mark.parametrize("manifest, match", [
    ({"step": "s", "facts": {"dict": {"x": {"record": "Evil", "fields": {}}}}}, "unknown record 'Evil'"),
    ({"step": "s", "facts": {"dict": {"x": {"record": "Value", "fields": {"type_name": {"value": "x"},
                                                                          "secret": {"value": 1}}}}}},
     "unknown fields in Value"),
    ({"step": "s", "facts": {"dict": {"x": value_node(array={"value": "np.ones(3)"})}}}, "Value.array has the wrong type"),
    ({"step": "s", "facts": {"dict": {"x": value_node(is_numpy={"value": 1})}}}, "Value.is_numpy has the wrong type"),
    ({"step": "s", "facts": {"dict": {"x": {"record": "Layer", "fields": {
        "class_name": {"value": "Conv2D"}, "is_conv2d": {"value": True}, "built": {"value": True},
        "weights": {"list": [{"value": 0.5}]}}}}}}, "Layer.weights has the wrong type"),
    ({"step": "s", "facts": {"dict": {"x": {"record": "Value", "fields": {}}}}}, "missing fields in Value"),
    ({"step": "s", "facts": {"dict": {"x": {"record": "Figure", "fields": {"axes": {"list": [{"record": "Axes", "fields": {
        "box": {"tuple": [{"value": "0"}, {"value": 0}, {"value": 1}, {"value": 1}]}, "grid": {"value": None},
        "axis_on": {"value": True}}}]}}}}}}, "Axes.box has the wrong type"),
    ({"step": "s", "facts": {"dict": {"x": value_node(shape={"tuple": [{"value": True}]})}}}, "Value.shape has the wrong type"),
    ({"step": "s", "facts": {"dict": {"x": value_node(array={"array": 3})}}}, "bad array reference"),
    ({"step": "s", "facts": {"dict": {"x": {"value": 1}}}}, "not records"),
    ({"step": "s", "facts": {"dict": {"x": {"record": "Image", "fields": {
        "array": {"array": 0}, "clim": {"tuple": [{"value": 0}, {"value": 1}]}, "cmap": {"value": "v"}}}}}},
     "not records"),
    ({"step": "s", "facts": {"list": []}}, "not records"),
    ({"step": 5, "facts": {"dict": {}}}, "no step name"),
    ({"facts": {"dict": {}}}, "no step name"),
    ({"step": "s", "facts": {"dict": {"x": value_node(type_name={"value": "x" * 5000})}}}, "text too long"),
    ({"step": "s", "facts": {"dict": {"x": value_node(type_name={"value": {"nested": 1}})}}}, "bad value"),
    ({"step": "s", "facts": {"dict": {"x": {"frozenset": []}}}}, "malformed"),
    ({"step": "s", "facts": {"dict": {"x": {}}}}, "malformed"),
])
def test_decode_refuses_malformed_manifests(manifest, match):
    with pytest.raises(BadFacts, match=match):
        facts.decode(payload(manifest, a0=np.zeros(2)))


def test_decode_refuses_deep_nesting():
    node = {"value": 1}
    for _ in range(40):
        node = {"list": [node]}
    with pytest.raises(BadFacts):
        facts.decode(payload({"step": "s", "facts": node}))


def test_decode_refuses_unreferenced_gaps_in_the_arrays():
    with pytest.raises(BadFacts, match="missing arrays"):
        facts.decode(payload({"step": "s", "facts": {"dict": {}}}, a1=np.zeros(2)))


def test_bad_facts_is_a_value_error():
    assert issubclass(BadFacts, ValueError)


# --------------------------------------------------------------------------- reading a test cell's facts


def _test_cell(*outputs):
    cell = nbformat.v4.new_code_cell("lesson.check('test_conv_stats', globals())")
    cell.outputs = list(outputs)
    return cell


def _facts_output(step: str, found: dict):
    return nbformat.v4.new_output("display_data", data={facts.MIME_TYPE: facts.encode(step, found)})


def test_read_facts_reads_the_cells_own_step():
    found = {"conv_mean": facts.value_facts(0.5)}
    read, why = trusted.read_facts(_test_cell(_facts_output("test_conv_stats", found)), "test_conv_stats")
    assert why == "" and same(read, found)


def test_read_facts_refuses_another_steps_facts():
    cell = _test_cell(_facts_output("test_hist", {"conv_mean": facts.value_facts(0.5)}))
    read, why = trusted.read_facts(cell, "test_conv_stats")
    assert read is None and "test_hist" in why and "test_conv_stats" in why


def test_read_facts_without_a_payload_or_with_a_bad_one():
    printed = nbformat.v4.new_output("stream", name="stdout", text=facts.encode("test_conv_stats", {}))
    assert trusted.read_facts(_test_cell(printed), "test_conv_stats") == (None, "no facts")
    bad = nbformat.v4.new_output("display_data", data={facts.MIME_TYPE: "AAAA"})
    read, why = trusted.read_facts(_test_cell(bad), "test_conv_stats")
    assert read is None and why.startswith("bad facts")
