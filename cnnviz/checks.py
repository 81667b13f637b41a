"""Value, model and figure checks called by the notebook's test cells.

Every failed check raises ``AssertionError`` with one message, Korean first,
then English, separated by `` / ``. The message names the student's variable,
says what is wrong and where to look, and never prints reference values.

Figures are checked by inspecting matplotlib objects (images, colour limits,
axes state, histogram bars), never rendered pixels: a kernel drawn at twice
its value renders the same picture but is still wrong.

Keras is imported inside the functions that need it, so ``import
cnnviz.checks`` stays cheap.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import NoReturn

import numpy as np
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Polygon, Rectangle

__all__ = [
    "require",
    "to_numpy",
    "assert_shape",
    "assert_array",
    "assert_scalar",
    "assert_figure",
    "image_panels",
    "grid_shape",
    "assert_image_grid",
    "assert_histogram",
    "assert_conv2d",
    "assert_dense_model",
    "assert_same_model",
    "assert_activation_model",
    "assert_glorot_uniform",
    "assert_is_model",
    "assert_rank",
    "assert_numpy",
    "assert_true",
    "assert_not_trained",
    "assert_larger_spread",
    "untrained_kernel",
]


# --------------------------------------------------------------------------- helpers


def _fail(ko: str, en: str) -> NoReturn:
    __tracebackhide__ = True  # IPython shows the student's cell and the message, not this frame
    # `from None`: a failure raised while handling another exception should show
    # the student one message, not a chained traceback.
    raise AssertionError(f"{ko} / {en}") from None


def _check(cond: bool, ko: str, en: str) -> None:
    __tracebackhide__ = True
    if not cond:
        _fail(ko, en)


def _what(what: str) -> tuple[str, str]:
    """The Korean and English phrases for the expected values, with the caller's hint."""
    if what:
        return f"기대한 값({what})", what
    return "기대한 값", "the expected values"


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _type_name(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"numpy array of shape {value.shape}"
    return type(value).__name__


def _pos(k: int, cols: int) -> tuple[str, str]:
    """1-based grid position of the k-th panel (row-major), in Korean and English."""
    r, c = divmod(k, cols)
    return f"패널({r + 1}행 {c + 1}열)", f"panel (row {r + 1}, column {c + 1})"


def _numeric(value, name: str, scalar: bool = False) -> np.ndarray:
    """``to_numpy(value)``, failing with a message unless it holds numbers."""
    try:
        arr = to_numpy(value)
    except Exception:
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        _fail(
            f"{name}: {'숫자' if scalar else '숫자 배열'}이어야 하는데 {_type_name(value)}입니다. "
            f"{name}을(를) 만드는 셀을 확인하세요.",
            f"{name}: expected {'a number' if scalar else 'an array of numbers'}, found {_type_name(value)}. "
            f"Look at the cell that computes {name}.",
        )
    return arr


def _shape_tuple(shape) -> tuple:
    if hasattr(shape, "as_list"):  # tf.TensorShape
        shape = shape.as_list()
    return tuple(None if d is None else int(d) for d in shape)


# --------------------------------------------------------------------------- values


def require(namespace: dict, *names: str) -> None:
    """Fail, listing every one of ``names`` that is not defined in ``namespace``."""
    __tracebackhide__ = True
    missing = [n for n in names if n not in namespace]
    if missing:
        listed = ", ".join(missing)
        _fail(
            f"정의되지 않은 변수가 있습니다: {listed}. 이 변수를 만드는 셀을 먼저 실행하세요(또는 완성하세요).",
            f"variables {listed} are not defined: run the cells that create them (or complete them) first."
            if len(missing) > 1
            else f"variable {listed} is not defined: run the cell that creates it (or complete it) first.",
        )


def to_numpy(value) -> np.ndarray:
    """``value`` as a numpy array: numpy arrays, Python numbers and lists, TF tensors, Keras variables."""
    if isinstance(value, np.ndarray):
        return value
    module = type(value).__module__.split(".")[0]
    # Only values that come from TF or Keras need Keras; both are then already imported.
    if module not in ("numpy", "builtins") and ("keras" in sys.modules or "tensorflow" in sys.modules):
        import keras

        try:
            return np.asarray(keras.ops.convert_to_numpy(value))
        except Exception:
            pass
    return np.asarray(value)


def assert_shape(actual_shape, expected: tuple, name: str) -> None:
    """Fail unless ``actual_shape`` (tuple, list, TensorShape, Keras shape with None) equals ``expected``."""
    __tracebackhide__ = True
    try:
        actual = _shape_tuple(actual_shape)
    except (TypeError, ValueError):
        _fail(
            f"{name}: 모양(shape)이어야 하는데 {_type_name(actual_shape)}입니다. {name}을(를) 만드는 셀을 확인하세요.",
            f"{name}: expected a shape such as {tuple(expected)}, found {_type_name(actual_shape)}. "
            f"Look at the cell that computes {name}.",
        )
    expected = tuple(expected)
    _check(
        actual == expected,
        f"{name}: 모양이 {expected}이어야 하는데 {actual}입니다. {name}을(를) 만드는 셀을 확인하세요.",
        f"{name}: expected shape {expected}, found {actual}. Look at the cell that computes {name}.",
    )


def assert_array(actual, expected, name: str, atol: float = 1e-5, what: str = "") -> None:
    """Fail unless ``actual`` is an array of numbers with ``expected``'s shape and values (allclose)."""
    __tracebackhide__ = True
    arr = _numeric(actual, name)
    exp = to_numpy(expected)
    _check(
        arr.shape == exp.shape,
        f"{name}: 모양이 {exp.shape}이어야 하는데 {arr.shape}입니다. 어느 배열을 어떻게 인덱싱했는지 확인하세요.",
        f"{name}: expected shape {exp.shape}, found {arr.shape}. Check which array you use and how you index it.",
    )
    ko_what, en_what = _what(what)
    _check(
        bool(np.allclose(arr, exp, atol=atol, rtol=1e-5)),
        f"{name}: 값이 {ko_what}과 다릅니다. 어느 층·배열에서 가져왔는지, 값을 바꾸지 않았는지 확인하세요.",
        f"{name}: the values differ from {en_what}. Check which layer/array they come from "
        "and that you did not change them.",
    )


def assert_scalar(actual, expected: float, name: str, rtol: float = 1e-4, what: str = "", atol: float = 1e-7) -> None:
    """Fail unless ``actual`` is one number (Python, numpy or 0-d tensor) close to ``expected``."""
    __tracebackhide__ = True
    arr = _numeric(actual, name, scalar=True)
    _check(
        arr.size == 1,
        f"{name}: 숫자 하나여야 하는데 모양 {arr.shape}인 배열입니다. 배열 전체에 대해 계산했는지 확인하세요.",
        f"{name}: expected a single number, found an array of shape {arr.shape}. "
        "Check that you reduce over the whole array.",
    )
    value = float(arr.reshape(()))
    ko_what, en_what = _what(what)
    _check(
        math.isclose(value, float(expected), rel_tol=rtol, abs_tol=atol),
        f"{name}: 값 {_fmt(value)}이(가) {ko_what}과 다릅니다. {name}을(를) 계산하는 셀을 확인하세요.",
        f"{name}: the value {_fmt(value)} differs from {en_what}. Look at the cell that computes {name}.",
    )


# --------------------------------------------------------------------------- figures


def assert_figure(fig, name: str) -> None:
    """Fail unless ``fig`` is a matplotlib ``Figure`` (not an Axes, None or a list of axes)."""
    __tracebackhide__ = True
    _check(
        isinstance(fig, Figure),
        f"{name}: matplotlib Figure 객체여야 하는데 {_type_name(fig)}입니다. "
        f"Figure 객체(예: plt.subplots가 돌려주는 첫 번째 값)를 {name}에 저장하세요.",
        f"{name}: expected a matplotlib Figure, found {_type_name(fig)}. "
        f"Store the Figure object (e.g. the first value returned by plt.subplots) in {name}.",
    )


def _single_gridspec(axes: list[Axes]):
    """The one top-level GridSpec all ``axes`` sit in, or None."""
    specs = [ax.get_subplotspec() for ax in axes]
    if not specs or any(s is None for s in specs):
        return None
    gridspecs = {id(s.get_gridspec()): s.get_gridspec() for s in specs}
    return next(iter(gridspecs.values())) if len(gridspecs) == 1 else None


def _rows_by_position(axes: list[Axes]) -> list[list[Axes]]:
    """``axes`` grouped into rows by their position on the figure, top to bottom, left to right."""
    boxes = {id(ax): ax.get_position() for ax in axes}
    order = sorted(axes, key=lambda ax: -boxes[id(ax)].y1)
    tol = 0.5 * min(b.height for b in boxes.values())
    rows: list[list[Axes]] = []
    for ax in order:
        if rows and abs(boxes[id(rows[-1][0])].y1 - boxes[id(ax)].y1) < tol:
            rows[-1].append(ax)
        else:
            rows.append([ax])
    return [sorted(row, key=lambda ax: boxes[id(ax)].x0) for row in rows]


def image_panels(fig) -> list[tuple[Axes, AxesImage]]:
    """The (axes, image) pairs of ``fig``'s axes holding an image, in row-major grid order.

    Order comes from each axes' subplot spec when they all share one grid
    (``plt.subplots``, ``fig.add_subplot(r, c, i)``), otherwise from their
    position on the figure. An axes with several images gives its last one
    (the student drew again).
    """
    axes = [ax for ax in fig.axes if ax.get_images()]
    if not axes:
        return []
    if _single_gridspec(axes) is not None:
        specs = {id(ax): ax.get_subplotspec() for ax in axes}
        axes = sorted(axes, key=lambda ax: (specs[id(ax)].rowspan.start, specs[id(ax)].colspan.start))
    else:
        axes = [ax for row in _rows_by_position(axes) for ax in row]
    return [(ax, ax.get_images()[-1]) for ax in axes]


def grid_shape(fig) -> tuple[int, int] | None:
    """(rows, columns) of the grid ``fig``'s image panels sit in, or None if they do not form one.

    Taken from the shared GridSpec's geometry; panels placed otherwise (e.g.
    ``fig.add_axes``) count as a grid when their positions form full rows of
    equal length.
    """
    axes = [ax for ax, _ in image_panels(fig)]
    if not axes:
        return None
    gridspec = _single_gridspec(axes)
    if gridspec is not None:
        return tuple(gridspec.get_geometry())
    rows = _rows_by_position(axes)
    if len({len(row) for row in rows}) == 1:
        return len(rows), len(rows[0])
    return None


def assert_image_grid(
    fig,
    images,
    rows: int,
    cols: int,
    name: str,
    clim: tuple[float, float] | None = None,
    axes_off: bool = True,
    cmap: str | None = None,
    atol: float = 1e-5,
    what: str = "",
) -> None:
    """Fail unless ``fig`` is a ``rows`` x ``cols`` grid of imshow panels showing ``images`` in row-major order.

    ``images`` is a sequence (or an array with a leading axis) of the expected
    2-D arrays. Checked in order: figure type, number of panels, grid shape,
    each panel's image shape, each panel's values (a panel showing another
    expected image is reported as a wrong order), shared colour limits
    ``clim``, hidden axes, colour map ``cmap``.
    """
    __tracebackhide__ = True
    expected = [to_numpy(img) for img in images]
    if len(expected) != rows * cols:
        raise ValueError(f"assert_image_grid: {len(expected)} expected images for a {rows} x {cols} grid")

    assert_figure(fig, name)
    panels = image_panels(fig)
    found = len(panels)
    _check(
        found == rows * cols,
        f"{name}: 패널이 {rows * cols}개({rows}행 × {cols}열) 있어야 하는데 {found}개입니다. "
        f"{name}을(를) 만드는 셀을 확인하세요.",
        f"{name}: expected {rows * cols} panels in {rows} rows of {cols}, found {found} panels. "
        f"Look at the cell that makes {name}.",
    )
    shape = grid_shape(fig)
    found_ko = "격자가 아닌 배치" if shape is None else f"{shape[0]}행 × {shape[1]}열"
    found_en = "panels not in a grid" if shape is None else f"{shape[0]} x {shape[1]}"
    _check(
        shape == (rows, cols),
        f"{name}: {rows}행 × {cols}열 격자여야 하는데 {found_ko}입니다. subplots의 행·열 수를 확인하세요.",
        f"{name}: expected a grid of {rows} rows x {cols} columns, found {found_en}. "
        "Check the number of rows and columns of your subplots.",
    )

    arrays = [np.squeeze(np.asarray(im.get_array())) for _, im in panels]
    for k, (arr, exp) in enumerate(zip(arrays, expected)):
        ko_pos, en_pos = _pos(k, cols)
        _check(
            arr.shape == exp.shape,
            f"{name}: {ko_pos}의 이미지 모양이 {arr.shape}인데 {exp.shape}이어야 합니다. 어느 축을 인덱싱하는지 확인하세요.",
            f"{name}: {en_pos}: image shape {arr.shape}, expected {exp.shape}; check which axes you index.",
        )

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=1e-5))

    ko_what, en_what = _what(what)
    for k, (arr, exp) in enumerate(zip(arrays, expected)):
        if same(arr, exp):
            continue
        ko_pos, en_pos = _pos(k, cols)
        other = next((j for j, e in enumerate(expected) if j != k and same(arr, e)), None)
        if other is not None:
            _fail(
                f"{name}: {ko_pos}에 {k + 1}번째가 아니라 {other + 1}번째 이미지가 그려져 있습니다. "
                "패널 순서와 인덱스 계산을 확인하세요.",
                f"{name}: {en_pos} shows image no. {other + 1} instead of no. {k + 1}: "
                "check the order of your loop and the index arithmetic.",
            )
        _fail(
            f"{name}: {ko_pos}의 값이 {ko_what}과 다릅니다. 어느 층·채널(축)을 썼는지, 값의 크기를 바꾸지 않았는지 확인하세요.",
            f"{name}: {en_pos}: the values do not match {en_what}. Check the layer, the channel/axis you index, "
            "and that you do not rescale the values.",
        )

    # One property over all panels before the next, so the first message is about
    # the first property (in the documented order) that is wrong anywhere.
    if clim is not None:
        for k, (_, im) in enumerate(panels):
            lo, hi = im.get_clim()
            ko_pos, en_pos = _pos(k, cols)
            _check(
                bool(np.allclose((lo, hi), clim)),
                f"{name}: 모든 패널이 같은 색 범위를 써야 하는데 {ko_pos}의 clim이 ({_fmt(lo)}, {_fmt(hi)})입니다. "
                "설명대로 vmin과 vmax를 지정하세요.",
                f"{name}: the panels must share one colour scale, found clim ({_fmt(lo)}, {_fmt(hi)}) on {en_pos}. "
                "Set vmin and vmax as the instructions say.",
            )
    if axes_off:
        for k, (ax, _) in enumerate(panels):
            ko_pos, en_pos = _pos(k, cols)
            _check(
                not ax.axison,
                f"{name}: {ko_pos}에 축이 보입니다. 모든 패널의 축을 숨기세요(axis('off')).",
                f"{name}: {en_pos} still shows its axes: hide the axes of every panel (axis('off')).",
            )
    if cmap is not None:
        for k, (_, im) in enumerate(panels):
            found_cmap = im.get_cmap().name
            ko_pos, en_pos = _pos(k, cols)
            _check(
                found_cmap == cmap,
                f"{name}: {ko_pos}의 컬러맵이 '{found_cmap}'인데 '{cmap}'이어야 합니다.",
                f"{name}: {en_pos} uses the colour map '{found_cmap}', expected '{cmap}'.",
            )


