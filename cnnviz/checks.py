"""Generic checks on facts (``cnnviz.facts``): values, arrays, figures, Keras layers and models.

Each check reads plain facts, so the same code runs in the student's kernel
(Validate) and in the grader's own process (the score). A failed check raises
``CheckFailed`` (an ``AssertionError``) that carries its message as a pair,
Korean and English, rendered as one line ``korean / english`` (:func:`render`)
only where it is shown. The message names the student's variable, says what is wrong and
where to look, and never shows a value the student should have computed.

Figures are checked through what matplotlib holds (images, colour limits,
axes state, histogram bars), never rendered pixels: a kernel drawn at twice
its value renders the same picture but is still wrong.
"""

from __future__ import annotations

import math
import unicodedata
from typing import NoReturn

import numpy as np

from cnnviz.facts import Axes, Fact, Figure, Histogram, Image, Layer, Missing, Model, Value

# --------------------------------------------------------------------------- messages


class CheckFailed(AssertionError):
    """A failed check: an ``AssertionError`` that carries its message as a pair, Korean and English.

    ``str()`` is the one-line form ``korean / english`` that nbgrader and the
    catalogue read; IPython renders it through ``_render_traceback_``, so a
    student sees ``AssertionError: <message>`` laid out by :func:`screen_lines`
    and none of the course's own frames, which only say where the check lives.
    """

    def __init__(self, korean: str, english: str, reference: bool = False):
        super().__init__(render(korean, english))
        self.korean, self.english = korean, english
        self.reference = reference  # see fail()

    def __reduce__(self):  # an exception is copied by its args: keep the pair
        return type(self), (self.korean, self.english, self.reference)

    def _render_traceback_(self) -> list[str]:
        lines = screen_lines(self.korean, self.english, prefix="AssertionError: ")
        lines[0] = "\x1b[0;31mAssertionError\x1b[0m" + lines[0][len("AssertionError"):]
        return lines


# The output's `ename` is the class name: keep the one students know.
CheckFailed.__name__ = CheckFailed.__qualname__ = "AssertionError"


def render(korean: str, english: str) -> str:
    """A bilingual message in its one-line form, as nbgrader keeps it: ``korean / english``."""
    return f"{korean} / {english}"


def halves(failure: AssertionError) -> tuple[str, str]:
    """The (Korean, English) pair a failed check carries; any other AssertionError is one text, no English."""
    if isinstance(failure, CheckFailed):
        return failure.korean, failure.english
    return str(failure), ""


def fail(ko: str, en: str, *, reference: bool = False) -> NoReturn:
    """Raise the check's one bilingual message.

    ``reference``: the failure comes from a comparison with the grader's reference
    (``cnnviz.lesson``'s hidden checks), which no check in the student's kernel can make.
    """
    __tracebackhide__ = True
    # `from None`: a failure raised while handling another exception shows one message.
    raise CheckFailed(ko, en, reference) from None


# nbgrader's Validate dialog shows a failed cell's output in a <pre> that never wraps, and a
# laptop screen shows about 80 columns of it; a Hangul syllable takes two columns.
SCREEN_COLUMNS = 76


def screen_columns(text: str) -> int:
    """How many columns ``text`` takes in a fixed-width font (a Hangul syllable takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, columns: int = SCREEN_COLUMNS) -> list[str]:
    """``text`` broken at spaces into lines of at most ``columns`` screen columns (Hangul is two wide).

    A single word longer than a line keeps a line of its own rather than being cut.
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        longer = f"{line} {word}" if line else word
        if line and screen_columns(longer) > columns:
            lines.append(line)
            line = word
        else:
            line = longer
    return lines + [line] if line else lines


def screen_lines(korean: str, english: str = "", prefix: str = "") -> list[str]:
    """A message as a student reads it: ``prefix`` and the Korean half, then the English half, each wrapped.

    A message in one language only (``english`` empty) is its one wrapped paragraph.
    """
    return wrap(prefix + korean) + wrap(english)


def text_screen_lines(text: str, prefix: str = "") -> list[str]:
    """:func:`screen_lines` of a message that arrives as text only (an error a notebook's kernel raised,
    read from the notebook): a one-line bilingual form (:func:`render`) is laid out as its two halves."""
    korean, _, english = text.partition(" / ")
    return screen_lines(korean, english, prefix)


