"""Plain facts about a student's values: what the grader reads out of the grading kernel.

The grader never trusts an object from the student's kernel. Inside the
kernel each test cell reduces the variables it checks to *facts*: numbers,
strings, NumPy arrays and small records of them (a figure's axes, images and
histogram bars; a Keras layer's class, settings and weights; a model's
layers, shapes and its output on a fixed probe input). During grading those
facts leave the kernel as one display output, are decoded in the grader's own
process with ``np.load(allow_pickle=False)`` and strict type checks, and the
score-bearing checks (``cnnviz.lesson``) run there. A kernel that lies about
its facts can only claim values it would have had to compute anyway.

The same records are what the checks read in the student's own kernel
(Validate), so there is one set of checks for both places.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import re
import sys
import types
import typing
import zipfile
from dataclasses import dataclass, field

import numpy as np

# Display output that carries one test cell's facts out of the grading kernel.
MIME_TYPE = "application/x-cnnviz-facts"
# Limits on what the grader accepts: a lesson's values are far below them.
MAX_ARRAY_ELEMENTS = 2_000_000
MAX_PAYLOAD_CHARS = 48_000_000
MAX_TEXT = 300
MAX_ITEMS = 512

# A fixed input for models that take 28 x 28 images: their output on it tells
# which layer of the CNN a model ends at, with no dataset involved.
PROBE_SEED = 20260829


def probe_input() -> np.ndarray:
    """The fixed (1, 28, 28, 1) float32 input on which image models are run."""
    return np.random.default_rng(PROBE_SEED).random((1, 28, 28, 1), dtype=np.float32)


# --------------------------------------------------------------------------- records


@dataclass
class Missing:
    """The variable is not defined in the notebook."""


@dataclass
class Value:
    """Any value that is not a figure, a layer or a model."""

    type_name: str
    is_numpy: bool = False  # a NumPy ndarray (not a tensor, a variable or a list)
    is_bool: bool = False  # a Python or NumPy boolean
    array: np.ndarray | None = None  # its numbers, when it holds numbers
    shape: tuple | None = None  # when it is a shape: a tuple, list or TensorShape of sizes


@dataclass
class Image:
    """One ``imshow`` image on an axes."""

    array: np.ndarray
    clim: tuple  # (vmin, vmax) of its colour scale
    cmap: str


@dataclass
class Histogram:
    """One histogram drawn on an axes: bin edges and bar heights."""

    edges: np.ndarray
    counts: np.ndarray


@dataclass
class Axes:
    """One axes of a figure."""

    box: tuple  # (x0, y0, x1, y1) in figure coordinates
    grid: tuple | None  # (gridspec number, rows, columns, row, column) for a subplot
    axis_on: bool
    images: list[Image] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""


@dataclass
class Figure:
    """A matplotlib figure."""

    axes: list[Axes] = field(default_factory=list)


@dataclass
class Layer:
    """A Keras layer."""

    class_name: str
    is_conv2d: bool
    built: bool
    filters: int | None = None
    kernel_size: tuple | None = None
    activation: str | None = None
    padding: str | None = None
    units: int | None = None
    weights: list[np.ndarray] = field(default_factory=list)
    weights_digest: str = ""  # see weights_digest(); a model's layers carry it instead of their weights


@dataclass
class Model:
    """A Keras model."""

    class_name: str
    is_sequential: bool
    layers: list[Layer] = field(default_factory=list)  # settings only, no weights
    input_shapes: list[tuple] | None = None  # None: inputs not defined yet
    output_shapes: list[tuple] | None = None
    weights_digest: str = ""  # see weights_digest()
    is_model_variable: bool = False  # the very object named `model` in the notebook
    shares_layers: list[int] = field(default_factory=list)  # `model.layers[i]` whose weights it reuses
    probe_output: np.ndarray | None = None  # its output on probe_input(), for image models


Fact = typing.Union[Missing, Value, Figure, Layer, Model]
_RECORDS = {cls.__name__: cls for cls in (Missing, Value, Image, Histogram, Axes, Figure, Layer, Model)}


def weights_digest(arrays) -> str:
    """A digest of a list of weight arrays (their float32 values and shapes), the same in the kernel and the grader."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading live objects