def _histogram_bars(ax: Axes) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer) and c.patches]


def _step_outline(polygon: Polygon) -> tuple[np.ndarray, np.ndarray] | None:
    """Bin edges and heights of a histogram drawn with histtype='step' or 'stepfilled'."""
    xy = np.asarray(polygon.get_xy(), dtype=float)
    # The outline's flat tops run left to right, one per bin (an empty bin runs along 0);
    # a filled outline closes along the bottom from right to left, which is skipped.
    tops = [(a[0], b[0], a[1]) for a, b in zip(xy[:-1], xy[1:]) if a[1] == b[1] and b[0] > a[0]]
    if not tops:
        return None
    edges = np.array([t[0] for t in tops] + [tops[-1][1]])
    return edges, np.array([t[2] for t in tops])


def _histograms(ax: Axes) -> list[tuple[np.ndarray, np.ndarray]]:
    """(edges, counts) of every histogram drawn on ``ax``: bars, or step outlines."""
    found = [_bins_and_counts(container) for container in _histogram_bars(ax)]
    if not found:
        outlines = (_step_outline(p) for p in ax.patches if isinstance(p, Polygon))
        found = [outline for outline in outlines if outline is not None]
    return found


def _bins_and_counts(container: BarContainer) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and heights of a histogram's bars (vertical or horizontal)."""
    rects = [p for p in container.patches if isinstance(p, Rectangle)]
    if getattr(container, "orientation", "vertical") == "horizontal":
        starts = np.array([r.get_y() for r in rects])
        sizes = np.array([r.get_height() for r in rects])
        counts = np.array([r.get_width() for r in rects])
    else:
        starts = np.array([r.get_x() for r in rects])
        sizes = np.array([r.get_width() for r in rects])
        counts = np.array([r.get_height() for r in rects])
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
    return edges, counts


