"""The lesson's graded steps: what each test cell checks, on facts, with error carried forward.

Every graded test cell of the notebook belongs to one step here, under the
cell's nbgrader ``grade_id``. A step has

- the variables it reads (``names``), turned into facts in the kernel;
- visible checks: what the student's own kernel checks when the cell runs
  or Validate is pressed. They judge the student's values against the
  instructions and the student's own earlier values, so they show no
  expected value;
- hidden checks: the exact comparisons with references computed from the
  checkpoint and the data (``cnnviz.grading.reference``).

When grading, the test cells' hidden parts never reach the kernel: the
kernel runs ``lesson.check`` (visible checks), which hands the step's facts
to the grader, and the grader runs ``lesson.grade`` (visible and hidden
checks) on them in its own process (``cnnviz.grading.trusted``).

Error carried forward: a later step is judged against the student's own
earlier values whenever they are of the right kind (the feature maps of the
student's own ``sample_batch``, the histogram of the student's own
``conv_weights``, ...). When such a value is missing or unusable the step is
judged against the reference instead, and if that fails too, the message
names the earlier step to complete first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from cnnviz import CHECKPOINT_NAME, checks, fact_codec, facts, introspect
from cnnviz.facts import Fact, Layer, Missing, Model, Value

DENSE_LAYERS = [(100, "sigmoid"), (10, "softmax")]
CONV_NAMES = {1: ("첫 번째 합성곱 층", "the first convolution layer"),
              2: ("두 번째 합성곱 층", "the second convolution layer")}


@dataclass(frozen=True)
class Step:
    """One graded test cell of the notebook."""

    grade_id: str
    title_ko: str
    title_en: str
    names: tuple[str, ...]
    visible: Callable[[dict], None]
    hidden: Callable[[dict, object, dict], None]  # (facts, references, earlier steps' facts)


STEPS: dict[str, Step] = {}


def _step(grade_id: str, title_ko: str, title_en: str, *names: str):
    def register(pair):
        visible, hidden = pair
        STEPS[grade_id] = Step(grade_id, title_ko, title_en, names, visible, hidden)
        return pair

    return register


# --------------------------------------------------------------------------- carrying earlier values


def _usable_array(fact: Fact, ndim: int | None = None, min_last: int = 0) -> np.ndarray | None:
    """The numbers of an earlier value, if it is an array of the right kind for a later step."""
    if not isinstance(fact, Value) or fact.array is None or fact.array.size == 0:
        return None
    array = fact.array
    if ndim is not None and (array.ndim != ndim or array.shape[-1] < min_last or array.shape[0] < 1):
        return None
    return array.astype(np.float64)


def _layer_kernel(fact: Fact) -> np.ndarray | None:
    if isinstance(fact, Layer) and fact.is_conv2d and fact.built and fact.weights and fact.weights[0].ndim == 4:
        return fact.weights[0].astype(np.float64)
    return None


def _number(fact: Fact) -> float | None:
    if isinstance(fact, Value) and fact.array is not None and fact.array.size == 1:
        return float(fact.array.reshape(()))
    return None


def _cannot_judge(name: str, earlier_step: str):
    """Fail: this step builds on ``name`` from ``earlier_step``, which is missing or unusable."""
    __tracebackhide__ = True
    step = STEPS[earlier_step]
    checks.fail(
        f"이 단계는 '{step.title_ko}' 단계의 `{name}` 변수를 바탕으로 확인하는데, 그 값이 없거나 쓸 수 없어 "
        "확인할 수 없습니다. 먼저 그 단계를 완성하세요.",
        f"this step is checked against {name} from the step '{step.title_en}', which is missing or "
        "unusable: complete that step first.",
    )


@contextmanager
def against_reference():
    """Hidden comparisons with the grader's reference: the checkpoint and the data as the grader
    reads them (``cnnviz.grading.reference``). They have no visible twin: the student's kernel holds
    only the student's own values, and a reference there would show the expected ones. A
    failure here is marked as such (``Verdict.stage == "reference"``)."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError as exc:
        ko, en = checks.halves(exc)
        checks.fail(ko, en, reference=True)


@contextmanager
def _same():
    """No change to a failure (the other branch of ``against_reference() if ... else _same()``)."""
    yield


