"""Unit tests for cnnviz.checks: each check passes on right work and fails, with its message, on typical mistakes."""

import os
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnviz import checks  # noqa: E402

HANGUL = re.compile("[\uac00-\ud7a3]")


def fails(func, *args, match: str, **kwargs) -> str:
    """Run a check that must fail; return its message after checking the bilingual format."""
    with pytest.raises(AssertionError, match=match) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert " / " in message
    korean, english = message.split(" / ", 1)
    assert HANGUL.search(korean), message
    assert not HANGUL.search(english), message
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


def grid_with_add_subplot(images, rows=2, cols=16):
    fig = plt.figure(figsize=(cols, rows))
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(images[i], vmin=-0.5, vmax=0.5)
        ax.axis("off")
    return fig


def grid_with_flat(images, rows=2, cols=16):
    fig, axs = plt.subplots(rows, cols, figsize=(cols, rows))
    for i, ax in enumerate(axs.flat):
        ax.imshow(images[i], vmin=-0.5, vmax=0.5)
        ax.axis("off")
    return fig


def grid_with_pyplot_subplot(images, rows=2, cols=16):
    fig = plt.figure(figsize=(cols, rows))
    for i in range(rows * cols):
        plt.subplot(rows, cols, i + 1)
        plt.imshow(images[i], vmin=-0.5, vmax=0.5)
        plt.axis("off")
    return fig


def grid_with_add_axes(images, rows=2, cols=16):
    fig = plt.figure(figsize=(cols, rows))
    for k, img in enumerate(images):
        i, j = divmod(k, cols)
        ax = fig.add_axes((j / cols, 1 - (i + 1) / rows, 0.9 / cols, 0.9 / rows))
        ax.imshow(img, vmin=-0.5, vmax=0.5)
        ax.axis("off")
    return fig


# --------------------------------------------------------------------------- require and values


def test_require_passes_when_every_name_is_defined():
    checks.require({"kernel_fig": 1, "conv_acti": 2}, "kernel_fig", "conv_acti")


def test_require_lists_every_missing_name():
    message = fails(
        checks.require, {"model": 1}, "model", "kernel_fig", "conv_acti", match="variables kernel_fig, conv_acti are not defined: run the cells that create them"
    )
    assert "model," not in message


def test_require_with_one_missing_name_uses_singular():
    fails(checks.require, {}, "kernel_fig", match="variable kernel_fig is not defined: run the cell")


def test_to_numpy_accepts_arrays_scalars_and_lists():
    assert checks.to_numpy(np.ones(3)).shape == (3,)
    assert checks.to_numpy(2.5).shape == ()
    assert checks.to_numpy([[1, 2], [3, 4]]).shape == (2, 2)


@pytest.mark.parametrize(
    "shape",
    [(None, 28, 28, 32), [None, 28, 28, 32]],
)
def test_shape_as_tuple_or_list_with_none_passes(shape):
    checks.assert_shape(shape, (None, 28, 28, 32), "conv_acti.output.shape")


def test_shape_of_tensorshape_like_object_passes():
    class FakeTensorShape:
        def as_list(self):
            return [3, 3, 1, 32]

    checks.assert_shape(FakeTensorShape(), (3, 3, 1, 32), "conv_weights.shape")


def test_wrong_shape_gives_both_shapes():
    fails(
        checks.assert_shape,
        (3, 3, 32),
        (3, 3, 1, 32),
        "conv_weights.shape",
        match=re.escape("conv_weights.shape: expected shape (3, 3, 1, 32), found (3, 3, 32)"),
    )


def test_shape_that_is_not_a_shape_fails_cleanly():
    fails(checks.assert_shape, None, (3, 3), "s", match="expected a shape such as")


def test_equal_array_passes(kernel):
    checks.assert_array(kernel.copy(), kernel, "conv_weights")
    checks.assert_array(kernel.astype("float64") + 1e-7, kernel, "conv_weights")


