"""Checks of figures on their facts: image grids (panels, order, colour scale, axes, colour map) and histograms.

Figures are checked through what matplotlib holds (images, colour limits,
axes state, histogram bars), never rendered pixels: a kernel drawn at twice
its value renders the same picture but is still wrong.
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.check_failed import check, fail
from cnnviz.checks import number_text, of_kind, shape_text
from cnnviz.facts import Axes, Fact, Figure, Histogram, Image
from cnnviz.korean import particle

# --------------------------------------------------------------------------- figures


def position(k: int, cols: int) -> tuple[str, str]:
    """1-based grid position of the k-th panel (row-major), in Korean and English."""
    r, c = divmod(k, cols)
    return f"{r + 1}행 {c + 1}열 패널", f"the panel in row {r + 1}, column {c + 1}"


def figure(value: Fact, name: str) -> Figure:
    """``value`` as a figure, or fail."""
    __tracebackhide__ = True
    return of_kind(value, Figure, name, "그림(`Figure` 객체)이어야", "a matplotlib Figure",
                   "`plt.subplots()`가 돌려주는 첫 번째 값을 담으세요.",
                   "Store the first value that plt.subplots() returns.")


def _rows_by_position(axes: list[Axes]) -> list[list[Axes]]:
    """``axes`` grouped into rows by their position on the figure, top to bottom, left to right."""
    order = sorted(axes, key=lambda ax: -ax.box[3])
    tol = 0.5 * min(ax.box[3] - ax.box[1] for ax in axes)
    rows: list[list[Axes]] = []
    for ax in order:
        if rows and abs(rows[-1][0].box[3] - ax.box[3]) < tol:
            rows[-1].append(ax)
        else:
            rows.append([ax])
    return [sorted(row, key=lambda ax: ax.box[0]) for row in rows]


def _one_grid(axes: list[Axes]) -> tuple | None:
    grids = {ax.grid[:3] if ax.grid else None for ax in axes}
    return next(iter(grids)) if len(grids) == 1 and None not in grids else None


def image_panels(fig: Figure) -> list[tuple[Axes, Image]]:
    """The (axes, image) pairs of ``fig``'s axes that hold an image, in row-major grid order.

    Order comes from the subplot grid when all panels share one
    (``plt.subplots``, ``fig.add_subplot(r, c, i)``), otherwise from their
    position on the figure. An axes with several images gives its last one
    (the student drew again).
    """
    axes = [ax for ax in fig.axes if ax.images]
    if not axes:
        return []
    if _one_grid(axes) is not None:
        axes = sorted(axes, key=lambda ax: (ax.grid[3], ax.grid[4]))
    else:
        axes = [ax for row in _rows_by_position(axes) for ax in row]
    return [(ax, ax.images[-1]) for ax in axes]


def grid_shape(fig: Figure) -> tuple[int, int] | None:
    """(rows, columns) of the grid ``fig``'s image panels sit in, or None if they form none."""
    axes = [ax for ax, _ in image_panels(fig)]
    if not axes:
        return None
    grid = _one_grid(axes)
    if grid is not None:
        return grid[1], grid[2]
    rows = _rows_by_position(axes)
    return (len(rows), len(rows[0])) if len({len(row) for row in rows}) == 1 else None


def own_scale(image: Image) -> bool:
    """Whether an image's colour scale is its own data's range (no vmin/vmax given)."""
    data = image.array[np.isfinite(image.array)] if image.array.size else image.array
    if data.size == 0:
        return True
    lo, hi = float(data.min()), float(data.max())
    return bool(np.allclose(image.clim, (lo, hi), rtol=1e-5, atol=1e-7 * max(1.0, abs(hi))))