@contextmanager
def _judged_on(own: bool, name: str, earlier_step: str):
    """Checks of a later step: if they ran against the reference because the student's
    earlier ``name`` was unusable and they fail, say which step to complete first."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError:
        if own:
            raise
        with against_reference():  # judged on the reference: no visible twin
            _cannot_judge(name, earlier_step)


def _trained_kernel(found: dict, refs) -> tuple[np.ndarray, bool]:
    """The student's ``conv_weights`` when usable (own=True), else the checkpoint's kernel."""
    own = _usable_array(found.get("conv_weights", Missing()))
    return (own, True) if own is not None else (refs.kernel.astype(np.float64), False)


def _untrained_kernel(found: dict) -> np.ndarray | None:
    """The student's untrained kernel: ``no_training_weights``, else ``no_training_conv``'s kernel."""
    own = _usable_array(found.get("no_training_weights", Missing()))
    return own if own is not None else _layer_kernel(found.get("no_training_conv", Missing()))


def _require_untrained(found: dict) -> np.ndarray:
    __tracebackhide__ = True
    kernel = _untrained_kernel(found)
    if kernel is None:
        _cannot_judge("no_training_weights", "test_untrained")
    return kernel


def _kernel_panels(kernel: np.ndarray) -> list[np.ndarray]:
    return [kernel[:, :, 0, k] for k in range(32)]


def _map_panels(maps: np.ndarray, count: int) -> list[np.ndarray]:
    return [maps[0, :, :, k] for k in range(count)]


# --------------------------------------------------------------------------- section 1: the trained layer


def _load_model_visible(found):
    checks.require(found, "model")
    checks.model(found["model"], "model")


def _load_model_hidden(found, refs, earlier):
    found_model = found["model"]
    # No visible twin: whether `model` is the checkpoint needs the grader's own copy of it (the
    # file in the student's folder is the student's to change).
    with against_reference():
        _load_model_reference(found_model, refs)


def _load_model_reference(found_model, refs):
    checks.check(
        tuple(layer.class_name for layer in found_model.layers) == refs.layer_classes,
        f"`model` 변수가 `{CHECKPOINT_NAME}` 파일에서 불러온 합성곱 신경망이 아닙니다. "
        "파일 이름과 불러오는 함수를 확인하세요.",
        f"model is not the CNN loaded from {CHECKPOINT_NAME}. Check the file name and the function that loads it.",
    )
    checks.check(
        found_model.weights_digest == refs.weights_digest,
        "`model` 모델의 가중치가 체크포인트 파일과 다릅니다. 파일을 다시 불러오고 가중치를 바꾸지 마세요.",
        "the weights of model differ from the checkpoint file: load it again and do not change them.",
    )


_step("test_load_model", "모델 불러오기", "loading the model", "model")((_load_model_visible, _load_model_hidden))


_NOT_FIRST_CONV = (
    "`conv` 층이 `model` 모델의 첫 번째 합성곱 층이 아닙니다. `model.layers`의 몇 번째 층을 골랐는지 확인하세요.",
    "conv is not the first convolution layer of model. Check which element of model.layers you picked.",
)


def _layer_digests(model: Fact) -> list[tuple[bool, str]]:
    """``(is Conv2D, weights digest)`` of each built layer of the notebook's ``model``, if it is a model."""
    if not isinstance(model, Model):
        return []
    return [(layer.is_conv2d, layer.weights_digest) for layer in model.layers if layer.weights_digest]


def _first_conv_kernel(found) -> np.ndarray | None:
    """The kernel of the student's ``conv`` if it is the first Conv2D of the student's own ``model``."""
    kernel = _layer_kernel(found.get("conv", Missing()))
    first = next((digest for is_conv, digest in _layer_digests(found.get("model")) if is_conv), None)
    return kernel if kernel is not None and first is not None and found["conv"].weights_digest == first else None


def _first_conv_visible(found):
    checks.require(found, "conv", "kernel_shape", "bias_shape")
    layer = checks.conv2d(found["conv"], "conv")
    # Which layer of the student's own `model` it is: the instructions name it, no value is shown.
    first = next((digest for is_conv, digest in _layer_digests(found.get("model")) if is_conv), None)
    if first is not None and layer.weights_digest:
        checks.check(layer.weights_digest == first, *_NOT_FIRST_CONV)
    checks.assert_rank(found["kernel_shape"], 4, "kernel_shape")
    checks.assert_rank(found["bias_shape"], 1, "bias_shape")
    # The shapes of the student's own `conv`: a shape read off another layer is named here.
    kernel, bias = layer.weights
    checks.assert_shape(found["kernel_shape"], kernel.shape, "kernel_shape", *_SHAPE_HINT)
    checks.assert_shape(found["bias_shape"], bias.shape, "bias_shape", *_SHAPE_HINT)


_SHAPE_HINT = ("`conv.weights`의 어느 가중치에서 `.shape`를 가져왔는지 확인하세요.",
               "Check which of conv.weights you take the .shape of.")


def _first_conv_hidden(found, refs, earlier):
    kernel, bias = found["conv"].weights
    # Visible twin: `conv` against the first Conv2D of the student's own `model`, and the shapes
    # against `conv`'s. Against the reference only: a `model` that is not the checkpoint.
    with against_reference():
        checks.check(
            kernel.shape == refs.kernel.shape and bool(np.allclose(kernel, refs.kernel, atol=1e-6))
            and bias.shape == refs.bias.shape and bool(np.allclose(bias, refs.bias, atol=1e-6)),
            *_NOT_FIRST_CONV,
        )
        checks.assert_shape(found["kernel_shape"], refs.kernel.shape, "kernel_shape", *_SHAPE_HINT)
        checks.assert_shape(found["bias_shape"], refs.bias.shape, "bias_shape", *_SHAPE_HINT)


_step("test_first_conv", "첫 번째 합성곱 층", "the first convolution layer", "conv", "kernel_shape", "bias_shape",
      "model")(
    (_first_conv_visible, _first_conv_hidden))