def test_array_of_wrong_shape_gives_both_shapes(kernel):
    fails(
        checks.assert_array,
        kernel[:, :, 0, :],
        kernel,
        "conv_weights",
        match=re.escape("expected shape (3, 3, 1, 32), found (3, 3, 32)"),
    )


def test_array_with_other_values_names_what_without_numbers(kernel):
    message = fails(
        checks.assert_array,
        kernel * 2,
        kernel,
        "conv_weights",
        what="the first Conv2D layer's kernel",
        match="the values differ from the first Conv2D layer's kernel",
    )
    assert not re.search(r"\d\.\d", message)


@pytest.mark.parametrize("value", [None, "weights", {"a": 1}])
def test_non_numeric_array_fails_cleanly(value, kernel):
    fails(checks.assert_array, value, kernel, "conv_weights", match="expected an array of numbers")


@pytest.mark.parametrize("value", [0.25, np.float32(0.25), np.array(0.25), np.array([0.25])])
def test_scalar_as_float_numpy_scalar_or_0d_array_passes(value):
    checks.assert_scalar(value, 0.25, "weight_mean")


def test_scalar_given_as_array_of_five_values_fails_cleanly():
    fails(
        checks.assert_scalar,
        np.ones(5),
        1.0,
        "weight_mean",
        match=re.escape("expected a single number, found an array of shape (5,)"),
    )


def test_wrong_scalar_fails_without_revealing_the_expected_value():
    message = fails(
        checks.assert_scalar, 0.5, -0.0123456, "weight_mean", what="the kernel's mean", match="differs from the kernel's mean"
    )
    assert "0.0123" not in message


def test_scalar_that_is_a_string_fails_cleanly():
    fails(checks.assert_scalar, "0.5", 0.5, "weight_mean", match="weight_mean: expected a number, found str")


# --------------------------------------------------------------------------- assert_figure


@pytest.mark.parametrize(
    "make, found",
    [
        (lambda: plt.subplots()[1], "Axes"),
        (lambda: None, "None"),
        (lambda: list(plt.subplots(1, 2)[1]), "list"),
        (lambda: plt.subplots(2, 2)[1], "numpy array"),
    ],
)
def test_non_figure_fails_with_the_figure_message(make, found):
    fails(
        checks.assert_figure,
        make(),
        "kernel_fig",
        match=f"kernel_fig: expected a matplotlib Figure, found {found}.*Store the Figure object",
    )


def test_figure_passes():
    checks.assert_figure(plt.figure(), "kernel_fig")


# --------------------------------------------------------------------------- image grids


@pytest.mark.parametrize(
    "build", [grid_with_subplots, grid_with_add_subplot, grid_with_flat, grid_with_pyplot_subplot, grid_with_add_axes]
)
def test_right_kernel_grid_passes_however_it_is_built(build, panels):
    fig = build(panels)
    checks.assert_image_grid(fig, panels, 2, 16, "kernel_fig", clim=(-0.5, 0.5))
    assert checks.grid_shape(fig) == (2, 16)


def test_expected_images_may_be_one_array_with_a_leading_axis(kernel, panels):
    stacked = np.moveaxis(kernel[:, :, 0, :], -1, 0)
    checks.assert_image_grid(grid_with_subplots(panels), stacked, 2, 16, "kernel_fig", clim=(-0.5, 0.5))


def test_image_panels_are_in_row_major_order_even_when_drawn_column_by_column(panels):
    fig, axs = plt.subplots(2, 16)
    for j in range(16):
        for i in range(2):
            axs[i, j].imshow(panels[i * 16 + j])
    found = [im for _, im in checks.image_panels(fig)]
    assert all(np.array_equal(im.get_array(), panels[k]) for k, im in enumerate(found))