def assert_histogram(
    fig,
    data,
    name: str,
    xlabel: str | None = None,
    ylabel: str | None = None,
    what: str = "",
) -> None:
    """Fail unless ``fig`` (a Figure or an Axes) holds a histogram (bars or outline) of all of ``data``, with these labels.

    The bars' heights must count ``data.size`` values and match
    ``np.histogram`` of ``data`` on the bars' own bin edges (up to 2 values
    on an edge moved by float32 rounding). If several axes hold histograms,
    the last one is checked.
    """
    __tracebackhide__ = True
    if isinstance(fig, Axes):
        axes = [fig]
    else:
        assert_figure(fig, name)
        axes = fig.axes
    with_bars = [ax for ax in axes if _histograms(ax)]
    _check(
        bool(with_bars),
        f"{name}: 히스토그램이 없습니다. ax.hist 또는 plt.hist로 그리세요.",
        f"{name}: no histogram found in {name}; draw it with ax.hist/plt.hist.",
    )
    ax = with_bars[-1]
    histograms = _histograms(ax)
    _check(
        len(histograms) == 1,
        f"{name}: 한 축에 히스토그램이 {len(histograms)}개 그려져 있습니다. 모든 값을 하나의 배열로 모아 한 번에 그리세요.",
        f"{name}: found {len(histograms)} histograms (data sets) on one axes; "
        "histogram all values as one array.",
    )
    edges, counts = histograms[0]
    values = to_numpy(data).astype(np.float64).ravel()

    total = int(round(float(counts.sum())))
    _check(
        total == values.size,
        f"{name}: 막대가 값 {total}개를 세는데 {values.size}개여야 합니다. 커널 하나나 절편이 아니라 모든 가중치를 히스토그램으로 그리세요.",
        f"{name}: the bars count {total} values, expected {values.size}: "
        "histogram all weights, not one kernel or the bias.",
    )
    # Widen the outer edges a little so the smallest and largest values, which
    # lie exactly on them, are not lost to rounding of the bar coordinates.
    pad = 1e-6 * (edges[-1] - edges[0])
    if 0 < edges[0] - values.min() < pad:
        edges[0] = values.min()
    if 0 < values.max() - edges[-1] < pad:
        edges[-1] = values.max()
    recount = np.histogram(values, bins=edges)[0]
    ko_what, en_what = _what(what)
    _check(
        np.abs(recount - counts).sum() <= 2,
        f"{name}: 히스토그램이 {ko_what}과 맞지 않습니다. 어느 배열을 히스토그램으로 그렸는지 확인하세요.",
        f"{name}: the histogram does not match {en_what}: check which array you histogram.",
    )
    for axis, want, found in (("x", xlabel, ax.get_xlabel()), ("y", ylabel, ax.get_ylabel())):
        if want is not None:
            _check(
                found.strip() == want,
                f"{name}: {axis}축 레이블이 '{want}'이어야 하는데 '{found.strip()}'입니다.",
                f"{name}: {axis}-axis label should be '{want}', found '{found.strip()}'.",
            )