def check(cond: bool, ko: str, en: str) -> None:
    """Fail with the message unless ``cond``."""
    __tracebackhide__ = True
    if not cond:
        fail(ko, en)


def particle(word: str, pair: str) -> str:
    """``word`` with the Korean particle of ``pair`` ("이/가", "을/를", "과/와", "은/는", "으로/로") its last sound takes."""
    with_final, without_final = pair.split("/")
    word = word.rstrip()  # a particle is attached to its word, never after a space
    last = word[-1:] or "가"
    code = ord(last) - 0xAC00
    if 0 <= code < 11172:
        final = code % 28
    else:  # a digit or a letter: read as Korean numbers are read
        final = {"0": 21, "1": 8, "3": 16, "6": 1, "7": 8, "8": 8}.get(last, 0)
    if pair == "으로/로":
        return word + ("로" if final in (0, 8) else "으로")
    return word + (with_final if final else without_final)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _dims(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def position(k: int, cols: int) -> tuple[str, str]:
    """1-based grid position of the k-th panel (row-major), in Korean and English."""
    r, c = divmod(k, cols)
    return f"{r + 1}행 {c + 1}열 패널", f"the panel in row {r + 1}, column {c + 1}"


def kind_of(fact: Fact) -> str:
    """What a value is, in a word or two, for messages."""
    if isinstance(fact, Missing):
        return "nothing"
    if isinstance(fact, Figure):
        return "Figure"
    if isinstance(fact, (Layer, Model)):
        return fact.class_name
    if fact.array is not None and fact.array.ndim > 0 and fact.type_name in ("ndarray", "list", "tuple"):
        return f"{fact.type_name} {_dims(fact.array.shape)}"
    return fact.type_name


# --------------------------------------------------------------------------- values


def require(found: dict[str, Fact], *names: str) -> None:
    """Fail, naming every one of ``names`` that the notebook does not define."""
    __tracebackhide__ = True
    missing = [n for n in names if isinstance(found.get(n, Missing()), Missing)]
    if missing:
        listed_ko = ", ".join(f"`{n}`" for n in missing)
        listed_en = ", ".join(missing)
        fail(
            f"{listed_ko} 변수가 정의되어 있지 않습니다. 이 단계의 답 셀에서 값을 정확히 이 이름으로 "
            "저장했는지 확인하고, 그 셀을 실행하세요.",
            f"{listed_en} is not defined: the answer cell of this step must store the value under exactly "
            "this name, and it must have run." if len(missing) == 1 else
            f"{listed_en} are not defined: the answer cell of this step must store the values under exactly "
            "these names, and it must have run.",
        )


def numbers(value: Fact, name: str) -> np.ndarray:
    """The numbers ``value`` holds (an array, a number, a tensor, a variable), or fail."""
    __tracebackhide__ = True
    array = value.array if isinstance(value, Value) else None
    check(
        array is not None,
        f"`{name}` 변수에 숫자가 아닌 값(`{kind_of(value)}`)이 들어 있습니다. 이 변수를 계산하는 셀을 확인하세요.",
        f"{name} holds {kind_of(value)}, not numbers. Look at the cell that computes {name}.",
    )
    return array


def number(value: Fact, name: str) -> float:
    """``value`` as one number (Python, NumPy or a 0-d tensor), or fail."""
    __tracebackhide__ = True
    array = numbers(value, name)
    check(
        array.size == 1,
        f"`{name}` 변수는 숫자 하나여야 하는데 원소가 {array.size}개인 배열입니다. 배열 전체에 대해 계산했는지 확인하세요.",
        f"{name} should be a single number, but it is an array of {array.size} elements: "
        "compute it over the whole array.",
    )
    return float(array.reshape(()))


def assert_number_close(value: Fact, expected: float, name: str, hint_ko: str, hint_en: str,
                        rtol: float = 1e-4, atol: float = 1e-7) -> None:
    """Fail unless ``value`` is one number close to ``expected``; the hint says where to look."""
    __tracebackhide__ = True
    found = number(value, name)
    check(
        math.isclose(found, float(expected), rel_tol=rtol, abs_tol=atol),
        f"`{name}` 변수의 값({_fmt(found)})이 맞지 않습니다. {hint_ko}",
        f"{name} ({_fmt(found)}) is not right. {hint_en}",
    )


def assert_array_close(value: Fact, expected: np.ndarray, name: str, hint_ko: str, hint_en: str,
                       atol: float = 1e-5) -> None:
    """Fail unless ``value`` holds numbers of ``expected``'s shape and values (allclose)."""
    __tracebackhide__ = True
    array = numbers(value, name)
    check(
        array.shape == np.shape(expected),
        f"`{name}` 배열의 모양이 맞지 않습니다(지금은 {_dims(array.shape)}). {hint_ko}",
        f"{name} has the wrong shape (found {_dims(array.shape)}). {hint_en}",
    )
    check(
        bool(np.allclose(array, expected, atol=atol, rtol=1e-5)),
        f"`{name}` 배열의 값이 맞지 않습니다. {hint_ko}",
        f"{name} holds the wrong values. {hint_en}",
    )


def assert_numpy(value: Fact, name: str) -> None:
    """Fail unless ``value`` is a NumPy array (not a Keras variable, a tensor or a list)."""
    __tracebackhide__ = True
    check(
        isinstance(value, Value) and value.is_numpy,
        f"`{name}` 변수는 넘파이 배열이어야 하는데 지금은 `{kind_of(value)}` 값입니다. `.numpy()`로 바꿨는지 확인하세요.",
        f"{name} should be a NumPy array, found {kind_of(value)}. Did you convert it with .numpy()?",
    )


def boolean(value: Fact, name: str) -> bool:
    """``value`` as a bool (Python or NumPy), or fail."""
    __tracebackhide__ = True
    ok = isinstance(value, Value) and value.is_bool and value.array is not None and value.array.size == 1
    check(
        ok,
        f"`{name}` 변수는 `True`나 `False`여야 하는데 지금은 `{kind_of(value)}` 값입니다.",
        f"{name} should be True or False, found {kind_of(value)}.",
    )
    return bool(value.array.reshape(()))


def shape_of(value: Fact, name: str) -> tuple:
    """``value`` as a shape (tuple, list or TensorShape of sizes), or fail."""
    __tracebackhide__ = True
    shape = value.shape if isinstance(value, Value) else None
    check(
        shape is not None,
        f"`{name}` 변수는 크기(모양)여야 하는데 지금은 `{kind_of(value)}` 값입니다. 가중치의 `.shape`를 그대로 담으세요.",
        f"{name} should be a shape, found {kind_of(value)}. Store the weight's .shape as it is.",
    )
    return shape


def assert_rank(value: Fact, rank: int, name: str) -> tuple:
    """Fail unless ``value`` is a shape with ``rank`` dimensions; return it."""
    __tracebackhide__ = True
    shape = shape_of(value, name)
    check(
        len(shape) == rank,
        f"`{name}` 변수의 차원 수가 맞지 않습니다(지금은 `{_dims(shape)}`). 커널과 절편 중 어느 가중치의 `.shape`인지 확인하세요.",
        f"{name} has the wrong number of dimensions (found the shape {_dims(shape)}). "
        "Check whose .shape it is: the kernel's or the bias's.",
    )
    return shape


def assert_shape(value: Fact, expected: tuple, name: str, hint_ko: str, hint_en: str) -> None:
    """Fail unless ``value`` is the shape ``expected``; the hint says where to look."""
    __tracebackhide__ = True
    shape = shape_of(value, name)
    check(
        shape == tuple(expected),
        f"`{name}` 변수의 모양이 맞지 않습니다(지금은 `{_dims(shape)}`). {hint_ko}",
        f"{name} is not the right shape (found {_dims(shape)}). {hint_en}",
    )


# --------------------------------------------------------------------------- figures


def of_kind(value: Fact, kind: type, name: str, what_ko: str, what_en: str, hint_ko: str, hint_en: str):
    """``value`` if it is a ``kind`` fact; else fail saying what ``name`` should be and where to look.

    ``what_ko`` carries its own copula ("그림이어야"), chosen by its last sound.
    """
    __tracebackhide__ = True
    check(
        isinstance(value, kind),
        f"`{name}` 변수는 {what_ko} 하는데 지금은 `{kind_of(value)}` 값입니다. {hint_ko}",
        f"{name} should be {what_en}, found {kind_of(value)}. {hint_en}",
    )
    return value


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
            f"(지금은 {_dims(array.shape)}). "
            "어느 축을 인덱싱했는지 확인하세요.",
            f"{where_en} of {name} shows an image of the wrong size ({_dims(array.shape)}); check which axes you index.",
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
                f"`{name}` 그림의 {where_ko} 색 범위가 설명과 다릅니다(지금은 {_fmt(lo)}~{_fmt(hi)}). "
                "모든 패널에 설명에 나온 `vmin`과 `vmax`를 주세요.",
                f"{where_en} of {name} has a colour range other than the instructions give "
                f"({_fmt(lo)} to {_fmt(hi)}): give every panel the vmin and vmax of the instructions.",
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


# --------------------------------------------------------------------------- Keras


def layer(value: Fact, name: str) -> Layer:
    """``value`` as a Keras layer, or fail."""
    __tracebackhide__ = True
    return of_kind(value, Layer, name, "케라스 층이어야", "a Keras layer",
                   "`model.layers`에서 층 하나를 꺼냈는지 확인하세요.", "Take one layer out of model.layers.")


def conv2d(value: Fact, name: str) -> Layer:
    """``value`` as a built ``Conv2D`` layer, or fail."""
    __tracebackhide__ = True
    found = layer(value, name)
    check(
        found.is_conv2d,
        f"`{name}` 변수는 `Conv2D` 층이어야 하는데 지금은 `{found.class_name}` 층입니다. 어느 층을 골랐는지 확인하세요.",
        f"{name} should be a Conv2D layer, found a {found.class_name} layer. Check which layer you picked.",
    )
    check(
        found.built and len(found.weights) == 2,
        f"`{name}` 층에 아직 가중치가 없습니다. 모델에 `keras.layers.Input`을 먼저 추가해 층이 만들어지게 하세요.",
        f"{name} has no weights yet: add a keras.layers.Input to the model first, so that the layer is built.",
    )
    return found


def assert_conv_settings(found: Layer, name: str, filters: int, kernel_size: tuple,
                         activation: str, padding: str) -> None:
    """Fail unless a Conv2D layer has these filters, kernel size, activation and padding."""
    __tracebackhide__ = True
    for ok, what_ko, what_en, now in (
        (found.filters == filters, "필터 수", "number of filters", found.filters),
        (tuple(found.kernel_size or ()) == tuple(kernel_size), "커널 크기", "kernel size", found.kernel_size),
        (found.activation == activation, "활성화 함수", "activation", found.activation),
        (found.padding == padding, "패딩", "padding", found.padding),
    ):
        check(
            ok,
            f"`{name}` 층의 {particle(what_ko, '이/가')} 설명과 다릅니다(지금은 `{now}`). `Conv2D`에 준 인자를 확인하세요.",
            f"the {what_en} of {name} is not the one the instructions give (found {now}). "
            "Check the arguments you give Conv2D.",
        )


def assert_glorot_uniform(kernel: np.ndarray, name: str) -> None:
    """Fail unless ``kernel`` looks freshly Glorot-uniform initialised.

    All weights within the bound ``sqrt(6 / (fan_in + fan_out))``, the
    standard deviation within 25 % of a uniform's (bound / sqrt(3)) and the
    mean near zero (below bound / 4).
    """
    __tracebackhide__ = True
    w = np.asarray(kernel, dtype=np.float64)
    # Not a kernel at all (fewer than 2 dimensions, no fans): no bound to compare with, so it fails below.
    usable = w.size > 0 and w.ndim >= 2 and w.shape[-2] + w.shape[-1] > 0
    limit = glorot_limit(w.shape) if usable else 0.0
    spread = limit / math.sqrt(3)
    check(
        usable and float(np.abs(w).max()) <= limit * (1 + 1e-6)
        and abs(float(w.std()) - spread) <= 0.25 * spread and abs(float(w.mean())) < limit / 4,
        f"`{name}` 층의 가중치가 새로 초기화한 글로럿 균등 분포로 보이지 않습니다. 훈련하지 않은 새 층에서 가져왔는지 확인하세요.",
        f"the weights of {name} do not look like a fresh Glorot-uniform initialisation: "
        "take them from a new, untrained layer.",
    )


def glorot_limit(kernel_shape: tuple) -> float:
    """The Glorot-uniform bound ``sqrt(6 / (fan_in + fan_out))`` of a convolution kernel's shape."""
    receptive = int(np.prod(kernel_shape[:-2]))
    fan_in, fan_out = receptive * kernel_shape[-2], receptive * kernel_shape[-1]
    return math.sqrt(6.0 / (fan_in + fan_out))


def model(value: Fact, name: str) -> Model:
    """``value`` as a Keras model, or fail."""
    __tracebackhide__ = True
    return of_kind(value, Model, name, "케라스 모델이어야", "a Keras model",
                   f"`{name}` 변수를 만드는 셀을 확인하세요.", f"Look at the cell that makes {name}.")


def assert_functional(found: Model, name: str) -> None:
    """Fail if the model was built with ``Sequential`` instead of ``keras.Model(inputs, outputs)``."""
    __tracebackhide__ = True
    check(
        not found.is_sequential,
        f"`{name}` 모델이 `Sequential`로 만들어졌습니다. 이 단계에서는 함수형 API, 즉 "
        "`keras.Model(inputs, outputs)`로 만드세요.",
        f"{name} is a Sequential model: this step builds it with the functional API, keras.Model(inputs, outputs).",
    )


def assert_io_shapes(found: Model, name: str, inputs: tuple, outputs: tuple) -> None:
    """Fail unless the model has one input and one output of these symbolic shapes."""
    __tracebackhide__ = True
    check(
        found.input_shapes is not None,
        f"`{name}` 모델의 입력이 정해져 있지 않습니다. `keras.Input`으로 입력 모양을 지정하세요.",
        f"{name} has no defined input yet: give its input shape with keras.Input.",
    )
    for side_ko, side_en, shapes, want in (("입력", "input", found.input_shapes, inputs),
                                           ("출력", "output", found.output_shapes, outputs)):
        check(
            len(shapes or []) == 1,
            f"`{name}` 모델의 {side_ko}이 하나여야 하는데 {len(shapes or [])}개입니다.",
            f"{name} should have one {side_en}, found {len(shapes or [])}.",
        )
        check(
            tuple(shapes[0]) == tuple(want),
            f"`{name}` 모델의 {side_ko} 모양이 설명과 다릅니다(지금은 `{_dims(shapes[0])}`). "
            f"어느 층의 {particle(side_ko, '을/를')} 썼는지 확인하세요.",
            f"the {side_en} shape of {name} is not the one the instructions give (found {_dims(shapes[0])}). "
            f"Check which layer's {side_en} you use.",
        )


def assert_dense_stack(found: Model, name: str, layers: list[tuple[int, str]]) -> None:
    """Fail unless the model's Dense layers have these (units, activation), in order."""
    __tracebackhide__ = True
    dense = [lay for lay in found.layers if lay.class_name == "Dense"]
    check(
        len(dense) == len(layers),
        f"`{name}` 모델의 `Dense` 층 수가 설명과 다릅니다(지금은 {len(dense)}개).",
        f"{name} does not have the number of Dense layers the instructions give (found {len(dense)}).",
    )
    for i, (lay, (units, activation)) in enumerate(zip(dense, layers), start=1):
        check(
            lay.units == units,
            f"`{name}` 모델의 {i}번째 `Dense` 층 유닛 수가 설명과 다릅니다(지금은 {lay.units}개).",
            f"Dense layer {i} of {name} does not have the number of units the instructions give (found {lay.units}).",
        )
        check(
            lay.activation == activation,
            f"`{name}` 모델의 {i}번째 `Dense` 층 활성화 함수가 설명과 다릅니다(지금은 `{lay.activation}`).",
            f"Dense layer {i} of {name} does not use the activation the instructions give "
            f"(found {lay.activation}).",
        )
