"""Unit tests for cnnviz.checks: each check passes on right work and fails, with its message, on typical mistakes.

The checks read plain facts (cnnviz.facts), so every figure and Keras object
here is built live, reduced with cnnviz.facts, and only then checked, as in
the grader. Every failure must be one bilingual course message that never
shows the expected value the check was given.
"""

from __future__ import annotations

import copy
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnviz import checks, facts, introspect  # noqa: E402
from cnnviz.facts import Figure, Histogram, Layer, Missing, Model, Value  # noqa: E402

HANGUL = re.compile("[\uac00-\ud7a3]")


def bilingual(message: str) -> tuple[str, str]:
    """Split a course message into its Korean and English halves, checking the format."""
    assert " / " in message, message
    korean, english = message.split(" / ", 1)
    assert HANGUL.search(korean), message
    assert not HANGUL.search(english), message
    return korean, english


def secrets_of(value) -> list[str]:
    """How an expected value could appear in a message: its numbers and its shape, as checks format them."""
    if isinstance(value, tuple):
        return [checks._dims(value)]
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        x = float(array)
        return [f"{x:.4g}", f"{x:.3g}", repr(x)]
    return [checks._dims(array.shape)]


def fails(func, *args, match: str, secret=None, **kwargs) -> str:
    """Run a check that must fail; return its message after checking format and that ``secret`` is not shown."""
    __tracebackhide__ = True
    with pytest.raises(AssertionError, match=match) as info:
        func(*args, **kwargs)
    message = str(info.value)
    bilingual(message)
    if secret is not None:
        for shown in secrets_of(secret):
            assert shown not in message, f"the message shows the expected value {shown}: {message}"
    return message


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def kernel(rng):
    """A trained-looking first-layer kernel, (3, 3, 1, 32)."""
    return rng.uniform(-0.4, 0.4, size=(3, 3, 1, 32)).astype("float32")


@pytest.fixture
def panels(kernel):
    return [kernel[:, :, 0, i] for i in range(32)]


@pytest.fixture
def maps(rng):
    """Feature-map-like panels of different ranges: 32 maps of 28 x 28, as after a ReLU."""
    return [np.maximum(rng.normal(0, 1 + k, size=(28, 28)), 0).astype("float32") for k in range(32)]


# --------------------------------------------------------------------------- figure builders


def grid_with_subplots(images, rows=2, cols=16, vmin=-0.5, vmax=0.5, axis_off=True, **imshow):
    fig, axs = plt.subplots(rows, cols, figsize=(cols, rows), squeeze=False)
    for i in range(rows):
        for j in range(cols):
            k = i * cols + j
            if k < len(images):
                axs[i, j].imshow(images[k], vmin=vmin, vmax=vmax, **imshow)
            if axis_off:
                axs[i, j].axis("off")
    return fig


def grid_with_add_subplot(images, rows=2, cols=16, **scale):
    fig = plt.figure(figsize=(cols, rows))
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(images[i], **(scale or {"vmin": -0.5, "vmax": 0.5}))
        ax.axis("off")
    return fig


def grid_with_flat(images, rows=2, cols=16, **scale):
    fig, axs = plt.subplots(rows, cols, figsize=(cols, rows))
    for i, ax in enumerate(axs.flat):
        ax.imshow(images[i], **(scale or {"vmin": -0.5, "vmax": 0.5}))
        ax.axis("off")
    return fig


def grid_with_pyplot_subplot(images, rows=2, cols=16, **scale):
    fig = plt.figure(figsize=(cols, rows))
    for i in range(rows * cols):
        plt.subplot(rows, cols, i + 1)
        plt.imshow(images[i], **(scale or {"vmin": -0.5, "vmax": 0.5}))
        plt.axis("off")
    return fig


def grid_with_add_axes(images, rows=2, cols=16, **scale):
    fig = plt.figure(figsize=(cols, rows))
    for k, img in enumerate(images):
        i, j = divmod(k, cols)
        ax = fig.add_axes((j / cols, 1 - (i + 1) / rows, 0.9 / cols, 0.9 / rows))
        ax.imshow(img, **(scale or {"vmin": -0.5, "vmax": 0.5}))
        ax.axis("off")
    return fig


BUILDERS = [grid_with_subplots, grid_with_add_subplot, grid_with_flat, grid_with_pyplot_subplot, grid_with_add_axes]


def F(fig) -> Figure:
    """The facts the checks read about a live figure."""
    return introspect.figure_facts(fig)


def kernel_grid(fig, panels, **kwargs):
    kwargs.setdefault("scale", (-0.5, 0.5))
    checks.assert_image_grid(F(fig), "kernel_fig", panels, 2, 16,
                             source_ko="`conv_weights` 배열의 커널", source_en="the kernels of conv_weights", **kwargs)


def map_grid(fig, maps, rows=4, cols=8, **kwargs):
    checks.assert_image_grid(F(fig), "feature_fig_1", maps, rows, cols, scale="own",
                             source_ko="`feature_maps_1` 배열의 특성 맵", source_en="the maps of feature_maps_1", **kwargs)


# --------------------------------------------------------------------------- messages and particles