# --------------------------------------------------------------------------- Keras models


def _activation_name(layer) -> str:
    name = getattr(layer.activation, "__name__", None)
    if name is None:
        name = str(layer.get_config().get("activation"))
    return name


def assert_is_model(value, name: str) -> None:
    """Fail unless ``value`` is a Keras model."""
    __tracebackhide__ = True
    import keras

    _check(
        isinstance(value, keras.Model),
        f"{name}: keras 모델이어야 하는데 {_type_name(value)}입니다. {name}을(를) 만드는 셀을 확인하세요.",
        f"{name}: expected a Keras model, found {_type_name(value)}. Look at the cell that makes {name}.",
    )


def assert_conv2d(layer, name: str, filters: int, kernel_size=(3, 3), activation: str = "relu", padding: str = "same") -> None:
    """Fail unless ``layer`` is a ``keras.layers.Conv2D`` with these filters, kernel size, activation and padding."""
    __tracebackhide__ = True
    import keras

    _check(
        isinstance(layer, keras.layers.Conv2D),
        f"{name}: Conv2D 층이어야 하는데 {_type_name(layer)}입니다. 어느 층을 골랐는지 확인하세요.",
        f"{name}: expected a Conv2D layer, found {_type_name(layer)}. Check which layer you picked.",
    )
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    found_act = _activation_name(layer)
    for ok, ko, en in (
        (layer.filters == filters, f"필터 수가 {filters}이어야 하는데 {layer.filters}입니다.",
         f"expected {filters} filters, found {layer.filters}."),
        (tuple(layer.kernel_size) == tuple(kernel_size),
         f"커널 크기가 {tuple(kernel_size)}이어야 하는데 {tuple(layer.kernel_size)}입니다.",
         f"expected kernel size {tuple(kernel_size)}, found {tuple(layer.kernel_size)}."),
        (found_act == activation, f"활성화 함수가 '{activation}'이어야 하는데 '{found_act}'입니다.",
         f"expected activation '{activation}', found '{found_act}'."),
        (layer.padding == padding, f"패딩이 '{padding}'이어야 하는데 '{layer.padding}'입니다.",
         f"expected padding '{padding}', found '{layer.padding}'."),
    ):
        _check(ok, f"{name}: {ko}", f"{name}: {en}")