def _text(value) -> str:
    return str(value)[:MAX_TEXT]


def _type_name(value) -> str:
    return _text(type(value).__name__)


def _numbers(value) -> np.ndarray | None:
    """``value``'s numbers as a plain ndarray, or None if it holds none (or too many)."""
    try:
        if not isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
            if "keras" not in sys.modules:
                return None
            import keras

            value = keras.ops.convert_to_numpy(value)
        array = np.array(value, copy=True)
    except Exception:
        return None
    if array.dtype.kind not in "biuf" or array.size > MAX_ARRAY_ELEMENTS:
        return None
    # A plain ndarray in native byte order: no subclass, no object travels on.
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))


def _shape(value) -> tuple | None:
    if hasattr(value, "as_list") and type(value).__name__ == "TensorShape":
        try:
            value = value.as_list()
        except ValueError:
            return None
    if isinstance(value, (tuple, list)) and len(value) <= 16 and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in value
    ):
        return tuple(None if d is None else int(d) for d in value)
    return None


def value_facts(value) -> Value:
    """Facts about a number, an array, a tensor, a shape or anything else."""
    return Value(
        type_name=_type_name(value),
        is_numpy=isinstance(value, np.ndarray),
        is_bool=isinstance(value, (bool, np.bool_)),
        array=_numbers(value),
        shape=_shape(value),
    )


def _histograms(ax) -> list[Histogram]:
    """Every histogram on ``ax``: bar containers, or step outlines (``histtype='step'``)."""
    from matplotlib.container import BarContainer
    from matplotlib.patches import Polygon

    found = []
    for container in ax.containers:
        if isinstance(container, BarContainer) and container.patches:
            bars = _bars(container)
            if bars is not None:
                found.append(bars)
    if not found:
        for patch in ax.patches:
            if isinstance(patch, Polygon):
                outline = _step_outline(patch)
                if outline is not None:
                    found.append(outline)
    return found


def _bars(container) -> Histogram | None:
    """Bin edges and heights of a histogram's bars (vertical or horizontal)."""
    from matplotlib.patches import Rectangle

    rects = [p for p in container.patches if isinstance(p, Rectangle)]
    if not rects:
        return None
    if getattr(container, "orientation", "vertical") == "horizontal":
        starts = np.array([r.get_y() for r in rects], dtype=float)
        sizes = np.array([r.get_height() for r in rects], dtype=float)
        counts = np.array([r.get_width() for r in rects], dtype=float)
    else:
        starts = np.array([r.get_x() for r in rects], dtype=float)
        sizes = np.array([r.get_width() for r in rects], dtype=float)
        counts = np.array([r.get_height() for r in rects], dtype=float)
    order = np.argsort(starts)
    starts, sizes, counts = starts[order], sizes[order], counts[order]
    ends = starts + sizes
    span = ends[-1] - starts[0]
    if len(starts) > 1 and np.any(starts[1:] - ends[:-1] > 1e-6 * span):
        # Bars narrower than their bins (rwidth < 1): bin edges lie halfway between bar centres.
        centres = starts + sizes / 2
        inner = (centres[1:] + centres[:-1]) / 2
        edges = np.concatenate([[2 * centres[0] - inner[0]], inner, [2 * centres[-1] - inner[-1]]])
    else:
        edges = np.append(starts, ends[-1])
    return Histogram(edges=edges, counts=counts)


def _step_outline(polygon) -> Histogram | None:
    """Bin edges and heights of a histogram drawn with ``histtype='step'`` or ``'stepfilled'``."""
    xy = np.asarray(polygon.get_xy(), dtype=float)
    # The outline's flat tops run left to right, one per bin (an empty bin runs along 0);
    # a filled outline closes along the bottom from right to left, which is skipped.
    tops = [(a[0], b[0], a[1]) for a, b in zip(xy[:-1], xy[1:]) if a[1] == b[1] and b[0] > a[0]]
    if not tops:
        return None
    edges = np.array([t[0] for t in tops] + [tops[-1][1]])
    return Histogram(edges=edges, counts=np.array([t[2] for t in tops]))