def _conv_weights_visible(found):
    checks.require(found, "conv_weights")
    checks.assert_numpy(found["conv_weights"], "conv_weights")
    array = checks.numbers(found["conv_weights"], "conv_weights")
    checks.check(
        array.ndim == 4,
        f"`conv_weights` 배열은 4차원 커널이어야 하는데 지금은 {array.ndim}차원입니다. "
        "`conv.weights`의 첫 번째 가중치(커널)를 바꿨는지 확인하세요.",
        f"conv_weights should be the 4-D kernel, found {array.ndim} dimensions. "
        "Convert the first of conv.weights (the kernel).",
    )
    kernel = _layer_kernel(found.get("conv", Missing()))
    if kernel is not None:  # the student's own `conv`: another layer's kernel is named here
        _conv_weights_against(found, kernel, True)


def _conv_weights_against(found, kernel, own):
    with _judged_on(own, "conv", "test_first_conv"):
        checks.assert_array_close(
            found["conv_weights"], kernel, "conv_weights",
            "`conv` 층의 커널(`conv.weights`의 첫 번째 가중치)을 넘파이 배열로 바꿨는지 확인하세요.",
            "It should be the kernel of conv (the first of conv.weights) as a NumPy array.", atol=1e-6)


def _conv_weights_hidden(found, refs, earlier):
    kernel = _layer_kernel(found.get("conv", Missing()))
    _conv_weights_against(found, kernel if kernel is not None else refs.kernel, kernel is not None)


_step("test_conv_weights", "커널 배열", "the kernel array", "conv_weights", "conv")(
    (_conv_weights_visible, _conv_weights_hidden))


def _stats(found, base, own, prefix: str, earlier_name: str, earlier_step: str):
    with _judged_on(own, earlier_name, earlier_step):
        checks.assert_number_close(
            found[f"{prefix}_mean"], base.mean(), f"{prefix}_mean",
            f"`{earlier_name}` 배열의 모든 값에 대한 평균인지 확인하세요.",
            f"It should be the mean of all values of {earlier_name}.")
        checks.assert_number_close(
            found[f"{prefix}_std"], base.std(), f"{prefix}_std",
            f"`{earlier_name}` 배열의 모든 값에 대한 표준편차인지 확인하세요.",
            f"It should be the standard deviation of all values of {earlier_name}.")


def _conv_stats_visible(found):
    checks.require(found, "conv_mean", "conv_std")
    checks.number(found["conv_mean"], "conv_mean")
    checks.number(found["conv_std"], "conv_std")
    own = _usable_array(found.get("conv_weights", Missing()))
    if own is not None:
        _stats(found, own, True, "conv", "conv_weights", "test_conv_weights")


def _conv_stats_hidden(found, refs, earlier):
    base, own = _trained_kernel(found, refs)
    _stats(found, base, own, "conv", "conv_weights", "test_conv_weights")


_step("test_conv_stats", "가중치의 평균과 표준편차", "the weights' mean and standard deviation",
      "conv_mean", "conv_std", "conv_weights")((_conv_stats_visible, _conv_stats_hidden))


def _hist(found, fig_name, base, own, earlier_name, earlier_step, source_ko, source_en):
    with _judged_on(own, earlier_name, earlier_step):
        checks.assert_histogram(found[fig_name], base, fig_name, source_ko=source_ko, source_en=source_en,
                                xlabel="weight", ylabel="count")


def _hist_visible(found):
    checks.require(found, "hist_fig")
    checks.histogram(checks.figure(found["hist_fig"], "hist_fig"), "hist_fig")
    own = _usable_array(found.get("conv_weights", Missing()))
    if own is not None:
        _hist(found, "hist_fig", own, True, "conv_weights", "test_conv_weights",
              "`conv_weights` 배열", "conv_weights")


def _hist_hidden(found, refs, earlier):
    base, own = _trained_kernel(found, refs)
    _hist(found, "hist_fig", base, own, "conv_weights", "test_conv_weights",
          "`conv_weights` 배열", "conv_weights")


_step("test_hist", "가중치 히스토그램", "the weight histogram", "hist_fig", "conv_weights")(
    (_hist_visible, _hist_hidden))


def _kernel_grid(found, fig_name, base, own, earlier_name, earlier_step):
    with _judged_on(own, earlier_name, earlier_step):
        checks.assert_image_grid(
            found[fig_name], fig_name, _kernel_panels(base), 2, 16,
            source_ko=f"`{earlier_name}` 배열의 커널", source_en=f"the kernels of {earlier_name}",
            scale=(-0.5, 0.5))


def _grid_kernel(fact: Fact) -> np.ndarray | None:
    return _usable_array(fact, ndim=4, min_last=32)


def _kernel_grid_visible(found):
    checks.require(found, "kernel_fig")
    checks.figure(found["kernel_fig"], "kernel_fig")
    own = _grid_kernel(found.get("conv_weights", Missing()))
    if own is not None:
        _kernel_grid(found, "kernel_fig", own, True, "conv_weights", "test_conv_weights")
    else:  # no kernel of the student's to compare with: what the grid needs whatever it shows
        checks.assert_image_grid(found["kernel_fig"], "kernel_fig", None, 2, 16, source_ko="", source_en="",
                                 scale=(-0.5, 0.5))