def test_fail_raises_one_bilingual_assertion():
    with pytest.raises(AssertionError) as info:
        checks.fail("값이 틀렸습니다.", "the value is wrong.")
    assert str(info.value) == "값이 틀렸습니다. / the value is wrong."
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_failure_carries_its_pair_until_it_is_rendered():
    with pytest.raises(checks.CheckFailed) as info:
        checks.fail("`a / b` 값이 틀렸습니다.", "the value of a / b is wrong.", reference=True)
    failure = info.value
    assert (failure.korean, failure.english, failure.reference) == ("`a / b` 값이 틀렸습니다.",
                                                                   "the value of a / b is wrong.", True)
    assert checks.halves(failure) == (failure.korean, failure.english), "a ' / ' in a half stays in it"
    assert str(failure) == checks.render(failure.korean, failure.english)
    again = copy.copy(failure)
    assert (again.korean, again.english, again.reference, str(again)) == (failure.korean, failure.english,
                                                                          True, str(failure))
    assert checks.halves(AssertionError("plain")) == ("plain", "")


def test_a_failure_is_shown_as_its_korean_lines_then_its_english_lines():
    with pytest.raises(checks.CheckFailed) as info:
        checks.fail("`a / b` 값이 틀렸습니다.", "the value is wrong.")
    lines = info.value._render_traceback_()
    assert lines == ["\x1b[0;31mAssertionError\x1b[0m: `a / b` 값이 틀렸습니다.", "the value is wrong."]
    assert checks.screen_lines("한 언어", prefix="X: ") == ["X: 한 언어"]
    assert checks.text_screen_lines("가 / b", prefix="X: ") == checks.screen_lines("가", "b", prefix="X: ")


def test_check_passes_silently_when_true_and_fails_when_false():
    checks.check(True, "가", "a")
    fails(checks.check, False, "틀렸습니다.", "wrong.", match="^틀렸습니다. / wrong.$")



def test_screen_columns_count_a_hangul_syllable_as_two():
    assert checks.screen_columns("abc") == 3
    assert checks.screen_columns("가중치") == 6
    assert checks.screen_columns("`conv`의 커널") == 13  # 6 + 2 + 1 + 4


def test_wrap_keeps_every_word_in_order_within_the_width():
    text = "합성곱 층의 가중치를 " * 12 + "the first layer's kernel " * 6
    lines = checks.wrap(text, columns=30)
    assert len(lines) > 1
    assert " ".join(lines) == " ".join(text.split())
    assert all(checks.screen_columns(line) <= 30 for line in lines), lines


def test_wrap_gives_a_word_longer_than_a_line_a_line_of_its_own():
    long_word = "no_training_kernel_fig.axes[0].images"
    assert checks.wrap(f"see {long_word} here", columns=10) == ["see", long_word, "here"]


def test_a_failed_check_shows_korean_then_english_lines_that_fit_the_validate_dialog():
    ko = "[특성 맵 그림] `feature_fig_1` 그림의 패널마다 자기 값 범위로 그려야 하는데 모든 패널이 같은 색 범위를 씁니다. " \
         "`imshow()`에 `vmin`과 `vmax`를 주지 마세요."
    en = "[the feature-map grid] every panel of feature_fig_1 must use its own colour range, but they all share " \
         "one: give imshow() no vmin or vmax."
    with pytest.raises(AssertionError) as info:
        checks.fail(ko, en)
    lines = info.value._render_traceback_()
    assert lines[0].startswith("\x1b[0;31mAssertionError\x1b[0m: [특성 맵 그림]")
    plain = [re.sub("\x1b\\[[0-9;]*m", "", line) for line in lines]
    assert all(checks.screen_columns(line) <= checks.SCREEN_COLUMNS for line in plain), plain
    english_from = next(i for i, line in enumerate(plain) if line.startswith("[the feature-map grid]"))
    assert " ".join(plain[:english_from]) == f"AssertionError: {ko}"
    assert " ".join(plain[english_from:]) == en
    assert str(info.value) == f"{ko} / {en}"  # the grader and the catalogue read the one-line form

@pytest.mark.parametrize("word, pair, expected", [
    ("가중치", "을/를", "가중치를"),
    ("커널", "을/를", "커널을"),
    ("모델", "이/가", "모델이"),
    ("배열", "과/와", "배열과"),
    ("이미지", "과/와", "이미지와"),
    ("층", "은/는", "층은"),
    ("값", "은/는", "값은"),
    ("모델", "으로/로", "모델로"),  # a final ㄹ takes 로
    ("배치", "으로/로", "배치로"),
    ("층", "으로/로", "층으로"),
    ("1", "이/가", "1이"),  # 일
    ("2", "이/가", "2가"),  # 이
    ("3", "을/를", "3을"),  # 삼
    ("7", "으로/로", "7로"),  # 칠
    ("6", "으로/로", "6으로"),  # 육
    ("훈련 이미지 ", "과/와", "훈련 이미지와"),  # attached to the word, past trailing spaces
])
def test_particle_follows_the_last_sound(word, pair, expected):
    assert checks.particle(word, pair) == expected


def test_particle_of_an_empty_word_does_not_raise():
    assert checks.particle("", "이/가") == "가"