def test_colorbar_and_empty_axes_are_not_panels(panels):
    fig, axs = plt.subplots(3, 16)
    for k in range(32):
        im = axs.flat[k].imshow(panels[k], vmin=-0.5, vmax=0.5)
    for ax in axs.flat:
        ax.axis("off")
    fig.colorbar(im, ax=axs)
    assert len(checks.image_panels(fig)) == 32


def test_grid_with_spare_empty_row_fails_with_the_grid_message(panels):
    fig, axs = plt.subplots(3, 16)
    for k in range(32):
        axs.flat[k].imshow(panels[k], vmin=-0.5, vmax=0.5)
        axs.flat[k].axis("off")
    fails(checks.assert_image_grid, fig, panels, 2, 16, "kernel_fig", match="found 3 x 16")


def test_redrawn_panel_is_judged_by_its_last_image(panels):
    fig = grid_with_subplots(panels)
    ax, _ = checks.image_panels(fig)[0]
    ax.imshow(panels[0] * 3, vmin=-0.5, vmax=0.5)
    fails(checks.assert_image_grid, fig, panels, 2, 16, "kernel_fig", match="panel \\(row 1, column 1\\)")


def test_grid_of_4_by_8_fails_with_the_grid_message(panels):
    fig = grid_with_subplots(panels, rows=4, cols=8)
    fails(
        checks.assert_image_grid,
        fig,
        panels,
        2,
        16,
        "kernel_fig",
        clim=(-0.5, 0.5),
        match="expected a grid of 2 rows x 16 columns, found 4 x 8",
    )


def test_only_16_panels_fails_with_the_panel_count(panels):
    fig = grid_with_subplots(panels[:16], rows=1, cols=16)
    fails(
        checks.assert_image_grid,
        fig,
        panels,
        2,
        16,
        "kernel_fig",
        match="kernel_fig: expected 32 panels in 2 rows of 16, found 16 panels",
    )


def test_kernel_grid_in_wrong_order_names_the_swapped_panel(panels):
    swapped = list(panels)
    swapped[3], swapped[5] = swapped[5], swapped[3]
    fails(
        checks.assert_image_grid,
        grid_with_subplots(swapped),
        panels,
        2,
        16,
        "kernel_fig",
        match=re.escape("panel (row 1, column 4) shows image no. 6 instead of no. 4"),
    )


def test_kernel_grid_drawn_column_major_names_the_order(panels):
    column_major = [panels[j * 2 + i] for i in range(2) for j in range(16)]
    fails(
        checks.assert_image_grid,
        grid_with_subplots(column_major),
        panels,
        2,
        16,
        "kernel_fig",
        match="check the order of your loop",
    )


def test_kernel_grid_without_vmin_vmax_fails_with_the_clim_message(panels):
    fig = grid_with_subplots(panels, vmin=None, vmax=None)
    fails(
        checks.assert_image_grid,
        fig,
        panels,
        2,
        16,
        "kernel_fig",
        clim=(-0.5, 0.5),
        match=re.escape("share one colour scale, found clim (") + ".*panel \\(row 1, column 1\\).*Set vmin and vmax",
    )


def test_transposed_kernels_fail_with_the_value_message(panels):
    fails(
        checks.assert_image_grid,
        grid_with_subplots([p.T for p in panels]),
        panels,
        2,
        16,
        "kernel_fig",
        what="the trained first-layer kernels, channel 0",
        match=re.escape("panel (row 1, column 1): the values do not match the trained first-layer kernels, channel 0"),
    )


def test_wrong_slice_of_a_multichannel_kernel_fails_with_the_value_message(rng):
    w = rng.uniform(-0.4, 0.4, size=(3, 3, 4, 8)).astype("float32")
    expected = [w[:, :, 0, i] for i in range(4)]
    drawn = [w[:, :, i, 0] for i in range(4)]
    fails(
        checks.assert_image_grid,
        grid_with_subplots(drawn, rows=1, cols=4),
        expected,
        1,
        4,
        "kernel_fig",
        match=re.escape("panel (row 1, column 2): the values do not match"),
    )


