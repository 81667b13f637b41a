"""Unit tests for cnnviz.fact_codec: facts to text and back, and a decoder that reads nothing else.

The decoder is fed hand-made payloads of every kind it must refuse.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest

from cnnviz import fact_codec, facts
from cnnviz.fact_codec import BadFacts
from cnnviz.facts import Axes, Figure, Histogram, Image, Layer, Missing, Model, Value
from samefacts import round_trip, same


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
        fact_codec.encode("s", {"x": Value(type_name="x", shape=(object(),))})


def test_decoded_arrays_are_plain_and_numeric():
    decoded = round_trip({"x": Value(type_name="ndarray", is_numpy=True, array=np.arange(3.0))})["x"]
    assert type(decoded.array) is np.ndarray and decoded.array.dtype == np.float64


def test_decode_refuses_a_pickled_object_array():
    text = payload({"step": "s", "facts": {"dict": {"x": value_node(array={"array": 0})}}},
                   a0=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(BadFacts, match="unreadable facts"):
        fact_codec.decode(text)


def test_decode_refuses_a_string_array():
    text = payload({"step": "s", "facts": {"dict": {"x": value_node(array={"array": 0})}}}, a0=np.array(["a"]))
    with pytest.raises(BadFacts, match="non-numeric array"):
        fact_codec.decode(text)


def test_decode_refuses_an_oversized_payload(monkeypatch):
    text = fact_codec.encode("s", {"x": Value(type_name="ndarray", is_numpy=True, array=np.zeros(100))})
    monkeypatch.setattr(fact_codec, "MAX_PAYLOAD_CHARS", len(text) - 1)
    with pytest.raises(BadFacts, match="too large"):
        fact_codec.decode(text)


def test_decode_refuses_arrays_larger_than_the_limit(monkeypatch):
    text = fact_codec.encode("s", {"x": Value(type_name="ndarray", is_numpy=True, array=np.zeros(1000))})
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 100)
    with pytest.raises(BadFacts, match="too large"):
        fact_codec.decode(text)


def test_decode_refuses_a_compressed_bomb_before_inflating_it(monkeypatch):
    # 800 kB of zeros, a few kB packed.
    text = fact_codec.encode("s", {"x": Value(type_name="ndarray", is_numpy=True, array=np.zeros(100_000))})
    assert len(text) < 10_000
    monkeypatch.setattr(facts, "MAX_ARRAY_ELEMENTS", 1000)

    def inflate(*args, **kwargs):
        raise AssertionError("np.load ran on an archive whose declared size is over the limit")

    monkeypatch.setattr(np, "load", inflate)
    with pytest.raises(BadFacts, match="too large"):
        fact_codec.decode(text)


@pytest.mark.parametrize("text", [None, 5, "not base64 !", base64.b64encode(b"not a zip").decode(), ""])
def test_decode_refuses_what_is_not_a_payload(text):
    with pytest.raises(BadFacts):
        fact_codec.decode(text)


def test_decode_refuses_a_manifest_that_is_not_json():
    with pytest.raises(BadFacts, match="unreadable manifest"):
        fact_codec.decode(payload(b"\xff{not json"))


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
        fact_codec.decode(payload(manifest, a0=np.zeros(2)))


def test_decode_refuses_deep_nesting():
    node = {"value": 1}
    for _ in range(40):
        node = {"list": [node]}
    with pytest.raises(BadFacts):
        fact_codec.decode(payload({"step": "s", "facts": node}))


def test_decode_refuses_unreferenced_gaps_in_the_arrays():
    with pytest.raises(BadFacts, match="missing arrays"):
        fact_codec.decode(payload({"step": "s", "facts": {"dict": {}}}, a1=np.zeros(2)))


def test_bad_facts_is_a_value_error():
    assert issubclass(BadFacts, ValueError)



def test_the_decoder_imports_nothing_that_reads_or_runs_a_live_object():
    # The grader decodes every student's facts in its own process: importing the codec there must
    # bring in neither the kernel-side reader nor a library that could run an object it was handed.
    import subprocess
    import sys

    from cnnviz import COURSE_ROOT

    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import cnnviz.fact_codec; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('keras', 'tensorflow', 'matplotlib', 'IPython') or m == 'cnnviz.introspect'))")
    result = subprocess.run([sys.executable, "-I", "-c", probe, str(COURSE_ROOT)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", f"cnnviz/fact_codec.py (the grader's decoder) imports {result.stdout}"