def assert_image_grid(fig: Figure, name: str, images, rows: int, cols: int, *,
                      source_ko: str, source_en: str, scale=None, axes_off: bool = True,
                      cmap: str | None = None, atol: float = 1e-5) -> None:
    """Fail unless ``fig`` is a ``rows`` x ``cols`` grid of imshow panels showing ``images`` in row-major order.

    ``images``: the 2-D arrays that belong in the panels, or None to check only what needs
    no expected image (panels, grid, colour scale, axes, colour map); ``source_ko``/``source_en``
    name where they come from (a Korean noun phrase, an English one).
    ``scale``: None (not checked), ``"own"`` (every panel on its own data's
    range: no vmin/vmax) or ``(vmin, vmax)`` shared by all panels.
    Checked in order: the number of panels, the grid, each panel's image
    shape, its values (a panel showing another expected image is reported as
    a wrong order), the colour scale, hidden axes, the colour map.
    """
    __tracebackhide__ = True
    expected = [] if images is None else [np.asarray(img) for img in images]
    panels = image_panels(fig)
    found = len(panels)
    grid_ko, grid_en = f"{rows}행 {cols}열", f"{rows} x {cols}"
    a_grid = "an" if str(rows)[0] == "8" or rows in (11, 18) else "a"  # "an 8 x 8 grid"

    def place(k: int) -> tuple[str, str]:
        # A figure of one image has no grid to place it in: "the image of sample_fig".
        return ("이미지", "the image") if rows * cols == 1 else position(k, cols)

    if found == 0 and fig.axes:
        fail(
            f"`{name}` 그림에 축은 {len(fig.axes)}개 있지만 이미지가 그려진 패널이 없습니다. "
            "각 축에 `imshow()`를 호출했는지 확인하세요.",
            f"{name} has {len(fig.axes)} axes but no image on any of them: call imshow() on each axes.",
        )
    check(
        found == rows * cols,
        f"`{name}` 그림은 {grid_ko} 격자여야 하는데 이미지가 그려진 패널이 {found}개입니다. "
        f"`{name}` 그림을 만드는 셀을 확인하세요.",
        f"{name} should be {a_grid} {grid_en} grid, but {found} panels hold an image. Look at the cell that draws {name}.",
    )
    shape = grid_shape(fig)
    found_ko = "격자가 아닌 배치" if shape is None else f"{shape[0]}행 {shape[1]}열"
    found_en = "panels not in a grid" if shape is None else f"{shape[0]} x {shape[1]}"
    check(
        shape == (rows, cols),
        f"`{name}` 그림은 {grid_ko} 격자여야 하는데 지금은 {found_ko}입니다. `plt.subplots()`의 행과 열 수를 확인하세요.",
        f"{name} should be {a_grid} {grid_en} grid, found {found_en}. Check the rows and columns you give plt.subplots().",
    )
    arrays = [np.squeeze(im.array) for _, im in panels]
    for k, (array, want) in enumerate(zip(arrays, expected)):
        where_ko, where_en = place(k)
        check(
            array.shape == want.shape,
            f"`{name}` 그림의 {'이미지' if rows * cols == 1 else where_ko + '에 그린 이미지'}의 크기가 맞지 않습니다"
            f"(지금은 {shape_text(array.shape)}). "
            "어느 축을 인덱싱했는지 확인하세요.",
            f"{where_en} of {name} shows an image of the wrong size ({shape_text(array.shape)}); check which axes you index.",
        )

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=1e-5, equal_nan=True))

    for k, (array, want) in enumerate(zip(arrays, expected)):
        if same(array, want):
            continue
        where_ko, where_en = place(k)
        other = next((j for j, e in enumerate(expected) if j != k and same(array, e)), None)
        if other is not None:
            fail(
                f"`{name}` 그림의 {where_ko}에 {k + 1}번째가 아니라 {other + 1}번째 이미지가 그려져 있습니다. "
                "반복문의 순서와 인덱스 계산을 확인하세요.",
                f"{where_en} of {name} shows image no. {other + 1} instead of no. {k + 1}: "
                "check the order of your loops and the index arithmetic.",
            )
        fail(
            f"`{name}` 그림의 {where_ko} 값이 {particle(source_ko, '과/와')} 다릅니다. "
            "어느 배열과 채널을 그렸는지, 값을 바꾸지 않았는지 확인하세요.",
            f"{where_en} of {name} does not show {source_en}. "
            "Check which array and channel you draw, and that you do not change the values.",
        )
    # One property over all panels before the next, so that the first message is
    # about the first property (in the documented order) that is wrong anywhere.
    if scale == "own":
        for k, (_, im) in enumerate(panels):
            where_ko, where_en = place(k)
            check(
                own_scale(im),
                f"`{name}` 그림의 {particle(where_ko, '이/가')} 자기 값의 범위로 그려지지 않았습니다. "
                "특성 맵은 맵마다 값의 범위가 다르므로 `vmin`과 `vmax`를 주지 마세요.",
                f"{where_en} of {name} is not drawn on its own range of values: feature maps differ in range, "
                "so give no vmin or vmax.",
            )
    elif scale is not None:
        for k, (_, im) in enumerate(panels):
            where_ko, where_en = place(k)
            lo, hi = im.clim
            check(
                bool(np.allclose((lo, hi), scale)),
                f"`{name}` 그림의 {where_ko} 색 범위가 설명과 다릅니다(지금은 {number_text(lo)}~{number_text(hi)}). "
                "모든 패널에 설명에 나온 `vmin`과 `vmax`를 주세요.",
                f"{where_en} of {name} has a colour range other than the instructions give "
                f"({number_text(lo)} to {number_text(hi)}): give every panel the vmin and vmax of the instructions.",
            )
    if axes_off:
        for k, (ax, _) in enumerate(panels):
            where_ko, where_en = place(k)
            check(
                not ax.axis_on,
                f"`{name}` 그림의 {where_ko}에 축이 보입니다. 모든 패널에서 `axis('off')`로 축을 숨기세요.",
                f"{where_en} of {name} still shows its axes: hide them on every panel with axis('off').",
            )
    if cmap is not None:
        for k, (_, im) in enumerate(panels):
            where_ko, where_en = place(k)
            check(
                im.cmap == cmap,
                f"`{name}` 그림의 {where_ko} 컬러맵이 설명과 다릅니다(지금은 `{im.cmap}`). "
                "`imshow()`에 준 `cmap` 인자를 확인하세요.",
                f"{where_en} of {name} uses the colour map {im.cmap}, not the one the instructions give: "
                "check the cmap argument of imshow().",
            )