def _kernel_grid_hidden(found, refs, earlier):
    own = _grid_kernel(found.get("conv_weights", Missing()))
    base = own if own is not None else refs.kernel.astype(np.float64)
    _kernel_grid(found, "kernel_fig", base, own is not None, "conv_weights", "test_conv_weights")


_step("test_kernel_grid", "커널 그림", "the kernel grid", "kernel_fig", "conv_weights")(
    (_kernel_grid_visible, _kernel_grid_hidden))


# --------------------------------------------------------------------------- section 2: an untrained layer


_TRAINED_WEIGHTS = (
    "`no_training_conv` 층의 가중치가 훈련된 모델의 가중치와 같습니다. 새로 만든 층을 쓰세요.",
    "the weights of no_training_conv are the trained model's: use the newly made layer.",
)


def _untrained_visible(found):
    checks.require(found, "no_training_conv", "no_training_weights")
    layer = checks.conv2d(found["no_training_conv"], "no_training_conv")
    # The settings the instructions give: naming a wrong one reveals nothing the student computes.
    checks.assert_conv_settings(layer, "no_training_conv", filters=32, kernel_size=(3, 3), activation="relu",
                                padding="same")
    if layer.weights_digest:
        checks.check(layer.weights_digest not in {digest for _, digest in _layer_digests(found.get("model"))},
                     *_TRAINED_WEIGHTS)
    trained = _first_conv_kernel(found)
    if trained is not None:  # the student's own first layer: the shape the instructions ask to copy
        _untrained_shape(layer.weights[0], trained.shape)
    checks.assert_glorot_uniform(layer.weights[0], "no_training_conv")
    checks.assert_numpy(found["no_training_weights"], "no_training_weights")
    checks.assert_array_close(
        found["no_training_weights"], layer.weights[0], "no_training_weights",
        "`no_training_conv` 층의 커널을 넘파이 배열로 바꿨는지 확인하세요.",
        "It should be the kernel of no_training_conv as a NumPy array.", atol=1e-6)


def _untrained_shape(kernel, trained_shape):
    checks.check(
        kernel.shape == tuple(trained_shape),
        "`no_training_conv` 층의 커널 모양이 훈련된 첫 번째 층과 다릅니다. 입력 모양과 필터 수를 확인하세요.",
        "the kernel of no_training_conv is not shaped like the trained first layer's: check the input shape "
        "and the number of filters.",
    )


def _untrained_hidden(found, refs, earlier):
    kernel = found["no_training_conv"].weights[0]
    # Visible twins: the shape of the student's own `conv`, the weights of the student's own `model`
    # and the Glorot check (a statistic of the layer's own kernel). Against the reference only: a
    # `conv` or `model` that is not the checkpoint's.
    with against_reference():
        _untrained_shape(kernel, refs.kernel.shape)
        checks.check(not np.allclose(kernel, refs.kernel), *_TRAINED_WEIGHTS)


_step("test_untrained", "훈련하지 않은 층", "the untrained layer", "no_training_conv", "no_training_weights", "model",
      "conv")(
    (_untrained_visible, _untrained_hidden))

_UNTRAINED_SOURCES = ("no_training_weights", "no_training_conv")


def _untrained_stats_check(found, refs=None, earlier=None):
    checks.require(found, "no_training_mean", "no_training_std")
    checks.number(found["no_training_mean"], "no_training_mean")
    checks.number(found["no_training_std"], "no_training_std")
    _stats(found, _require_untrained(found), True, "no_training", "no_training_weights", "test_untrained")


_step("test_untrained_stats", "훈련하지 않은 가중치의 평균과 표준편차",
      "the untrained weights' mean and standard deviation",
      "no_training_mean", "no_training_std", *_UNTRAINED_SOURCES)((_untrained_stats_check, _untrained_stats_check))


def _untrained_hist_check(found, refs=None, earlier=None):
    checks.require(found, "no_training_hist_fig")
    checks.histogram(checks.figure(found["no_training_hist_fig"], "no_training_hist_fig"), "no_training_hist_fig")
    _hist(found, "no_training_hist_fig", _require_untrained(found), True, "no_training_weights", "test_untrained",
          "`no_training_weights` 배열", "no_training_weights")


_step("test_untrained_hist", "훈련하지 않은 가중치 히스토그램", "the untrained weight histogram",
      "no_training_hist_fig", *_UNTRAINED_SOURCES)((_untrained_hist_check, _untrained_hist_check))


def _untrained_grid_check(found, refs=None, earlier=None):
    checks.require(found, "no_training_kernel_fig")
    checks.figure(found["no_training_kernel_fig"], "no_training_kernel_fig")
    kernel = _require_untrained(found)
    if kernel.ndim != 4 or kernel.shape[-1] < 32:
        _cannot_judge("no_training_weights", "test_untrained")
    _kernel_grid(found, "no_training_kernel_fig", kernel, True, "no_training_weights", "test_untrained")


_step("test_untrained_grid", "훈련하지 않은 커널 그림", "the untrained kernel grid",
      "no_training_kernel_fig", *_UNTRAINED_SOURCES)((_untrained_grid_check, _untrained_grid_check))