def test_slice_keeping_the_channel_axis_fails_with_the_shape_message(rng):
    w = rng.uniform(0, 1, size=(3, 3, 4, 8)).astype("float32")
    expected = [w[:, :, 0, i] for i in range(4)]
    drawn = [w[:, :, :, i] for i in range(4)]  # (3, 3, 4): imshow takes it for RGBA
    fails(
        checks.assert_image_grid,
        grid_with_subplots(drawn, rows=1, cols=4),
        expected,
        1,
        4,
        "kernel_fig",
        match=re.escape("panel (row 1, column 1): image shape (3, 3, 4), expected (3, 3); check which axes"),
    )


def test_kernels_scaled_by_two_fail_although_the_picture_is_the_same(panels):
    # Twice the values on twice the colour range renders the very same pixels.
    fig = grid_with_subplots([p * 2 for p in panels], vmin=-1.0, vmax=1.0)
    fails(checks.assert_image_grid, fig, panels, 2, 16, "kernel_fig", match="do not rescale the values")


def test_panels_with_axes_left_on_fail(panels):
    fig = grid_with_subplots(panels, axis_off=False)
    fails(
        checks.assert_image_grid,
        fig,
        panels,
        2,
        16,
        "kernel_fig",
        clim=(-0.5, 0.5),
        match=re.escape("panel (row 1, column 1) still shows its axes: hide the axes of every panel (axis('off'))"),
    )


def test_colour_scale_is_reported_before_axes_on_a_later_panel(panels):
    fig = grid_with_subplots(panels)
    axes = [ax for ax, _ in checks.image_panels(fig)]
    axes[0].axis("on")
    axes[20].images[-1].set_clim(-1, 1)
    fails(
        checks.assert_image_grid,
        fig,
        panels,
        2,
        16,
        "kernel_fig",
        clim=(-0.5, 0.5),
        match=re.escape("found clim (-1, 1) on panel (row 2, column 5)"),
    )


def test_axes_may_stay_on_when_not_required(panels):
    checks.assert_image_grid(grid_with_subplots(panels, axis_off=False), panels, 2, 16, "kernel_fig", axes_off=False)


def test_colour_map_is_checked_when_given(panels):
    checks.assert_image_grid(grid_with_subplots(panels, cmap="gray"), panels, 2, 16, "kernel_fig", cmap="gray")
    fails(
        checks.assert_image_grid,
        grid_with_subplots(panels),
        panels,
        2,
        16,
        "kernel_fig",
        cmap="gray",
        match="uses the colour map 'viridis', expected 'gray'",
    )


def test_image_grid_given_axes_fails_with_the_figure_message(panels):
    _, axs = plt.subplots(2, 16)
    fails(checks.assert_image_grid, axs, panels, 2, 16, "kernel_fig", match="expected a matplotlib Figure")


def test_caller_giving_the_wrong_number_of_images_is_a_value_error(panels):
    with pytest.raises(ValueError):
        checks.assert_image_grid(plt.figure(), panels[:5], 2, 16, "kernel_fig")


def test_grid_shape_is_none_for_panels_not_in_a_grid(panels):
    fig = plt.figure()
    for k, (x, y) in enumerate([(0.0, 0.5), (0.5, 0.5), (0.2, 0.0)]):
        fig.add_axes((x, y, 0.3, 0.3)).imshow(panels[k])
    assert checks.grid_shape(fig) is None
    assert checks.grid_shape(plt.figure()) is None


# --------------------------------------------------------------------------- histograms


@pytest.fixture
def weights(rng):
    return rng.normal(0, 0.2, size=(3, 3, 1, 32)).astype("float32")