def test_position_is_one_based_and_row_major():
    assert checks.position(0, 16) == ("1행 1열 패널", "the panel in row 1, column 1")
    assert checks.position(17, 16) == ("2행 2열 패널", "the panel in row 2, column 2")


# --------------------------------------------------------------------------- require and values


def test_require_passes_when_every_name_is_defined():
    checks.require({"kernel_fig": Figure(), "x": Value("int")}, "kernel_fig", "x")


def test_require_lists_every_missing_name():
    message = fails(checks.require, {"model": Value("int")}, "model", "kernel_fig", "conv_acti",
                    match="kernel_fig, conv_acti are not defined")
    assert "model," not in message and "`kernel_fig`, `conv_acti`" in message


def test_require_treats_a_missing_record_like_an_absent_name():
    fails(checks.require, {"kernel_fig": Missing()}, "kernel_fig", match="^`kernel_fig` .* kernel_fig is not defined")


def test_require_says_the_value_may_be_stored_under_another_name():
    message = fails(checks.require, {}, "kernel_fig", match="must store the value under exactly this name")
    assert "정확히 이 이름으로" in message


@pytest.mark.parametrize("value, shape", [
    (np.arange(6.0).reshape(2, 3), (2, 3)), (0.5, (1,)), ([1, 2, 3], (3,)), (np.zeros(0), (0,)),
])
def test_numbers_returns_the_array_a_value_holds_whatever_its_size(value, shape):
    array = checks.numbers(introspect.value_facts(value), "conv_weights")
    assert array.shape == shape
    assert np.array_equal(array.ravel(), np.asarray(value, dtype=float).ravel())


@pytest.mark.parametrize("value, match", [
    ("weights", "conv_weights holds str, not numbers"),
    (None, "conv_weights holds NoneType, not numbers"),
    (Missing(), "conv_weights holds nothing, not numbers"),
    (Figure(), "conv_weights holds Figure, not numbers"),
])
def test_numbers_of_anything_else_fails_naming_what_it_holds(value, match):
    found = value if isinstance(value, (Missing, Figure)) else introspect.value_facts(value)
    fails(checks.numbers, found, "conv_weights", match=match)


@pytest.mark.parametrize("value", [0.25, np.float32(0.25), np.array(0.25), np.array([0.25]), [0.25]])
def test_number_accepts_python_numpy_and_one_element_arrays(value):
    assert checks.number(introspect.value_facts(value), "conv_mean") == pytest.approx(0.25)


@pytest.mark.parametrize("value, match", [
    (np.ones(5), "array of 5 elements"),
    (np.zeros(0), "array of 0 elements"),
    ("0.25", "conv_mean holds str, not numbers"),
    (None, "conv_mean holds NoneType, not numbers"),
    ({"a": 1}, "holds dict"),
])
def test_number_of_something_else_fails_with_one_message(value, match):
    fails(checks.number, introspect.value_facts(value), "conv_mean", match=match)


def test_number_of_missing_and_of_a_figure_fail_cleanly():
    fails(checks.number, Missing(), "conv_mean", match="holds nothing, not numbers")
    fails(checks.number, Figure(), "conv_mean", match="holds Figure, not numbers")


def test_number_close_passes_within_tolerance_and_fails_without_showing_the_expected_value():
    checks.assert_number_close(introspect.value_facts(np.float32(-0.0123456)), -0.0123456, "conv_mean", "힌트", "hint")
    message = fails(checks.assert_number_close, introspect.value_facts(0.5), -0.0123456, "conv_mean",
                    "평균을 확인하세요.", "Check the mean.", match=r"conv_mean \(0.5\) is not right. Check the mean.",
                    secret=-0.0123456)
    assert "평균을 확인하세요." in message


@pytest.mark.parametrize("found, expected", [(0.0, 0.0), (np.nan, 1.0), (1.0, np.inf), (0.0, 1e-300)])
def test_number_close_on_zero_nan_and_inf_gives_a_verdict_not_an_error(found, expected):
    value = introspect.value_facts(found)
    try:
        checks.assert_number_close(value, expected, "x", "힌트", "hint")
    except AssertionError as exc:
        bilingual(str(exc))


def test_array_close_passes_on_equal_values_and_on_float64(kernel):
    checks.assert_array_close(introspect.value_facts(kernel.copy()), kernel, "conv_weights", "힌트", "hint")
    checks.assert_array_close(introspect.value_facts(kernel.astype("float64") + 1e-7), kernel, "conv_weights", "힌트", "hint")


def test_array_of_wrong_shape_shows_only_the_found_shape(kernel):
    fails(checks.assert_array_close, introspect.value_facts(kernel[:, :, 0, :]), kernel, "conv_weights", "힌트", "hint",
          match=re.escape("conv_weights has the wrong shape (found (3, 3, 32))"), secret=kernel)


def test_array_with_other_values_shows_no_number(kernel):
    message = fails(checks.assert_array_close, introspect.value_facts(kernel * 2), kernel, "conv_weights",
                    "커널인지 확인하세요.", "It should be the kernel.", match="conv_weights holds the wrong values",
                    secret=kernel)
    assert not re.search(r"\d\.\d", message)