def _compare_visible(found):
    checks.require(found, "std_ratio", "glorot_limit", "within_limit")
    checks.number(found["std_ratio"], "std_ratio")
    checks.number(found["glorot_limit"], "glorot_limit")
    checks.boolean(found["within_limit"], "within_limit")
    conv_std, untrained_std = _number(found.get("conv_std", Missing())), _number(found.get("no_training_std", Missing()))
    trained, untrained = _usable_array(found.get("conv_weights", Missing())), _untrained_kernel(found)
    if conv_std is not None and untrained_std:
        _ratio_check(found, conv_std / untrained_std, True)
    elif trained is not None and untrained is not None and untrained.std():
        _ratio_check(found, trained.std() / untrained.std(), True)
    # The bound for the shape of the student's own kernels, when the trained and the untrained agree.
    if trained is not None and untrained is not None and untrained.ndim == 4 and untrained.shape == trained.shape:
        _bound_check(found, untrained.shape)
    _within_check(found)


def _ratio_check(found, expected, own):
    with _judged_on(own, "no_training_std", "test_untrained_stats"):
        checks.assert_number_close(
            found["std_ratio"], expected, "std_ratio",
            "훈련된 가중치의 표준편차를 훈련하지 않은 가중치의 표준편차로 나눴는지 확인하세요.",
            "It should be the trained weights' standard deviation divided by the untrained weights'.")


def _bound_check(found, kernel_shape):
    checks.assert_number_close(
        found["glorot_limit"], checks.glorot_limit(kernel_shape), "glorot_limit",
        "글로럿 균등 분포의 경계 공식에 이 층의 입력 쪽과 출력 쪽 연결 수를 넣었는지 확인하세요.",
        "Check the Glorot-uniform bound formula and this layer's fan-in and fan-out.")


def _within_check(found):
    student_limit = checks.number(found["glorot_limit"], "glorot_limit")
    untrained = _require_untrained(found)
    truth = bool(np.all(np.abs(untrained) <= student_limit * (1 + 1e-6)))
    checks.check(
        checks.boolean(found["within_limit"], "within_limit") == truth,
        "`within_limit` 변수의 값이 맞지 않습니다. 훈련하지 않은 가중치 전부의 절댓값을 `glorot_limit` 변수와 비교했는지 "
        "확인하세요.",
        "within_limit is not right: compare the absolute values of all untrained weights with glorot_limit.",
    )


def _compare_hidden(found, refs, earlier):
    conv_std, untrained_std = _number(found.get("conv_std", Missing())), _number(found.get("no_training_std", Missing()))
    if conv_std is not None and untrained_std:
        _ratio_check(found, conv_std / untrained_std, True)
    else:
        trained, own = _trained_kernel(found, refs)
        untrained = _require_untrained(found)
        with against_reference() if not own else _same():
            _ratio_check(found, trained.std() / untrained.std(), True)
    # Visible twin: the bound for the student's own kernels' shape. Against the reference only:
    # kernels of another shape than the checkpoint's first layer (the instructions give its fans).
    with against_reference():
        _bound_check(found, refs.kernel.shape)
    _within_check(found)


_step("test_compare", "두 층 비교", "comparing the two layers", "std_ratio", "glorot_limit", "within_limit",
      "conv_std", "no_training_std", "conv_weights", *_UNTRAINED_SOURCES)((_compare_visible, _compare_hidden))


# --------------------------------------------------------------------------- section 3: the functional API


def _dense_visible(found):
    checks.require(found, "dense_model")
    dense = checks.model(found["dense_model"], "dense_model")
    checks.check(
        not dense.is_model_variable,
        "`dense_model` 변수가 `model` 변수와 같은 객체입니다. 새 이름으로 만들고 `model` 변수는 그대로 두세요.",
        "dense_model is the same object as model: build it under the new name and leave model as it is.",
    )
    checks.assert_functional(dense, "dense_model")
    checks.assert_io_shapes(dense, "dense_model", (None, 784), (None, 10))
    checks.assert_dense_stack(dense, "dense_model", DENSE_LAYERS)


def _dense_hidden(found, refs, earlier):
    # No visible twin: it compares with the facts of an earlier step (`model` as loaded), which a
    # visible check, judging one cell's facts, does not receive. Validate names the usual cases
    # (`dense_model` is `model`, `model` no longer a CNN) through the later steps' own checks.
    before = earlier.get("test_load_model", {}).get("model")
    now = found.get("model", Missing())
    if isinstance(before, Model):
        checks.check(
            isinstance(now, Model) and now.weights_digest == before.weights_digest
            and [lay.class_name for lay in now.layers] == [lay.class_name for lay in before.layers],
            "`model` 변수가 이 단계에서 바뀌었습니다. 합성곱 신경망은 뒤에서 다시 쓰이니 덮어쓰지 마세요.",
            "model changed in this step: the CNN is needed later, so do not overwrite it.",
        )


_step("test_dense_model", "함수형 API 밀집 모델", "the functional dense model", "dense_model", "model")(
    (_dense_visible, _dense_hidden))