def test_histogram_of_reshaped_weights_passes(weights):
    fig = plt.figure()
    plt.hist(weights.reshape(-1, 1))
    plt.xlabel("weight")
    plt.ylabel("count")
    checks.assert_histogram(fig, weights, "hist_fig", xlabel="weight", ylabel="count")


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("kwargs", [{"bins": 20}, {}, {"bins": 7, "rwidth": 0.8}, {"orientation": "horizontal"}])
def test_histogram_of_raveled_weights_passes_with_any_bins(seed, kwargs):
    data = np.random.default_rng(seed).normal(0, 0.2, size=(3, 3, 1, 32)).astype("float32")
    fig, ax = plt.subplots()
    ax.hist(data.ravel(), **kwargs)
    checks.assert_histogram(fig, data, "hist_fig")


def test_histogram_accepts_an_axes(weights):
    _, ax = plt.subplots()
    ax.hist(weights.ravel())
    checks.assert_histogram(ax, weights, "hist_fig")


def test_histogram_of_another_array_fails(weights, rng):
    other = rng.normal(0, 0.2, size=weights.shape).astype("float32")
    fig, ax = plt.subplots()
    ax.hist(other.ravel())
    fails(
        checks.assert_histogram,
        fig,
        weights,
        "hist_fig",
        what="the first layer's weights",
        match="the histogram does not match the first layer's weights: check which array you histogram",
    )


def test_histogram_of_one_kernel_fails_with_the_count_message(weights):
    fig, ax = plt.subplots()
    ax.hist(weights[0, 0, 0, :])
    fails(
        checks.assert_histogram,
        fig,
        weights,
        "hist_fig",
        match="the bars count 32 values, expected 288: histogram all weights",
    )


def test_histogram_of_a_2d_array_fails_naming_the_many_data_sets(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.reshape(-1, 32))
    fails(checks.assert_histogram, fig, weights, "hist_fig", match="found 32 histograms")


def test_histogram_without_labels_fails(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.ravel())
    fails(
        checks.assert_histogram,
        fig,
        weights,
        "hist_fig",
        xlabel="weight",
        match="x-axis label should be 'weight', found ''",
    )


def test_histogram_with_wrong_y_label_fails(weights):
    fig, ax = plt.subplots()
    ax.hist(weights.ravel())
    ax.set_xlabel(" weight ")
    ax.set_ylabel("frequency")
    fails(
        checks.assert_histogram,
        fig,
        weights,
        "hist_fig",
        xlabel="weight",
        ylabel="count",
        match="y-axis label should be 'count', found 'frequency'",
    )


def test_figure_without_histogram_fails(weights):
    fig, ax = plt.subplots()
    ax.plot(weights.ravel())
    fails(checks.assert_histogram, fig, weights, "hist_fig", match="no histogram found in hist_fig; draw it with ax.hist")


def test_histogram_given_none_fails_with_the_figure_message(weights):
    fails(checks.assert_histogram, None, weights, "hist_fig", match="expected a matplotlib Figure, found None")


# --------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def cnn(keras):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        ]
    )