# The lesson's dense network: (units, activation) of its Dense layers, in order.
_DENSE_LAYERS = [(100, "sigmoid"), (10, "softmax")]


def assert_dense_model(dense_model, name: str, model=None) -> None:
    """Fail unless ``dense_model`` is a new functional Keras model: input (None, 784), Dense(100, sigmoid), Dense(10, softmax)."""
    __tracebackhide__ = True
    import keras

    assert_is_model(dense_model, name)
    if model is not None:
        _check(
            dense_model is not model,
            f"{name}: model과 같은 객체입니다. {name}은(는) 새 이름이어야 하며 model을 덮어쓰지 마세요.",
            f"{name} is the same object as model: {name} must be a new name; do not overwrite model.",
        )
    _check(
        not isinstance(dense_model, keras.Sequential),
        f"{name}: Sequential 모델입니다. 이 단계는 함수형 API로 만드세요: keras.Model(inputs, outputs).",
        f"{name} is a Sequential model: this step builds it with the functional API, keras.Model(inputs, outputs).",
    )
    try:
        in_shape = _shape_tuple(dense_model.inputs[0].shape)
        out_shape = _shape_tuple(dense_model.outputs[0].shape)
    except (AttributeError, ValueError, IndexError):
        _fail(
            f"{name}: 입력이 정의되지 않은 모델입니다. keras.Input으로 입력 모양을 지정하세요.",
            f"{name} has no defined input yet: give the input shape with keras.Input.",
        )
    _check(
        in_shape == (None, 784),
        f"{name}: 입력 모양이 (None, 784)여야 하는데 {in_shape}입니다.",
        f"{name}: input shape {in_shape}, expected (None, 784).",
    )
    _check(
        out_shape == (None, 10),
        f"{name}: 출력 모양이 (None, 10)이어야 하는데 {out_shape}입니다.",
        f"{name}: output shape {out_shape}, expected (None, 10).",
    )
    dense = [layer for layer in dense_model.layers if isinstance(layer, keras.layers.Dense)]
    _check(
        len(dense) == len(_DENSE_LAYERS),
        f"{name}: Dense 층이 {len(_DENSE_LAYERS)}개(100개 유닛 sigmoid, 10개 유닛 softmax) 있어야 하는데 {len(dense)}개입니다.",
        f"{name}: expected {len(_DENSE_LAYERS)} Dense layers (100 units with sigmoid, then 10 with softmax), "
        f"found {len(dense)}.",
    )
    for i, (layer, (units, act)) in enumerate(zip(dense, _DENSE_LAYERS), start=1):
        _check(
            layer.units == units,
            f"{name}: {i}번째 Dense 층의 유닛이 {units}개여야 하는데 {layer.units}개입니다.",
            f"{name}: Dense layer {i} should have {units} units, found {layer.units}.",
        )
        found = _activation_name(layer)
        _check(
            found == act,
            f"{name}: {i}번째 Dense 층의 활성화 함수가 '{act}'여야 하는데 '{found}'입니다.",
            f"{name}: Dense layer {i} should use activation '{act}', found '{found}'.",
        )