def _acti_visible(name: str, conv_index: int, shape: tuple):
    def visible(found):
        checks.require(found, name)
        acti = checks.model(found[name], name)
        checks.assert_io_shapes(acti, name, (None, 28, 28, 1), shape)
        if isinstance(found.get("model"), Model):
            checks.check(
                conv_index in acti.shares_layers,
                f"`{name}` 모델이 `model` 모델의 층을 다시 쓰지 않습니다. `model.inputs`와 `model.layers`에 있는 층의 "
                "출력으로 만드세요.",
                f"{name} does not reuse the layers of model: build it from model.inputs and the output of a layer "
                "in model.layers.",
            )

    return visible


def acti_stage(acti: Fact, refs) -> int | None:
    """Index of the CNN layer whose output the model ``acti`` gives, judged by its output on the probe."""
    out = acti.probe_output if isinstance(acti, Model) else None
    if out is None:
        return None
    for index, want in enumerate(refs.stage_outputs(facts.probe_input())):
        if want.shape == out.shape and np.allclose(out, want, atol=1e-4, rtol=1e-4):
            return index
    return None


def _acti_hidden(name: str, conv_number: int):
    def hidden(found, refs, earlier):
        # Visible twin: the input and output shapes and the reuse of `model`'s layers. Against the
        # reference only: which layer of the checkpoint the model ends at (its output on the probe).
        with against_reference():
            reference_stage(found, refs)

    def reference_stage(found, refs):
        acti = found[name]
        stage, wanted = acti_stage(acti, refs), refs.conv_index(conv_number)
        wanted_ko, wanted_en = CONV_NAMES[conv_number]
        if stage is not None and stage != wanted:
            layer = refs.layer_classes[stage]
            checks.fail(
                f"`{name}` 모델이 `model.layers[{stage}]` 층(`{layer}`)에서 끝납니다. 이 단계는 {wanted_ko}까지입니다. "
                "`model.layers`에서 어느 층의 출력을 썼는지 확인하세요.",
                f"{name} ends at model.layers[{stage}] ({layer}), but this step ends at {wanted_en}. "
                "Check which layer of model.layers you take the output of.",
            )
        checks.check(
            stage == wanted,
            f"`{name}` 모델의 출력이 {wanted_ko}의 출력과 다릅니다. `model.inputs`에서 시작해 그 층의 출력에서 "
            "끝나는지 확인하세요.",
            f"the output of {name} is not that of {wanted_en}. Check that it starts at model.inputs "
            "and ends at that layer's output.",
        )

    return hidden


_step("test_conv_acti", "첫 번째 합성곱 층까지의 모델", "the model up to the first convolution layer",
      "conv_acti", "model")((_acti_visible("conv_acti", 0, (None, 28, 28, 32)), _acti_hidden("conv_acti", 1)))


# --------------------------------------------------------------------------- section 4: feature maps


def _sample_visible(found):
    checks.require(found, "sample_fig")
    fig = checks.figure(found["sample_fig"], "sample_fig")
    panels = checks.image_panels(fig)
    checks.check(
        len(panels) == 1,
        f"`sample_fig` 그림에는 이미지가 하나 있어야 하는데 {len(panels)}개입니다. "
        "`imshow()`로 이미지 하나만 그렸는지 확인하세요.",
        f"sample_fig should hold one image, found {len(panels)}. Draw exactly one image with imshow().",
    )
    image = panels[0][1]
    checks.check(
        image.array.size > 0 and np.nanmax(image.array) > 1.0,
        "`sample_fig` 그림의 이미지 값이 원래 픽셀 값이 아닙니다. `train_input[0]`을 바꾸지 말고 그대로 그리세요.",
        "sample_fig does not show the raw pixel values: draw train_input[0] as it is, without scaling it.",
    )
    first = _first_image(found)
    if first is not None:  # the student's own first training image, as loaded
        _sample_drawn(found, first)


def _first_image(found) -> np.ndarray | None:
    """The student's own first training image ``train_input[0]``, if it is one 28 x 28 image."""
    image = _usable_array(found.get("train_input[0]", Missing()))
    return image if image is not None and image.shape == (28, 28) else None


def _sample_drawn(found, image):
    checks.assert_image_grid(found["sample_fig"], "sample_fig", [image], 1, 1,
                             source_ko="첫 번째 훈련 이미지", source_en="the first training image",
                             axes_off=False, cmap="gray_r")


def _sample_hidden(found, refs, earlier):
    # Visible twin: the student's own `train_input[0]`. Against the reference only: a
    # `train_input` that is not Fashion-MNIST's training set as the grader reads it.
    with against_reference():
        _sample_drawn(found, refs.train_image)


_step("test_sample", "샘플 이미지", "the sample image", "sample_fig", "train_input[0]")(
    (_sample_visible, _sample_hidden))