def dense_net(keras, input_shape=(784,), hidden_activation="sigmoid"):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs) if len(input_shape) > 1 else inputs
    x = keras.layers.Dense(100, activation=hidden_activation)(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


def copy_of(keras, model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def test_to_numpy_converts_tensors_and_variables(keras, cnn):
    import tensorflow as tf

    assert checks.to_numpy(tf.constant([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert checks.to_numpy(cnn.layers[0].kernel).shape == (3, 3, 1, 4)
    checks.assert_array(cnn.layers[0].kernel, cnn.layers[0].kernel.numpy(), "conv_weights")
    checks.assert_scalar(keras.ops.mean(cnn.layers[0].kernel), float(cnn.layers[0].kernel.numpy().mean()), "m")


def test_right_conv2d_passes(cnn):
    checks.assert_conv2d(cnn.layers[0], "conv", filters=4, kernel_size=3)


def test_conv2d_with_wrong_filters_fails(cnn):
    fails(checks.assert_conv2d, cnn.layers[0], "conv", filters=8, match="conv: expected 8 filters, found 4")


def test_conv2d_with_wrong_padding_fails(keras):
    layer = keras.layers.Conv2D(4, 3, activation="relu")
    fails(checks.assert_conv2d, layer, "conv", filters=4, match="expected padding 'same', found 'valid'")


def test_conv2d_check_on_another_layer_says_what_it_found(cnn):
    fails(checks.assert_conv2d, cnn.layers[1], "conv", filters=4, match="expected a Conv2D layer, found MaxPooling2D")


def test_right_dense_model_passes(keras, cnn):
    checks.assert_dense_model(dense_net(keras), "dense_model", model=cnn)


def test_dense_model_built_as_sequential_fails_naming_the_functional_api(keras, cnn):
    sequential = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(100, activation="sigmoid"), keras.layers.Dense(10, activation="softmax")]
    )
    fails(checks.assert_dense_model, sequential, "dense_model", model=cnn, match="functional API")


def test_dense_model_with_wrong_activation_fails(keras):
    fails(
        checks.assert_dense_model,
        dense_net(keras, hidden_activation="relu"),
        "dense_model",
        match="Dense layer 1 should use activation 'sigmoid', found 'relu'",
    )


def test_dense_model_with_wrong_input_fails_with_the_found_shape(keras):
    fails(
        checks.assert_dense_model,
        dense_net(keras, input_shape=(28, 28)),
        "dense_model",
        match=re.escape("dense_model: input shape (None, 28, 28), expected (None, 784)"),
    )


def test_dense_model_that_is_the_cnn_object_fails(keras):
    dense = dense_net(keras)
    fails(
        checks.assert_dense_model,
        dense,
        "dense_model",
        model=dense,
        match="dense_model must be a new name; do not overwrite model",
    )


def test_dense_model_without_input_fails(keras):
    class Unbuilt(keras.Model):
        def call(self, x):
            return x

    fails(checks.assert_dense_model, Unbuilt(), "dense_model", match="has no defined input yet")


def test_untrained_kernel_is_returned_for_a_fresh_layer(keras):
    layer = keras.layers.Conv2D(32, 3, activation="relu", padding="same")
    layer.build((None, 28, 28, 1))
    trained = np.random.default_rng(0).normal(0, 0.25, (3, 3, 1, 32)).astype("float32")
    kernel = checks.untrained_kernel(layer, trained)
    assert np.array_equal(kernel, layer.kernel.numpy()), "the layer's own kernel should come back"


def test_untrained_kernel_rejects_the_trained_layer(keras):
    layer = keras.layers.Conv2D(32, 3, activation="relu", padding="same")
    layer.build((None, 28, 28, 1))
    fails(checks.untrained_kernel, layer, layer.kernel.numpy(), match="this is the trained model's kernel")


@pytest.mark.parametrize("histtype", ["step", "stepfilled"])
def test_histogram_drawn_as_an_outline_passes_and_a_wrong_one_fails(histtype):
    weights = np.random.default_rng(3).normal(0, 0.2, (3, 3, 1, 32))
    fig, ax = plt.subplots()
    ax.hist(weights.ravel(), bins=20, histtype=histtype)
    ax.set_xlabel("weight")
    ax.set_ylabel("count")
    checks.assert_histogram(fig, weights, "hist_fig", xlabel="weight", ylabel="count")
    fails(checks.assert_histogram, fig, weights * 2, "hist_fig", match="does not match")


def test_dense_model_that_is_not_a_model_fails(keras):
    fails(checks.assert_dense_model, None, "dense_model", match="expected a Keras model, found None")


def test_same_model_passes_for_an_equal_copy(keras, cnn):
    checks.assert_same_model(copy_of(keras, cnn), cnn, "model")


def test_model_with_a_changed_weight_fails(keras, cnn):
    changed = copy_of(keras, cnn)
    kernel = changed.layers[2].kernel.numpy()
    kernel[0, 0, 0, 0] += 0.01
    changed.layers[2].kernel.assign(kernel)
    fails(
        checks.assert_same_model,
        changed,
        cnn,
        "model",
        match="model's weights differ from the checkpoint file; load it again",
    )


def test_model_overwritten_by_another_model_fails_listing_its_layers(keras, cnn):
    fails(
        checks.assert_same_model,
        dense_net(keras),
        cnn,
        "model",
        match=re.escape("found a model with 3 layers: InputLayer, Dense, Dense); did a later cell overwrite it?"),
    )


def test_model_overwritten_by_something_else_fails(cnn):
    fails(checks.assert_same_model, None, cnn, "model", match="found None")


@pytest.fixture(scope="module")
def sample():
    return np.random.default_rng(1).uniform(0, 1, size=(1, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def first_maps(keras, cnn, sample):
    """The first layer's feature maps, computed from its weights without any model."""
    layer = cnn.layers[0]
    out = keras.ops.conv(sample, layer.kernel.numpy(), padding="same") + layer.bias.numpy()
    return np.maximum(keras.ops.convert_to_numpy(out), 0)


def test_activation_model_on_the_right_layer_passes(keras, cnn, sample, first_maps):
    acti = keras.Model(cnn.inputs, cnn.layers[0].output)
    checks.assert_activation_model(acti, cnn, 0, first_maps, sample, "conv_acti", (1, 28, 28, 4))


def test_activation_model_on_the_wrong_layer_fails_with_the_output_shape(keras, cnn, sample, first_maps):
    acti = keras.Model(cnn.inputs, cnn.layers[1].output)
    fails(
        checks.assert_activation_model,
        acti,
        cnn,
        0,
        first_maps,
        sample,
        "conv_acti",
        (1, 28, 28, 4),
        match=re.escape("conv_acti: output shape (None, 14, 14, 4), expected (None, 28, 28, 4): which layer's output"),
    )


def test_activation_model_with_copied_weights_fails(keras, cnn, sample, first_maps):
    clone = copy_of(keras, cnn)
    acti = keras.Model(clone.inputs, clone.layers[0].output)
    fails(
        checks.assert_activation_model,
        acti,
        cnn,
        0,
        first_maps,
        sample,
        "conv_acti",
        (1, 28, 28, 4),
        match="conv_acti does not reuse model's layers: build it from model.inputs",
    )


def test_activation_model_with_other_output_values_fails(keras, cnn, sample, first_maps):
    acti = keras.Model(cnn.inputs, keras.layers.Rescaling(2.0)(cnn.layers[0].output))
    fails(
        checks.assert_activation_model,
        acti,
        cnn,
        0,
        first_maps,
        sample,
        "conv_acti",
        (1, 28, 28, 4),
        match="conv_acti's output on the sample differs from the expected feature maps",
    )


@pytest.fixture(scope="module")
def fresh_kernel(keras):
    layer = keras.layers.Conv2D(32, 3)
    layer.build((None, 28, 28, 1))
    return layer.kernel


def test_fresh_conv2d_kernel_is_glorot_uniform(fresh_kernel):
    checks.assert_glorot_uniform(fresh_kernel, fan_in=9, fan_out=288, name="no_training_weights")


def test_kernel_times_three_is_outside_the_glorot_bound(fresh_kernel):
    fails(
        checks.assert_glorot_uniform,
        fresh_kernel.numpy() * 3,
        9,
        288,
        "no_training_weights",
        match="some weights lie outside the Glorot-uniform bound: is this really an untrained layer",
    )


def test_kernel_with_too_small_spread_is_not_glorot_uniform(fresh_kernel):
    fails(
        checks.assert_glorot_uniform,
        fresh_kernel.numpy() * 0.3,
        9,
        288,
        "no_training_weights",
        match="do not look like a fresh Glorot-uniform initialisation",
    )