# --------------------------------------------------------------------------- histograms


def histogram(fig: Figure, name: str) -> tuple[Axes, Histogram]:
    """The one histogram of ``fig`` (on the last axes that has one), or fail."""
    __tracebackhide__ = True
    check(
        bool(fig.axes),
        f"`{name}` 그림이 비어 있습니다(축이 하나도 없습니다). `plt.show()` 다음에 `plt.gcf()`로 가져온 그림은 "
        "새로 만들어진 빈 그림입니다. 히스토그램을 그린 그림, 즉 `plt.subplots()`가 돌려주는 그림을 담으세요.",
        f"{name} is an empty figure (it has no axes): a figure taken with plt.gcf() after plt.show() is a new, "
        "empty one. Store the figure you drew the histogram on, the one plt.subplots() returns.",
    )
    with_bars = [ax for ax in fig.axes if ax.histograms]
    check(
        bool(with_bars),
        f"`{name}` 그림에 히스토그램이 없습니다. `hist()`로 그렸는지 확인하세요.",
        f"{name} holds no histogram: draw it with hist().",
    )
    ax = with_bars[-1]
    check(
        len(ax.histograms) == 1,
        f"`{name}` 그림의 한 축에 히스토그램이 {len(ax.histograms)}개 있습니다. "
        "모든 값을 1차원 배열 하나로 펼쳐 한 번에 그리세요.",
        f"{name} has {len(ax.histograms)} histograms on one axes: flatten all values into one array "
        "and draw them at once.",
    )
    return ax, ax.histograms[0]


def assert_histogram(fig: Figure, data: np.ndarray, name: str, *, source_ko: str, source_en: str,
                     xlabel: str | None = None, ylabel: str | None = None) -> None:
    """Fail unless ``fig`` holds a histogram (bars or outline) of all of ``data``, with these axis labels.

    The bars must count ``data.size`` values and match ``np.histogram`` of
    ``data`` on the bars' own bin edges (up to 2 values on an edge moved by
    float32 rounding).
    """
    __tracebackhide__ = True
    ax, hist = histogram(fig, name)
    values = np.asarray(data, dtype=np.float64).ravel()
    counted = float(hist.counts.sum())
    # Bar heights come from the kernel: an infinite or NaN one is a wrong count, not a crash.
    total = int(round(counted)) if math.isfinite(counted) else -1
    check(
        total == values.size,
        f"`{name}` 그림의 막대가 값 {total}개를 세는데 {particle(source_ko, '은/는')} 값이 {values.size}개입니다. "
        "일부가 아니라 모든 값을 넣었는지 확인하세요.",
        f"the bars of {name} count {total} values, but {source_en} has {values.size}: histogram all of them.",
    )
    edges = np.array(hist.edges, dtype=np.float64)
    # Bars no figure can have (edges not one increasing row, one count per bin) come
    # only from a kernel that made them up: they match nothing.
    well_formed = (edges.ndim == 1 and edges.size > 1 and hist.counts.shape == (edges.size - 1,)
                   and bool(np.all(np.diff(edges) > 0)))
    # Widen the outer edges a little so the smallest and largest values, which
    # lie exactly on them, are not lost to rounding of the bar coordinates.
    pad = 1e-6 * (edges[-1] - edges[0]) if well_formed else 0.0
    if well_formed and values.size and 0 < edges[0] - values.min() < pad:
        edges[0] = values.min()
    if well_formed and values.size and 0 < values.max() - edges[-1] < pad:
        edges[-1] = values.max()
    recount = np.histogram(values, bins=edges)[0] if well_formed else None
    check(
        recount is not None and np.abs(recount - hist.counts).sum() <= 2,
        f"`{name}` 그림의 히스토그램이 {particle(source_ko, '과/와')} 맞지 않습니다. 어느 배열을 넣었는지 확인하세요.",
        f"the histogram of {name} does not match {source_en}: check which array you pass to hist().",
    )
    for axis, want, found in (("x", xlabel, ax.xlabel), ("y", ylabel, ax.ylabel)):
        if want is not None:
            check(
                found.strip() == want,
                f"`{name}` 그림의 {axis}축 이름이 설명과 다릅니다(지금은 `{found.strip()}`).",
                f"the {axis}-axis label of {name} is not the one the instructions give (found '{found.strip()}').",
            )