def _sample_batch_visible(found):
    checks.require(found, "sample_batch")
    array = checks.numbers(found["sample_batch"], "sample_batch")
    checks.check(
        array.shape == (1, 28, 28, 1),
        f"`sample_batch` 배열의 모양이 설명과 다릅니다(지금은 {checks._dims(array.shape)}). "
        "이미지 하나를 배치 차원과 채널 차원이 있는 배열로 만드세요.",
        f"sample_batch is not shaped as the instructions say ({checks._dims(array.shape)}): "
        "make one image into a batch with a channel dimension.",
    )
    checks.check(
        float(array.max()) <= 1.0 and float(array.min()) >= 0.0 and float(array.max()) > 0.0,
        "`sample_batch` 배열의 값이 0~1 범위에 있지 않습니다. 픽셀 값을 255로 나눴는지 확인하세요.",
        "sample_batch is not within 0 to 1: divide the pixel values by 255.",
    )
    first = _first_image(found)
    if first is not None:
        # The student's own first training image, scaled once: pixels as loaded are divided by 255;
        # a `train_input` the student already scaled to 0~1 is used as it is.
        scaled = first / 255.0 if float(first.max()) > 1.0 else first
        _sample_batch_is(found, scaled.reshape(1, 28, 28, 1))


def _sample_batch_is(found, expected):
    checks.assert_array_close(found["sample_batch"], expected, "sample_batch",
                              "첫 번째 훈련 이미지를 255로 한 번만 나눴는지 확인하세요.",
                              "It should be the first training image divided by 255, once.", atol=1e-6)


def _sample_batch_hidden(found, refs, earlier):
    # Visible twin: the student's own `train_input[0]`. Against the reference only: a
    # `train_input` that is not Fashion-MNIST's training set as the grader reads it.
    with against_reference():
        _sample_batch_is(found, refs.sample_batch())


_step("test_sample_batch", "샘플 배치", "the sample batch", "sample_batch", "train_input[0]")(
    (_sample_batch_visible, _sample_batch_hidden))


def _maps_visible(name: str, acti_name: str, channels: int, size: int):
    def visible(found):
        checks.require(found, name)
        array = checks.numbers(found[name], name)
        acti = found.get(acti_name)
        # Error carried forward: the shape the student's own model gives, if it gives one.
        own = acti.probe_output.shape if isinstance(acti, Model) and acti.probe_output is not None else None
        checks.check(
            array.shape == (own or (1, size, size, channels)),
            f"`{name}` 배열의 모양이 맞지 않습니다(지금은 {checks._dims(array.shape)}). "
            f"`{acti_name}` 모델에 `sample_batch` 배열을 넣어 얻었는지 확인하세요.",
            f"{name} is not the right shape (found {checks._dims(array.shape)}): run {acti_name} on sample_batch.",
        )
        # The student's own model on the student's own batch (error carried forward, as graded).
        output = found.get(f"{acti_name}(sample_batch)")
        if _own_batch(found)[1] and isinstance(output, Value) and output.array is not None:
            _maps_are(found, name, acti_name, output.array)

    return visible


def _maps_are(found, name, acti_name, expected):
    checks.assert_array_close(
        found[name], expected, name,
        f"`{acti_name}` 모델에 `sample_batch` 배열을 넣어 얻은 출력인지 확인하세요.",
        f"It should be the output of {acti_name} for sample_batch.",
        atol=1e-4)


def _own_batch(found) -> tuple[np.ndarray | None, bool]:
    batch = _usable_array(found.get("sample_batch", Missing()))
    if batch is not None and batch.shape == (1, 28, 28, 1):
        return batch, True
    return None, False


def _maps_hidden(name: str, conv_number: int, acti_name: str):
    def hidden(found, refs, earlier):
        batch, own = _own_batch(found)
        # Error carried forward: the output of the layer the student's own model ends at
        # (known from its output on the probe), on the student's own batch. A model that is
        # not built on `model`'s layers gives maps no one can recompute: judged against the
        # right layer, a failure then names the model's step, not the maps.
        # Visible twin: the student's model run on the student's batch in the kernel. Against
        # the reference only: which layer of the checkpoint the model ends at, and a batch or
        # model that is unusable (the maps are then judged on the reference's).
        stage = acti_stage(found.get(acti_name, Missing()), refs)
        own_stage = stage is not None
        stage = stage if own_stage else refs.conv_index(conv_number)
        expected = refs.stage_outputs(batch if own else refs.sample_batch())[stage]
        with _judged_on(own_stage, acti_name, f"test_{acti_name}"), \
                _judged_on(own, "sample_batch", "test_sample_batch"), against_reference():
            _maps_are(found, name, acti_name, expected)

    return hidden


_step("test_feature_maps_1", "첫 번째 층의 특성 맵", "the first layer's feature maps",
      "feature_maps_1", "sample_batch", "conv_acti", "conv_acti(sample_batch)")(
    (_maps_visible("feature_maps_1", "conv_acti", 32, 28), _maps_hidden("feature_maps_1", 1, "conv_acti")))


def _map_grid(fig_name: str, maps_name: str, conv_number: int, rows: int, cols: int):
    def draw(found, base, own):
        earlier_step = f"test_feature_maps_{conv_number}"
        with _judged_on(own, maps_name, earlier_step):
            checks.assert_image_grid(found[fig_name], fig_name, _map_panels(base, rows * cols), rows, cols,
                                     source_ko=f"`{maps_name}` 배열의 특성 맵", source_en=f"the maps of {maps_name}",
                                     scale="own", atol=1e-4)

    def usable(found):
        return _usable_array(found.get(maps_name, Missing()), ndim=4, min_last=rows * cols)

    def visible(found):
        checks.require(found, fig_name)
        checks.figure(found[fig_name], fig_name)
        own = usable(found)
        if own is not None:
            draw(found, own, True)
        else:  # no maps of the student's to compare with: what the grid needs whatever it shows
            checks.assert_image_grid(found[fig_name], fig_name, None, rows, cols, source_ko="", source_en="",
                                     scale="own")

    def hidden(found, refs, earlier):
        own = usable(found)
        draw(found, own if own is not None else refs.feature_maps(conv_number), own is not None)

    return visible, hidden