def assert_same_model(model, reference_model, name: str) -> None:
    """Fail unless ``model`` has ``reference_model``'s layer classes and weights (atol 1e-6).

    ``reference_model`` is the checkpoint loaded by the tests themselves.
    """
    __tracebackhide__ = True
    import keras

    if isinstance(model, keras.Model):
        classes = [type(layer).__name__ for layer in model.layers]
        found_ko = f"층 {len(classes)}개({', '.join(classes)})인 모델"
        found_en = f"a model with {len(classes)} layers: {', '.join(classes)}"
    else:
        classes = None
        found_ko = found_en = _type_name(model)
    _check(
        classes == [type(layer).__name__ for layer in reference_model.layers],
        f"{name}: best-cnn-model.keras에서 불러온 CNN이 아닙니다({found_ko}). "
        f"뒤의 셀이 {name}을(를) 덮어쓰지 않았나요? 새 이름을 쓰세요.",
        f"{name} is no longer the CNN loaded from best-cnn-model.keras (found {found_en}); "
        "did a later cell overwrite it? Use a new name.",
    )
    weights = [to_numpy(w) for w in model.weights]
    ref_weights = [to_numpy(w) for w in reference_model.weights]
    same = len(weights) == len(ref_weights) and all(
        w.shape == r.shape and np.allclose(w, r, atol=1e-6, rtol=0) for w, r in zip(weights, ref_weights)
    )
    _check(
        same,
        f"{name}: 가중치가 체크포인트 파일과 다릅니다. 다시 불러오고 바꾸지 마세요.",
        f"{name}'s weights differ from the checkpoint file; load it again and do not change it.",
    )