def _image(im) -> Image | None:
    array = im.get_array()
    if array is None:
        return None
    array = np.ma.filled(np.ma.asarray(array).astype(float), np.nan)
    lo, hi = im.get_clim()
    return Image(array=_numbers(array) if array.size <= MAX_ARRAY_ELEMENTS else np.zeros(0),
                 clim=(float(lo), float(hi)), cmap=_text(im.get_cmap().name))


def figure_facts(fig) -> Figure:
    """Facts about a matplotlib figure: every axes with its place, images, histograms and labels."""
    gridspecs: list = []
    axes = []
    for ax in fig.axes[:MAX_ITEMS]:
        spec = ax.get_subplotspec()
        grid = None
        if spec is not None:
            gridspec = spec.get_gridspec()
            if not any(g is gridspec for g in gridspecs):
                gridspecs.append(gridspec)
            number = next(i for i, g in enumerate(gridspecs) if g is gridspec)
            rows, cols = gridspec.get_geometry()
            grid = (number, int(rows), int(cols), int(spec.rowspan.start), int(spec.colspan.start))
        box = ax.get_position()
        images = [image for image in map(_image, ax.get_images()[:MAX_ITEMS]) if image is not None]
        axes.append(Axes(
            box=(float(box.x0), float(box.y0), float(box.x1), float(box.y1)),
            grid=grid,
            axis_on=bool(ax.axison),
            images=images,
            histograms=_histograms(ax)[:MAX_ITEMS],
            xlabel=_text(ax.get_xlabel()),
            ylabel=_text(ax.get_ylabel()),
        ))
    return Figure(axes=axes)


def _activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = getattr(activation, "__name__", None)
    if name is None:
        try:
            name = layer.get_config().get("activation")
        except Exception:
            return None
    return _text(name)


def layer_facts(layer, with_weights: bool = True) -> Layer:
    """Facts about a Keras layer: class, settings and (if built) weights."""
    import keras

    def setting(name):
        value = getattr(layer, name, None)
        if isinstance(value, (tuple, list)):
            return tuple(int(v) for v in value)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        return None if value is None else _text(value)

    weights, digest = [], ""
    if layer.built:
        values = [_numbers(w) for w in layer.weights[:MAX_ITEMS]]
        values = [w if w is not None else np.zeros(0) for w in values]
        digest = weights_digest(values) if values else ""
        weights = values if with_weights else []
    padding = getattr(layer, "padding", None)
    return Layer(
        class_name=_type_name(layer),
        is_conv2d=isinstance(layer, keras.layers.Conv2D),
        built=bool(layer.built),
        filters=setting("filters"),
        kernel_size=setting("kernel_size"),
        activation=_activation_name(layer),
        padding=None if padding is None else _text(padding),
        units=setting("units"),
        weights=weights,
        weights_digest=digest,
    )


def _tensor_shapes(tensors) -> list[tuple] | None:
    try:
        return [tuple(None if d is None else int(d) for d in t.shape) for t in tensors]
    except Exception:
        return None


def model_facts(model, namespace_model=None) -> Model:
    """Facts about a Keras model; ``namespace_model`` is the notebook's ``model`` (the CNN) if any."""
    import keras

    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except Exception:  # a Sequential model without an Input has no inputs yet
        inputs = outputs = None
    facts = Model(
        class_name=_type_name(model),
        is_sequential=isinstance(model, keras.Sequential),
        layers=[layer_facts(layer, with_weights=False) for layer in model.layers[:MAX_ITEMS]],
        input_shapes=None if inputs is None else _tensor_shapes(inputs),
        output_shapes=None if outputs is None else _tensor_shapes(outputs),
        weights_digest=weights_digest([_numbers(w) for w in model.weights]) if model.built else "",
        is_model_variable=model is namespace_model,
    )
    if isinstance(namespace_model, keras.Model) and model is not namespace_model:
        own = {id(w) for w in model.weights}
        facts.shares_layers = [i for i, layer in enumerate(namespace_model.layers)
                               if layer.weights and all(id(w) in own for w in layer.weights)]
    if facts.input_shapes == [(None, 28, 28, 1)] and facts.output_shapes and len(facts.output_shapes) == 1:
        facts.probe_output = _probe(model)
    return facts