@pytest.mark.parametrize("value", [None, "weights", {"a": 1}])
def test_non_numeric_array_fails_cleanly(value, kernel):
    fails(checks.assert_array_close, introspect.value_facts(value), kernel, "conv_weights", "힌트", "hint",
          match="not numbers")


def test_assert_numpy_accepts_only_ndarrays(kernel):
    checks.assert_numpy(introspect.value_facts(kernel), "conv_weights")
    fails(checks.assert_numpy, introspect.value_facts(kernel.tolist()), "conv_weights",
          match="should be a NumPy array, found list .*numpy")
    fails(checks.assert_numpy, introspect.value_facts(3.0), "conv_weights", match="found float")
    fails(checks.assert_numpy, Missing(), "conv_weights", match="found nothing")


def test_assert_numpy_rejects_a_keras_variable(keras):
    variable = keras.Variable(np.zeros((3, 3), dtype="float32"))
    fails(checks.assert_numpy, introspect.value_facts(variable), "conv_weights", match="should be a NumPy array")


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_boolean_accepts_python_and_numpy_booleans(value):
    assert checks.boolean(introspect.value_facts(value), "within_limit") == bool(value)


@pytest.mark.parametrize("value", [1, 0, "True", np.array([True, False]), np.array(True), None])
def test_boolean_of_anything_else_fails(value):
    fails(checks.boolean, introspect.value_facts(value), "within_limit", match="within_limit should be True or False")


@pytest.mark.parametrize("shape", [(None, 28, 28, 32), [None, 28, 28, 32]])
def test_shape_of_tuple_or_list_with_none(shape):
    assert checks.shape_of(introspect.value_facts(shape), "s") == (None, 28, 28, 32)


def test_shape_of_a_tensorshape(keras):
    import tensorflow as tf

    assert checks.shape_of(introspect.value_facts(tf.TensorShape([3, 3, 1, 32])), "kernel_shape") == (3, 3, 1, 32)
    layer = keras.layers.Conv2D(4, 3)
    layer.build((None, 8, 8, 1))
    assert checks.shape_of(introspect.value_facts(layer.weights[0].shape), "kernel_shape") == (3, 3, 1, 4)


@pytest.mark.parametrize("value", [None, "3, 3", 3, (3.0, 3.0), (True, 3), np.zeros((3, 3))])
def test_shape_of_something_else_fails(value):
    fails(checks.shape_of, introspect.value_facts(value), "kernel_shape", match="kernel_shape should be a shape")


def test_empty_tuple_is_a_shape_of_rank_zero():
    assert checks.shape_of(introspect.value_facts(()), "s") == ()
    fails(checks.assert_rank, introspect.value_facts(()), 4, "kernel_shape",
          match=re.escape("wrong number of dimensions (found the shape ())"))


def test_assert_rank_passes_on_the_rank_and_fails_on_another():
    assert checks.assert_rank(introspect.value_facts((3, 3, 1, 32)), 4, "kernel_shape") == (3, 3, 1, 32)
    fails(checks.assert_rank, introspect.value_facts((32,)), 4, "kernel_shape",
          match=re.escape("kernel_shape has the wrong number of dimensions (found the shape (32,))"))
    fails(checks.assert_rank, Missing(), 1, "bias_shape", match="bias_shape should be a shape, found nothing")


def test_assert_shape_shows_the_found_shape_not_the_expected_one():
    checks.assert_shape(introspect.value_facts([3, 3, 1, 32]), (3, 3, 1, 32), "kernel_shape", "힌트", "hint")
    fails(checks.assert_shape, introspect.value_facts((3, 3, 32, 1)), (3, 3, 1, 32), "kernel_shape",
          "어느 가중치인지 확인하세요.", "Check which weight.",
          match=re.escape("kernel_shape is not the right shape (found (3, 3, 32, 1)). Check which weight."),
          secret=(3, 3, 1, 32))


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("make, found", [
    (lambda: plt.subplots()[1], "Axes"),
    (lambda: None, "NoneType"),
    (lambda: list(plt.subplots(1, 2)[1]), "list"),
    (lambda: plt.subplots(2, 2)[1], "ndarray"),
])
def test_non_figure_fails_with_the_figure_message(make, found):
    fails(checks.figure, introspect.describe(make()), "kernel_fig",
          match=f"kernel_fig should be a matplotlib Figure, found {found}.*plt.subplots")


def test_figure_passes_and_missing_fails():
    fig = F(plt.figure())
    assert checks.figure(fig, "kernel_fig") is fig
    fails(checks.figure, Missing(), "kernel_fig", match="found nothing")


@pytest.mark.parametrize("build", BUILDERS)
def test_right_kernel_grid_passes_however_it_is_built(build, panels):
    fig = build(panels)
    kernel_grid(fig, panels)
    assert checks.grid_shape(F(fig)) == (2, 16)


@pytest.mark.parametrize("build", BUILDERS)
def test_right_feature_map_grid_passes_on_own_scale_however_it_is_built(build, maps):
    fig = build(maps, 4, 8, vmin=None, vmax=None)
    map_grid(fig, maps)


def test_image_panels_are_in_row_major_order_even_when_drawn_column_by_column(panels):
    fig, axs = plt.subplots(2, 16)
    for j in range(16):
        for i in range(2):
            axs[i, j].imshow(panels[i * 16 + j])
    found = [image.array for _, image in checks.image_panels(F(fig))]
    assert all(np.array_equal(array, panels[k]) for k, array in enumerate(found))


