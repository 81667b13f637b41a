"""Checks of Keras layers and models on their facts: Conv2D settings, a fresh Glorot-uniform kernel,
functional models' inputs, outputs and Dense layers."""

from __future__ import annotations

import math

import numpy as np

from cnnviz.check_failed import check
from cnnviz.checks import of_kind, shape_text
from cnnviz.facts import Fact, Layer, Model
from cnnviz.korean import particle


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
            f"`{name}` 모델의 {side_ko} 모양이 설명과 다릅니다(지금은 `{shape_text(shapes[0])}`). "
            f"어느 층의 {particle(side_ko, '을/를')} 썼는지 확인하세요.",
            f"the {side_en} shape of {name} is not the one the instructions give (found {shape_text(shapes[0])}). "
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
