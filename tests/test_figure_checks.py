"""Unit tests for cnnviz.figure_checks: image grids and histograms, however a student draws them.

Every figure here is drawn live with matplotlib, reduced with cnnviz.facts,
and only then checked, as in the grader. Every failure must be one bilingual
course message that never shows the expected value the check was given.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from check_messages import fails, kernel, rng  # noqa: E402,F401 - fixtures
from cnnviz import facts, figure_checks, introspect  # noqa: E402
from cnnviz.facts import Figure, Histogram, Missing  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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
    figure_checks.assert_image_grid(F(fig), "kernel_fig", panels, 2, 16,
                             source_ko="`conv_weights` 배열의 커널", source_en="the kernels of conv_weights", **kwargs)


def map_grid(fig, maps, rows=4, cols=8, **kwargs):
    figure_checks.assert_image_grid(F(fig), "feature_fig_1", maps, rows, cols, scale="own",
                             source_ko="`feature_maps_1` 배열의 특성 맵", source_en="the maps of feature_maps_1", **kwargs)


def test_position_is_one_based_and_row_major():
    assert figure_checks.position(0, 16) == ("1행 1열 패널", "the panel in row 1, column 1")
    assert figure_checks.position(17, 16) == ("2행 2열 패널", "the panel in row 2, column 2")


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("make, found", [
    (lambda: plt.subplots()[1], "Axes"),
    (lambda: None, "NoneType"),
    (lambda: list(plt.subplots(1, 2)[1]), "list"),
    (lambda: plt.subplots(2, 2)[1], "ndarray"),
])
def test_non_figure_fails_with_the_figure_message(make, found):
    fails(figure_checks.figure, introspect.describe(make()), "kernel_fig",
          match=f"kernel_fig should be a matplotlib Figure, found {found}.*plt.subplots")


def test_figure_passes_and_missing_fails():
    fig = F(plt.figure())
    assert figure_checks.figure(fig, "kernel_fig") is fig
    fails(figure_checks.figure, Missing(), "kernel_fig", match="found nothing")


@pytest.mark.parametrize("build", BUILDERS)
def test_right_kernel_grid_passes_however_it_is_built(build, panels):
    fig = build(panels)
    kernel_grid(fig, panels)
    assert figure_checks.grid_shape(F(fig)) == (2, 16)


@pytest.mark.parametrize("build", BUILDERS)
def test_right_feature_map_grid_passes_on_own_scale_however_it_is_built(build, maps):
    fig = build(maps, 4, 8, vmin=None, vmax=None)
    map_grid(fig, maps)


def test_image_panels_are_in_row_major_order_even_when_drawn_column_by_column(panels):
    fig, axs = plt.subplots(2, 16)
    for j in range(16):
        for i in range(2):
            axs[i, j].imshow(panels[i * 16 + j])
    found = [image.array for _, image in figure_checks.image_panels(F(fig))]
    assert all(np.array_equal(array, panels[k]) for k, array in enumerate(found))


def test_colorbar_and_empty_axes_are_not_panels(panels):
    fig, axs = plt.subplots(3, 16)
    for k in range(32):
        im = axs.flat[k].imshow(panels[k], vmin=-0.5, vmax=0.5)
    for ax in axs.flat:
        ax.axis("off")
    fig.colorbar(im, ax=axs)
    assert len(figure_checks.image_panels(F(fig))) == 32


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
    fails(figure_checks.assert_image_grid, F(grid_with_subplots(drawn, rows=1, cols=4, vmin=None, vmax=None)),
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
    assert figure_checks.grid_shape(F(fig)) is None
    assert figure_checks.grid_shape(F(plt.figure())) is None


def test_own_scale_of_an_image():
    fig, ax = plt.subplots()
    ax.imshow(np.arange(6.0).reshape(2, 3))
    assert figure_checks.own_scale(F(fig).axes[0].images[0])
    ax.images[0].set_clim(0, 10)
    assert not figure_checks.own_scale(F(fig).axes[0].images[0])


# --------------------------------------------------------------------------- histograms


@pytest.fixture
def weights(rng):
    return rng.normal(0, 0.2, size=(3, 3, 1, 32)).astype("float32")


def hist_of(fig, data, **kwargs):
    figure_checks.assert_histogram(F(fig), data, "hist_fig", source_ko="`conv_weights` 배열", source_en="conv_weights",
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
        fails(figure_checks.assert_histogram, fig, weights, "hist_fig", source_ko="`conv_weights` 배열",
              source_en="conv_weights", match="hist_fig")