def test_colorbar_and_empty_axes_are_not_panels(panels):
    fig, axs = plt.subplots(3, 16)
    for k in range(32):
        im = axs.flat[k].imshow(panels[k], vmin=-0.5, vmax=0.5)
    for ax in axs.flat:
        ax.axis("off")
    fig.colorbar(im, ax=axs)
    assert len(checks.image_panels(F(fig))) == 32


def test_grid_with_a_spare_empty_row_fails_with_the_grid_message(panels):
    fig, axs = plt.subplots(3, 16)
    for k in range(32):
        axs.flat[k].imshow(panels[k], vmin=-0.5, vmax=0.5)
        axs.flat[k].axis("off")
    fails(kernel_grid, fig, panels, match="should be a 2 x 16 grid, found 3 x 16")


def test_redrawn_panel_is_judged_by_its_last_image(panels):
    fig = grid_with_subplots(panels)
    fig.axes[0].imshow(panels[0] * 3, vmin=-0.5, vmax=0.5)
    fails(kernel_grid, fig, panels, match="the panel in row 1, column 1 of kernel_fig does not show")


def test_grid_of_4_by_8_fails_with_the_grid_message(panels):
    fails(kernel_grid, grid_with_subplots(panels, rows=4, cols=8), panels,
          match="kernel_fig should be a 2 x 16 grid, found 4 x 8")


def test_only_16_panels_fails_with_the_panel_count(panels):
    fails(kernel_grid, grid_with_subplots(panels[:16], rows=1, cols=16), panels,
          match="kernel_fig should be a 2 x 16 grid, but 16 panels hold an image")


def test_empty_figure_of_32_axes_says_it_has_axes_but_no_image(maps):
    fig, _ = plt.subplots(4, 8)
    message = fails(map_grid, fig, maps, match="feature_fig_1 has 32 axes but no image on any of them")
    assert "0 panels" not in message and "축은 32개" in message


def test_figure_without_any_axes_reports_zero_panels(maps):
    fails(map_grid, plt.figure(), maps, match="but 0 panels hold an image")


def test_panels_not_in_a_grid_are_reported_as_such(panels):
    fig = plt.figure()
    for k in range(32):
        fig.add_axes((0.03 * k, 0.5 * (k % 3) / 3, 0.02, 0.1)).imshow(panels[k], vmin=-0.5, vmax=0.5)
    fails(kernel_grid, fig, panels, match="found panels not in a grid")


def test_kernel_grid_in_wrong_order_names_the_swapped_panel(panels):
    swapped = list(panels)
    swapped[3], swapped[5] = swapped[5], swapped[3]
    fails(kernel_grid, grid_with_subplots(swapped), panels,
          match=re.escape("the panel in row 1, column 4 of kernel_fig shows image no. 6 instead of no. 4"))


def test_kernel_grid_drawn_column_major_names_the_order(panels):
    column_major = [panels[j * 2 + i] for i in range(2) for j in range(16)]
    fails(kernel_grid, grid_with_subplots(column_major), panels, match="check the order of your loops")


def test_kernel_grid_without_vmin_vmax_fails_with_the_range_message(panels):
    message = fails(kernel_grid, grid_with_subplots(panels, vmin=None, vmax=None), panels,
                    match="row 1, column 1 of kernel_fig has a colour range other than the instructions give")
    assert "vmin" in message


def test_kernel_grid_on_a_shared_but_wrong_range_is_not_told_to_share_one(panels):
    # Issue 11: vmin=-1, vmax=1 does share one scale; it is the wrong one.
    message = fails(kernel_grid, grid_with_subplots(panels, vmin=-1, vmax=1), panels,
                    match="colour range other than the instructions give \\(-1 to 1\\)")
    assert "share" not in message


def test_feature_map_grid_drawn_with_vmin_vmax_fails_own_scale(maps):
    # Issue 11: both the 4 x 8 and the 8 x 8 grid took vmin/vmax for full marks.
    fig = grid_with_subplots(maps, rows=4, cols=8, vmin=0, vmax=5)
    fails(map_grid, fig, maps, match="is not drawn on its own range of values.*give no vmin or vmax")


def test_feature_map_grid_with_one_panel_clipped_names_that_panel(maps):
    fig = grid_with_subplots(maps, rows=4, cols=8, vmin=None, vmax=None)
    fig.axes[9].images[-1].set_clim(0, 1)
    fails(map_grid, fig, maps, match="row 2, column 2 of feature_fig_1 is not drawn on its own range")


def test_constant_and_empty_maps_count_as_their_own_scale(maps):
    flat = [np.zeros((28, 28), dtype="float32")] + maps[1:]
    map_grid(grid_with_subplots(flat, rows=4, cols=8, vmin=None, vmax=None), flat)


def test_transposed_kernels_fail_with_the_value_message(panels):
    message = fails(kernel_grid, grid_with_subplots([p.T for p in panels]), panels,
                    match="row 1, column 1 of kernel_fig does not show the kernels of conv_weights")
    assert "`conv_weights` 배열의 커널과 다릅니다" in message