_step("test_feature_grid_1", "첫 번째 층 특성 맵 그림", "the first layer's feature-map grid",
      "feature_fig_1", "feature_maps_1")(_map_grid("feature_fig_1", "feature_maps_1", 1, 4, 8))

_step("test_conv2_acti", "두 번째 합성곱 층까지의 모델", "the model up to the second convolution layer",
      "conv2_acti", "model")((_acti_visible("conv2_acti", 2, (None, 14, 14, 64)), _acti_hidden("conv2_acti", 2)))

_step("test_feature_maps_2", "두 번째 층의 특성 맵", "the second layer's feature maps",
      "feature_maps_2", "sample_batch", "conv2_acti", "conv2_acti(sample_batch)")(
    (_maps_visible("feature_maps_2", "conv2_acti", 64, 14), _maps_hidden("feature_maps_2", 2, "conv2_acti")))

_step("test_feature_grid_2", "두 번째 층 특성 맵 그림", "the second layer's feature-map grid",
      "feature_fig_2", "feature_maps_2")(_map_grid("feature_fig_2", "feature_maps_2", 2, 8, 8))


# --------------------------------------------------------------------------- running the steps

_publishing = False
_history: dict[str, dict[str, Fact]] = {}


def publish_facts() -> None:
    """Make every later ``check`` hand its facts to the grader (the grader runs this first)."""
    global _publishing
    _publishing = True


def _publish(grade_id: str, found: dict) -> None:
    from IPython.display import publish_display_data

    publish_display_data({fact_codec.MIME_TYPE: fact_codec.encode(grade_id, found)})


@contextmanager
def _in_step(step: Step):
    """A failure of ``step``'s checks, with the step's name in front of each half of the message."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError as exc:
        ko, en = checks.halves(exc)
        checks.fail(f"[{step.title_ko}] {ko}", f"[{step.title_en}] {en}", reference=getattr(exc, "reference", False))


def check(grade_id: str, namespace: dict) -> None:
    """A test cell's visible checks, run in the notebook on its own variables (``globals()``)."""
    __tracebackhide__ = True
    step = STEPS[grade_id]
    found = introspect.extract(namespace, step.names)
    _history[grade_id] = found
    if _publishing:
        _publish(grade_id, found)
    with _in_step(step):
        step.visible(found)
    # A passed test cell says so, so that a student can tell it from a cell that never ran.
    print(PASSED)


# The line a test cell prints when its visible checks pass (grading adds the hidden ones).
PASSED = "이 단계의 검사를 통과했습니다. / This step's checks pass."


def check_hidden(grade_id: str, namespace: dict) -> None:
    """A test cell's hidden checks, for the instructor's own runs of the source notebook.

    When grading, these lines never reach the student's kernel: the grader
    runs the same checks on the facts ``check`` handed over.
    """
    __tracebackhide__ = True
    from cnnviz.grading import reference

    step = STEPS[grade_id]
    found = introspect.extract(namespace, step.names)
    with _in_step(step):
        step.hidden(found, reference.for_checkpoint(CHECKPOINT_NAME), _history)


@dataclass(frozen=True)
class Verdict:
    """The grader's verdict on one step: passed, or the message to show, as its (Korean, English) pair."""

    passed: bool
    korean: str = ""
    english: str = ""
    # "visible": Validate names this mistake too; "reference": only a comparison with the grader's
    # reference names it (no visible twin can, see against_reference); "hidden": a hidden check on
    # the student's own values that Validate missed (the catalogue test fails on it).
    stage: str = ""
    crashed: bool = False  # the check itself failed (a bug in the course, not in the answer)

    @property
    def message(self) -> str:
        """The message in its one-line form (``checks.render``), "" when passed."""
        return "" if self.passed else checks.render(self.korean, self.english)


def grade(grade_id: str, found: dict[str, Fact], refs, earlier: dict[str, dict[str, Fact]]) -> Verdict:
    """Run a step's visible and hidden checks on facts; never raises for a bad answer."""
    step = STEPS[grade_id]
    stage = "visible"
    try:
        with _in_step(step):
            step.visible(found)
            stage = "hidden"
            step.hidden(found, refs, earlier)
    except AssertionError as exc:
        return Verdict(False, *checks.halves(exc), "reference" if getattr(exc, "reference", False) else stage)
    except Exception as exc:  # a defect of the check, reported as such
        return Verdict(False, "채점 검사가 오류로 멈췄습니다. 강사에게 알려 주세요.",
                       f"The check itself failed ({type(exc).__name__}: {str(exc)[:200]}); please tell your instructor.",
                       stage, True)
    return Verdict(True)