def assert_activation_model(acti, model, layer_index: int, expected_maps, sample_batch, name: str, expected_shape: tuple) -> None:
    """Fail unless ``acti`` maps ``model``'s input to the output of ``model.layers[layer_index]``.

    Checks the symbolic output shape, that ``acti`` reuses that layer's own
    weight variables (not copies), and its output on ``sample_batch``
    against ``expected_maps`` (computed independently by the caller, atol 1e-4).
    """
    __tracebackhide__ = True
    assert_is_model(acti, name)
    want = (None,) + tuple(expected_shape[1:])
    outputs = list(acti.outputs)
    _check(
        len(outputs) == 1,
        f"{name}: 출력이 하나여야 하는데 {len(outputs)}개입니다.",
        f"{name}: expected one output, found {len(outputs)}.",
    )
    found = _shape_tuple(outputs[0].shape)
    _check(
        found == want,
        f"{name}: 출력 모양이 {want}이어야 하는데 {found}입니다. 어느 층의 출력을 썼는지 확인하세요.",
        f"{name}: output shape {found}, expected {want}: which layer's output did you use?",
    )
    acti_ids = {id(w) for w in acti.weights}
    _check(
        all(id(w) in acti_ids for w in model.layers[layer_index].weights),
        f"{name}: model의 층을 재사용하지 않습니다. model.inputs와 그 층의 출력으로 만드세요.",
        f"{name} does not reuse model's layers: build it from model.inputs and a layer's output.",
    )
    # A direct call rather than predict(): no progress bar, no retracing warnings.
    # Keras warns when a model built on `model.inputs` (a list) gets one array; both work.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = acti(np.asarray(sample_batch, dtype="float32"), training=False)
    if isinstance(result, (list, tuple)):
        result = result[0]
    out = to_numpy(result)
    exp = to_numpy(expected_maps)
    _check(
        out.shape == exp.shape and bool(np.allclose(out, exp, atol=1e-4, rtol=1e-5)),
        f"{name}: 샘플에 대한 출력이 그 층의 기대한 특성 맵과 다릅니다. 어느 층의 출력을 썼는지 확인하세요.",
        f"{name}'s output on the sample differs from the expected feature maps of that layer. "
        "Check which layer's output you used.",
    )


def assert_glorot_uniform(kernel, fan_in: int, fan_out: int, name: str) -> None:
    """Fail unless ``kernel`` looks freshly Glorot-uniform initialised for these fans.

    All weights within the bound ``sqrt(6 / (fan_in + fan_out))``, the
    standard deviation within 25 % of a uniform's (bound / sqrt(3)) and the
    mean near zero (below bound / 4).
    """
    __tracebackhide__ = True
    w = _numeric(kernel, name).astype(np.float64)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    _check(
        w.size > 0 and float(np.abs(w).max()) <= limit * (1 + 1e-6),
        f"{name}: 일부 가중치가 Glorot 균등 분포의 범위를 벗어납니다. 정말 훈련하지 않은 층인가요?",
        f"{name}: some weights lie outside the Glorot-uniform bound: is this really an untrained layer?",
    )
    _check(
        abs(float(w.std()) - limit / math.sqrt(3)) <= 0.25 * limit / math.sqrt(3) and abs(float(w.mean())) < limit / 4,
        f"{name}: 가중치의 분포가 새로 초기화한 Glorot 균등 분포로 보이지 않습니다. 훈련하지 않은 새 층의 가중치인지 확인하세요.",
        f"{name}: the weights do not look like a fresh Glorot-uniform initialisation: "
        "check that they come from a new, untrained layer.",
    )