def test_slice_keeping_the_channel_axis_fails_with_the_size_message(rng):
    w = rng.uniform(0, 1, size=(3, 3, 4, 8)).astype("float32")
    expected = [w[:, :, 0, i] for i in range(4)]
    drawn = [w[:, :, :, i] for i in range(4)]  # (3, 3, 4): imshow takes it for RGBA
    fails(checks.assert_image_grid, F(grid_with_subplots(drawn, rows=1, cols=4, vmin=None, vmax=None)),
          "kernel_fig", expected, 1, 4, source_ko="커널", source_en="the kernels",
          match=re.escape("shows an image of the wrong size ((3, 3, 4)); check which axes"))


def test_kernels_scaled_by_two_fail_although_the_picture_is_the_same(panels):
    # Twice the values on twice the colour range renders the very same pixels.
    fails(kernel_grid, grid_with_subplots([p * 2 for p in panels], vmin=-1.0, vmax=1.0), panels,
          match="does not show the kernels")


def test_panels_with_axes_left_on_fail(panels):
    fails(kernel_grid, grid_with_subplots(panels, axis_off=False), panels,
          match=re.escape("row 1, column 1 of kernel_fig still shows its axes: hide them on every panel with axis('off')"))


def test_colour_scale_is_reported_before_axes_on_a_later_panel(panels):
    fig = grid_with_subplots(panels)
    fig.axes[0].axis("on")
    fig.axes[20].images[-1].set_clim(-1, 1)
    fails(kernel_grid, fig, panels, match=re.escape("row 2, column 5 of kernel_fig has a colour range"))


def test_axes_may_stay_on_when_not_required(panels):
    kernel_grid(grid_with_subplots(panels, axis_off=False), panels, axes_off=False)


def test_colour_map_is_checked_when_given(panels):
    kernel_grid(grid_with_subplots(panels, cmap="gray"), panels, cmap="gray")
    message = fails(kernel_grid, grid_with_subplots(panels), panels, cmap="gray",
                    match="uses the colour map viridis, not the one the instructions give")
    assert "`viridis`" in message


def test_grid_shape_is_none_for_panels_not_in_a_grid_or_no_panels(panels):
    fig = plt.figure()
    for k, (x, y) in enumerate([(0.0, 0.5), (0.5, 0.5), (0.2, 0.0)]):
        fig.add_axes((x, y, 0.3, 0.3)).imshow(panels[k])
    assert checks.grid_shape(F(fig)) is None
    assert checks.grid_shape(F(plt.figure())) is None


def test_own_scale_of_an_image():
    fig, ax = plt.subplots()
    ax.imshow(np.arange(6.0).reshape(2, 3))
    assert checks.own_scale(F(fig).axes[0].images[0])
    ax.images[0].set_clim(0, 10)
    assert not checks.own_scale(F(fig).axes[0].images[0])


# --------------------------------------------------------------------------- histograms


@pytest.fixture
def weights(rng):
    return rng.normal(0, 0.2, size=(3, 3, 1, 32)).astype("float32")


def hist_of(fig, data, **kwargs):
    checks.assert_histogram(F(fig), data, "hist_fig", source_ko="`conv_weights` 배열", source_en="conv_weights",
                            **kwargs)


def test_histogram_of_reshaped_weights_with_labels_passes(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.reshape(-1, 1))
    ax.set_xlabel("weight")
    ax.set_ylabel("count")
    hist_of(fig, weights, xlabel="weight", ylabel="count")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kwargs", [
    {"bins": 20}, {}, {"bins": 7, "rwidth": 0.8}, {"orientation": "horizontal"}, {"bins": 1},
    {"histtype": "step"}, {"histtype": "stepfilled", "bins": 15}, {"bins": np.linspace(-1, 1, 9)},
])
def test_histogram_of_raveled_weights_passes_with_any_bins_and_style(seed, kwargs):
    data = np.random.default_rng(seed).normal(0, 0.2, size=(3, 3, 1, 32)).astype("float32")
    fig, ax = plt.subplots()
    ax.hist(data.ravel(), **kwargs)
    hist_of(fig, data)


def test_histogram_via_pyplot_hist_passes(weights):
    fig = plt.figure()
    plt.hist(weights.ravel())
    hist_of(fig, weights)


@pytest.mark.parametrize("histtype", ["bar", "step", "stepfilled"])
def test_histogram_of_another_array_fails(weights, rng, histtype):
    fig, ax = plt.subplots()
    ax.hist(rng.normal(0, 0.2, size=weights.shape).ravel(), bins=20, histtype=histtype)
    fails(hist_of, fig, weights, match="the histogram of hist_fig does not match conv_weights")


def test_histogram_of_one_kernel_fails_with_the_count_message(weights):
    fig, ax = plt.subplots()
    ax.hist(weights[0, 0, 0, :])
    fails(hist_of, fig, weights, match="the bars of hist_fig count 32 values, but conv_weights has 288")


def test_histogram_of_a_2d_array_fails_naming_the_many_data_sets(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.reshape(-1, 32))
    fails(hist_of, fig, weights, match="hist_fig has 32 histograms on one axes")