def _probe(model) -> np.ndarray | None:
    import warnings

    # A direct call rather than predict(): no progress bar, no retracing warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = model(probe_input(), training=False)
        except Exception:
            return None
    if isinstance(result, (list, tuple)) and len(result) == 1:
        result = result[0]
    return _numbers(result)


def describe(value, namespace: dict | None = None) -> Fact:
    """The facts about one value from the notebook (``namespace`` gives the related ``model``)."""
    namespace = namespace or {}
    if "matplotlib" in sys.modules:
        from matplotlib.figure import Figure as MplFigure

        if isinstance(value, MplFigure):
            return figure_facts(value)
    if "keras" in sys.modules:
        import keras

        if isinstance(value, keras.Model):
            return model_facts(value, namespace.get("model"))
        if isinstance(value, keras.layers.Layer):
            return layer_facts(value)
    return value_facts(value)


# Facts a visible check needs that no single variable holds, named by the expression they stand for:
# ``a[0]``, the first item of the notebook's ``a`` (the first training image); ``m(b)``, the notebook's
# model ``m`` run on its array ``b`` (the student's own model on the student's own batch).
DERIVED = re.compile(r"^(?P<base>[A-Za-z_]\w*)(?:\[0\]|\((?P<arg>[A-Za-z_]\w*)\))$")


def _derived(name: str, namespace: dict) -> Fact:
    """The fact a derived name (``a[0]``, ``m(b)``) stands for; ``Missing()`` if its variables are not there."""
    match = DERIVED.match(name)
    base, arg = match["base"], match["arg"]
    if base not in namespace or (arg is not None and arg not in namespace):
        return Missing()
    value = namespace[base]
    if arg is None:
        return value_facts(value[0])
    import keras

    batch = _numbers(namespace[arg])
    if not isinstance(value, keras.Model) or batch is None:
        return Value(type_name=_type_name(value))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = value(batch.astype(np.float32), training=False)
    if isinstance(result, (list, tuple)) and len(result) == 1:
        result = result[0]
    return value_facts(result)


def extract(namespace: dict, names) -> dict[str, Fact]:
    """Facts about the variables ``names`` of a notebook's namespace; a missing name gives ``Missing()``.

    A name of the form ``a[0]`` or ``m(b)`` (see ``DERIVED``) gives the fact of that expression.
    """
    found = {}
    for name in names:
        if DERIVED.match(name) and name not in namespace:
            try:
                found[name] = _derived(name, namespace)
            except Exception:
                found[name] = Value(type_name="error")
            continue
        if name not in namespace:
            found[name] = Missing()
            continue
        try:
            found[name] = describe(namespace[name], namespace)
        except Exception:
            # Whatever went wrong reading it, the checks see a value they cannot use.
            found[name] = Value(type_name=_type_name(namespace[name]))
    return found


# --------------------------------------------------------------------------- carrying facts out


def _to_plain(obj, arrays: list):
    if dataclasses.is_dataclass(obj):
        body = {f.name: _to_plain(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)}
        return {"record": type(obj).__name__, "fields": body}
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"array": len(arrays) - 1}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_to_plain(v, arrays) for v in obj]}
    if isinstance(obj, dict):
        return {"dict": {str(k): _to_plain(v, arrays) for k, v in obj.items()}}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"cannot carry a {type(obj).__name__} out of the kernel")


def encode(step: str, facts: dict[str, Fact]) -> str:
    """One test cell's facts as text: base64 of an ``.npz`` holding the arrays and a JSON manifest."""
    arrays: list = []
    manifest = json.dumps({"step": step, "facts": _to_plain(facts, arrays)})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, manifest=np.frombuffer(manifest.encode(), dtype=np.uint8),
                        **{f"a{i}": a for i, a in enumerate(arrays)})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class BadFacts(ValueError):
    """The facts a kernel sent are not well-formed (too large, wrong types, unknown records)."""


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise BadFacts(what)