# --------------------------------------------------------------------------- quick checks


def assert_rank(shape, rank: int, name: str) -> None:
    """Fail unless ``shape`` (a tuple, list or TensorShape) has ``rank`` dimensions."""
    __tracebackhide__ = True
    try:
        dims = _shape_tuple(shape)
    except TypeError:
        dims = None
    _check(
        dims is not None and len(dims) == rank,
        f"{name}: 크기(shape)가 {rank}차원이어야 하는데 {dims if dims is not None else _type_name(shape)}입니다. "
        f"{name}을(를) 만드는 셀을 확인하세요.",
        f"{name}: expected a shape with {rank} dimensions, found {dims if dims is not None else _type_name(shape)}. "
        f"Look at the cell that makes {name}.",
    )


def assert_numpy(value, name: str) -> None:
    """Fail unless ``value`` is a NumPy array (not a Keras variable or a tensor)."""
    __tracebackhide__ = True
    _check(
        isinstance(value, np.ndarray),
        f"{name}: 넘파이 배열이어야 하는데 {_type_name(value)}입니다. 가중치를 넘파이 배열로 바꿨는지 확인하세요.",
        f"{name}: expected a NumPy array, found {_type_name(value)}. Did you convert the weights to NumPy?",
    )


def assert_true(value, name: str, what: str = "") -> None:
    """Fail unless ``value`` is the boolean True (``what`` says what it should state)."""
    __tracebackhide__ = True
    ko_what, en_what = _what(what)
    _check(
        isinstance(value, (bool, np.bool_)),
        f"{name}: True 또는 False여야 하는데 {_type_name(value)}입니다.",
        f"{name}: expected True or False, found {_type_name(value)}.",
    )
    _check(
        bool(value),
        f"{name}: {ko_what}을(를) 다시 확인하세요. 비교에 쓴 배열과 경계를 확인하세요.",
        f"{name}: check {en_what} again: look at the array and the bound you compared.",
    )


def assert_not_trained(untrained, trained, name: str) -> None:
    """Fail if the supposedly untrained kernel is the trained one."""
    __tracebackhide__ = True
    a, b = to_numpy(untrained), to_numpy(trained)
    _check(
        a.shape != b.shape or not np.allclose(a, b),
        f"{name}: 훈련된 모델의 커널과 같습니다. 새로 만든 층의 가중치를 쓰세요.",
        f"{name}: this is the trained model's kernel. Use the weights of the newly made layer.",
    )


def assert_larger_spread(trained, untrained, factor: float = 1.5) -> None:
    """Fail unless the trained kernel's std is clearly (``factor`` times) larger than the untrained one's."""
    __tracebackhide__ = True
    t, u = float(np.std(to_numpy(trained))), float(np.std(to_numpy(untrained)))
    _check(
        t > factor * u,
        f"훈련된 가중치의 표준편차가 훈련하지 않은 가중치보다 뚜렷하게 크지 않습니다(비율 {_fmt(t / u)}). "
        "no_training_model이 새로 만든 층인지 확인하세요.",
        f"the trained weights' std is not clearly larger than the untrained weights' (ratio {_fmt(t / u)}). "
        "Check that no_training_model is a newly made layer.",
    )


def untrained_kernel(layer, trained_kernel, name: str = "no_training_conv") -> np.ndarray:
    """The kernel of the student's untrained Conv2D ``layer``, after checking that it is one.

    Later steps compare the student's statistics and figures with this kernel,
    so a "baseline" that is really the trained layer fails them all.
    """
    __tracebackhide__ = True
    assert_conv2d(layer, name, filters=trained_kernel.shape[-1])
    kernel = to_numpy(layer.kernel)
    assert_not_trained(kernel, trained_kernel, name)
    height, width, channels, filters = kernel.shape
    assert_glorot_uniform(kernel, height * width * channels, height * width * filters, name)
    return kernel