def test_histogram_without_labels_fails(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.ravel())
    fails(hist_of, fig, weights, xlabel="weight", match="the x-axis label of hist_fig .* \\(found ''\\)")


def test_histogram_with_wrong_y_label_fails_and_surrounding_spaces_are_allowed(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.ravel())
    ax.set_xlabel(" weight ")
    ax.set_ylabel("frequency")
    fails(hist_of, fig, weights, xlabel="weight", ylabel="count", match="y-axis label .*found 'frequency'")


def test_figure_without_histogram_fails(weights):
    fig, ax = plt.subplots()
    ax.plot(weights.ravel())
    fails(hist_of, fig, weights, match="hist_fig holds no histogram: draw it with hist")


def test_an_empty_figure_taken_after_plt_show_is_named_as_such(weights):
    plt.hist(weights.ravel())
    plt.close("all")  # what plt.show() does with the inline backend
    message = fails(hist_of, plt.gcf(), weights, match="hist_fig is an empty figure .*plt.gcf\\(\\) after plt.show\\(\\)")
    assert "plt.subplots()" in message


def test_histogram_facts_with_degenerate_bars_give_a_verdict_not_an_error(weights):
    # Facts a lying kernel could send: no bins, a zero-width bin, infinite counts, rows of edges or counts.
    for hist in (Histogram(edges=np.array([0.0]), counts=np.zeros(0)),
                 Histogram(edges=np.array([0.0, 0.0]), counts=np.array([288.0])),
                 Histogram(edges=np.array([0.0, 1.0]), counts=np.array([np.inf])),
                 Histogram(edges=np.array([0.0, 1.0]), counts=np.array([np.nan])),
                 Histogram(edges=np.zeros(0), counts=np.zeros(0)),
                 Histogram(edges=np.linspace(-1, 1, 11)[None, :], counts=np.full(10, 28.8)),
                 Histogram(edges=np.linspace(-1, 1, 11), counts=np.full((2, 10), 14.4))):
        fig = Figure(axes=[facts.Axes(box=(0, 0, 1, 1), grid=None, axis_on=True, histograms=[hist])])
        fails(checks.assert_histogram, fig, weights, "hist_fig", source_ko="`conv_weights` 배열",
              source_en="conv_weights", match="hist_fig")


# --------------------------------------------------------------------------- Keras


def dense_net(keras, input_shape=(784,), hidden_activation="sigmoid", hidden_units=100):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    x = keras.layers.Dense(hidden_units, activation=hidden_activation)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def test_right_conv2d_passes_and_gives_its_weights(cnn):
    found = checks.conv2d(introspect.describe(cnn.layers[0]), "conv")
    assert found.weights[0].shape == (3, 3, 1, 4)
    checks.assert_conv_settings(found, "conv", filters=4, kernel_size=(3, 3), activation="relu", padding="same")


def test_conv2d_given_the_model_fails(cnn):
    # Issue 11: `conv = model` passed test_first_conv.
    fails(checks.conv2d, introspect.describe(cnn), "conv", match="conv should be a Keras layer, found Sequential")


def test_conv2d_given_another_layer_says_what_it_found(cnn):
    fails(checks.conv2d, introspect.describe(cnn.layers[1]), "conv",
          match="conv should be a Conv2D layer, found a MaxPooling2D layer")


def test_conv2d_given_a_weight_or_nothing_fails(cnn):
    fails(checks.conv2d, introspect.describe(cnn.layers[0].kernel), "conv", match="should be a Keras layer, found Variable")
    fails(checks.conv2d, Missing(), "conv", match="found nothing")