def _hint_allows(hint, value) -> bool:
    """Whether a decoded ``value`` fits the dataclass field annotation ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_hint_allows(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is typing.Any:
        return True
    if origin is list:
        (item,) = typing.get_args(hint) or (typing.Any,)
        return isinstance(value, list) and all(_hint_allows(item, v) for v in value)
    if hint is tuple:
        # Every tuple of the records holds sizes, coordinates or limits: numbers, or None for an unknown size.
        return isinstance(value, tuple) and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return False


def _from_plain(node, arrays, depth: int = 0):
    _expect(depth < 32 and isinstance(node, dict) and len(node) >= 1, "malformed facts")
    if "record" in node:
        cls = _RECORDS.get(node["record"])
        _expect(cls is not None and isinstance(node.get("fields"), dict), f"unknown record {node.get('record')!r}")
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        _expect(set(node["fields"]) <= fields, f"unknown fields in {cls.__name__}")
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        _expect(required <= set(node["fields"]), f"missing fields in {cls.__name__}")
        values = {}
        for name, raw in node["fields"].items():
            value = _from_plain(raw, arrays, depth + 1)
            _expect(_hint_allows(hints[name], value), f"{cls.__name__}.{name} has the wrong type")
            values[name] = value
        return cls(**values)
    if "array" in node:
        index = node["array"]
        _expect(isinstance(index, int) and 0 <= index < len(arrays), "bad array reference")
        return arrays[index]
    if "list" in node or "tuple" in node:
        items = node.get("list", node.get("tuple"))
        _expect(isinstance(items, list) and len(items) <= MAX_ITEMS * 4, "bad list")
        items = [_from_plain(v, arrays, depth + 1) for v in items]
        return items if "list" in node else tuple(items)
    if "dict" in node:
        _expect(isinstance(node["dict"], dict) and len(node["dict"]) <= MAX_ITEMS, "bad dict")
        return {k: _from_plain(v, arrays, depth + 1) for k, v in node["dict"].items()}
    if "value" in node:
        value = node["value"]
        _expect(value is None or isinstance(value, (bool, int, float, str)), "bad value")
        if isinstance(value, str):
            _expect(len(value) <= 4 * MAX_TEXT, "text too long")
        return value
    raise BadFacts("malformed facts")


def decode(text: str) -> tuple[str, dict[str, Fact]]:
    """``(step, facts)`` from ``encode``'s text, read as plain data only; raises ``BadFacts``."""
    _expect(isinstance(text, str) and len(text) <= MAX_PAYLOAD_CHARS, "facts missing or too large")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        # The sizes an archive declares are what zipfile will read at most (a lie fails its
        # CRC), so a compressed bomb is refused here, before anything is inflated.
        with zipfile.ZipFile(io.BytesIO(raw)) as bundle:
            _expect(sum(info.file_size for info in bundle.infolist()) <= 8 * 4 * MAX_ARRAY_ELEMENTS,
                    "arrays too large")
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            names = list(archive.files)
            _expect(len(names) <= 4 * MAX_ITEMS, "too many arrays")
            arrays_by_name = {}
            total = 0
            for name in names:
                array = archive[name]
                _expect(array.dtype.kind in "biuf", "non-numeric array")
                total += array.size
                _expect(total <= 4 * MAX_ARRAY_ELEMENTS, "arrays too large")
                arrays_by_name[name] = array
    except BadFacts:
        raise
    except Exception as exc:
        raise BadFacts(f"unreadable facts ({type(exc).__name__})") from None
    _expect("manifest" in arrays_by_name, "no manifest")
    try:
        manifest = json.loads(arrays_by_name.pop("manifest").tobytes().decode())
    except Exception:
        raise BadFacts("unreadable manifest") from None
    arrays = [arrays_by_name.get(f"a{i}") for i in range(len(arrays_by_name))]
    _expect(all(a is not None for a in arrays), "missing arrays")
    _expect(isinstance(manifest, dict) and isinstance(manifest.get("step"), str), "no step name")
    facts = _from_plain(manifest.get("facts"), arrays)
    _expect(isinstance(facts, dict) and all(isinstance(v, (Missing, Value, Figure, Layer, Model))
                                            for v in facts.values()), "facts are not records")
    return manifest["step"], facts
