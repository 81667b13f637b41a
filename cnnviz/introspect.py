"""Live objects of the student's kernel read into plain facts (``cnnviz.facts``' records).

This runs in the kernel, on whatever the notebook's variables hold: every
attribute is read defensively, numbers are copied into plain native ndarrays
(no subclass, no object travels on), texts are cut short, and a value that
breaks the reading becomes a value the checks cannot use. Keras and matplotlib
are imported only when the notebook has already imported them.
"""

from __future__ import annotations

import re
import sys

import numpy as np

from cnnviz import facts
from cnnviz.facts import Axes, Fact, Figure, Histogram, Image, Layer, Missing, Model, Value


def _text(value) -> str:
    return str(value)[:facts.MAX_TEXT]


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
    if array.dtype.kind not in "biuf" or array.size > facts.MAX_ARRAY_ELEMENTS:
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
    return Image(array=_numbers(array) if array.size <= facts.MAX_ARRAY_ELEMENTS else np.zeros(0),
                 clim=(float(lo), float(hi)), cmap=_text(im.get_cmap().name))


def figure_facts(fig) -> Figure:
    """Facts about a matplotlib figure: every axes with its place, images, histograms and labels."""
    gridspecs: list = []
    axes = []
    for ax in fig.axes[:facts.MAX_ITEMS]:
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
        images = [image for image in map(_image, ax.get_images()[:facts.MAX_ITEMS]) if image is not None]
        axes.append(Axes(
            box=(float(box.x0), float(box.y0), float(box.x1), float(box.y1)),
            grid=grid,
            axis_on=bool(ax.axison),
            images=images,
            histograms=_histograms(ax)[:facts.MAX_ITEMS],
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
        values = [_numbers(w) for w in layer.weights[:facts.MAX_ITEMS]]
        values = [w if w is not None else np.zeros(0) for w in values]
        digest = facts.weights_digest(values) if values else ""
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
    found = Model(
        class_name=_type_name(model),
        is_sequential=isinstance(model, keras.Sequential),
        layers=[layer_facts(layer, with_weights=False) for layer in model.layers[:facts.MAX_ITEMS]],
        input_shapes=None if inputs is None else _tensor_shapes(inputs),
        output_shapes=None if outputs is None else _tensor_shapes(outputs),
        weights_digest=facts.weights_digest([_numbers(w) for w in model.weights]) if model.built else "",
        is_model_variable=model is namespace_model,
    )
    if isinstance(namespace_model, keras.Model) and model is not namespace_model:
        own = {id(w) for w in model.weights}
        found.shares_layers = [i for i, layer in enumerate(namespace_model.layers)
                               if layer.weights and all(id(w) in own for w in layer.weights)]
    if found.input_shapes == [(None, 28, 28, 1)] and found.output_shapes and len(found.output_shapes) == 1:
        found.probe_output = _probe(model)
    return found


def _probe(model) -> np.ndarray | None:
    import warnings

    # A direct call rather than predict(): no progress bar, no retracing warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = model(facts.probe_input(), training=False)
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