def test_unbuilt_conv2d_gets_the_course_message_not_the_keras_error(keras):
    layer = keras.layers.Conv2D(32, 3, activation="relu", padding="same")
    message = fails(checks.conv2d, introspect.describe(layer), "no_training_conv",
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
    fails(checks.assert_conv_settings, found, "no_training_conv", **settings,
          match=f"the {what} of no_training_conv is not the one the instructions give",
          secret=None)


def test_conv_settings_message_does_not_show_the_expected_setting(keras):
    layer = keras.layers.Conv2D(32, 3, padding="valid")
    layer.build((None, 28, 28, 1))
    message = fails(checks.assert_conv_settings, introspect.describe(layer), "no_training_conv", filters=32,
                    kernel_size=(3, 3), activation="linear", padding="same", match="padding .* \\(found valid\\)")
    assert "same" not in message


@pytest.fixture(scope="module")
def fresh_kernel(keras):
    layer = keras.layers.Conv2D(32, 3)
    layer.build((None, 28, 28, 1))
    return keras.ops.convert_to_numpy(layer.kernel)


def test_glorot_limit_of_the_lesson_kernel():
    assert checks.glorot_limit((3, 3, 1, 32)) == pytest.approx(np.sqrt(6 / (9 + 288)))


def test_fresh_conv2d_kernel_is_glorot_uniform(fresh_kernel):
    checks.assert_glorot_uniform(fresh_kernel, "no_training_conv")


@pytest.mark.parametrize("factor", [3.0, 0.3])
def test_scaled_kernel_is_not_glorot_uniform(fresh_kernel, factor):
    message = fails(checks.assert_glorot_uniform, fresh_kernel * factor, "no_training_conv",
                    match="do not look like a fresh Glorot-uniform initialisation",
                    secret=checks.glorot_limit(fresh_kernel.shape))
    assert "(the " not in message.split(" / ")[0]


def test_shifted_kernel_is_not_glorot_uniform(fresh_kernel):
    fails(checks.assert_glorot_uniform, fresh_kernel + 0.05, "no_training_conv", match="Glorot-uniform")


@pytest.mark.parametrize("kernel", [np.zeros((3, 3, 1, 32)), np.zeros(0), np.zeros((3, 3, 0, 0)),
                                    np.ones(5), np.float32(0.1)])
def test_glorot_on_zero_empty_or_odd_kernels_fails_with_the_message(kernel):
    fails(checks.assert_glorot_uniform, kernel, "no_training_conv", match="Glorot-uniform")


def test_model_passes_on_models_and_fails_on_layers(cnn):
    assert checks.model(introspect.describe(cnn), "model").class_name == "Sequential"
    fails(checks.model, introspect.describe(cnn.layers[0]), "conv_acti", match="conv_acti should be a Keras model, found Conv2D")
    fails(checks.model, Missing(), "conv_acti", match="found nothing. Look at the cell that makes conv_acti")


def test_functional_dense_model_passes_every_check(keras):
    dense = introspect.describe(dense_net(keras))
    checks.assert_functional(dense, "dense_model")
    checks.assert_io_shapes(dense, "dense_model", (None, 784), (None, 10))
    checks.assert_dense_stack(dense, "dense_model", [(100, "sigmoid"), (10, "softmax")])


def test_sequential_dense_model_fails_naming_the_functional_api(keras):
    sequential = keras.Sequential([keras.Input((784,)), keras.layers.Dense(100, activation="sigmoid"),
                                   keras.layers.Dense(10, activation="softmax")])
    found = introspect.describe(sequential)
    fails(checks.assert_functional, found, "dense_model", match="dense_model is a Sequential model.*functional API")
    checks.assert_io_shapes(found, "dense_model", (None, 784), (None, 10))


def test_dense_stack_names_the_wrong_layer_and_setting(keras):
    fails(checks.assert_dense_stack, introspect.describe(dense_net(keras, hidden_activation="relu")), "dense_model",
          [(100, "sigmoid"), (10, "softmax")], match="Dense layer 1 of dense_model does not use the activation .*found relu")
    message = fails(checks.assert_dense_stack, introspect.describe(dense_net(keras, hidden_units=64)), "dense_model",
                    [(100, "sigmoid"), (10, "softmax")], match="Dense layer 1 .* number of units .*found 64")
    assert "100" not in message
    inputs = keras.Input((784,))
    one = keras.Model(inputs, keras.layers.Dense(10)(inputs))
    fails(checks.assert_dense_stack, introspect.describe(one), "dense_model", [(100, "sigmoid"), (10, "softmax")],
          match="number of Dense layers .*found 1")


def test_io_shapes_show_the_found_shape_only(keras):
    message = fails(checks.assert_io_shapes, introspect.describe(dense_net(keras, input_shape=(28, 28))), "dense_model",
                    (None, 784), (None, 10),
                    match=re.escape("the input shape of dense_model is not the one the instructions give (found (None, 28, 28))"))
    assert "784" not in message


def test_io_shapes_of_a_model_on_the_wrong_layer(cnn, keras):
    acti = keras.Model(cnn.inputs, cnn.layers[1].output)
    fails(checks.assert_io_shapes, introspect.describe(acti), "conv_acti", (None, 28, 28, 1), (None, 28, 28, 4),
          match=re.escape("the output shape of conv_acti is not the one the instructions give (found (None, 14, 14, 4))"))


def test_io_shapes_of_a_model_without_inputs(keras):
    unbuilt = keras.Sequential([keras.layers.Dense(10)])
    fails(checks.assert_io_shapes, introspect.describe(unbuilt), "dense_model", (None, 784), (None, 10),
          match="dense_model has no defined input yet")


def test_io_shapes_of_a_model_with_two_outputs(keras):
    inputs = keras.Input((784,))
    two = keras.Model(inputs, [keras.layers.Dense(10)(inputs), keras.layers.Dense(3)(inputs)])
    fails(checks.assert_io_shapes, introspect.describe(two), "dense_model", (None, 784), (None, 10),
          match="dense_model should have one output, found 2")


def test_io_shapes_on_hand_made_facts_with_no_outputs():
    found = Model(class_name="Functional", is_sequential=False, input_shapes=[(None, 784)], output_shapes=None)
    fails(checks.assert_io_shapes, found, "dense_model", (None, 784), (None, 10), match="one output, found 0")


def test_kind_of_names_values_for_messages(cnn):
    assert checks.kind_of(Missing()) == "nothing"
    assert checks.kind_of(Figure()) == "Figure"
    assert checks.kind_of(introspect.describe(cnn)) == "Sequential"
    assert checks.kind_of(introspect.value_facts(np.zeros((2, 3)))) == "ndarray (2, 3)"
    assert checks.kind_of(introspect.value_facts([1.0])) == "list (1,)"
    assert checks.kind_of(Layer(class_name="Dense", is_conv2d=False, built=False)) == "Dense"
