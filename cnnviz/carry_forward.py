"""Error carried forward: a later step judged on the student's own earlier values, else on the reference.

A later step is judged against the student's own earlier values whenever
they are of the right kind (the feature maps of the student's own
``sample_batch``, the histogram of the student's own ``conv_weights``, ...):
:func:`usable_array`, :func:`layer_kernel` and :func:`single_number` read
them. When such a value is missing or unusable the step is judged against
the reference instead, and if that fails too, the message names the earlier
step to complete first (:func:`judged_on`, :func:`cannot_judge`).

Comparisons with the grader's reference are wrapped in
:func:`against_reference`, which marks their failures: no check in the
student's kernel can make them.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from cnnviz.check_failed import fail, halves
from cnnviz.facts import Fact, Layer, Value
from cnnviz.step_registry import Step

# --------------------------------------------------------------------------- reading earlier values


def usable_array(fact: Fact, ndim: int | None = None, min_last: int = 0) -> np.ndarray | None:
    """The numbers of an earlier value, if it is an array of the right kind for a later step."""
    if not isinstance(fact, Value) or fact.array is None or fact.array.size == 0:
        return None
    array = fact.array
    if ndim is not None and (array.ndim != ndim or array.shape[-1] < min_last or array.shape[0] < 1):
        return None
    return array.astype(np.float64)


def layer_kernel(fact: Fact) -> np.ndarray | None:
    """The 4-D kernel of an earlier value, if it is a built ``Conv2D`` layer."""
    if isinstance(fact, Layer) and fact.is_conv2d and fact.built and fact.weights and fact.weights[0].ndim == 4:
        return fact.weights[0].astype(np.float64)
    return None


def single_number(fact: Fact) -> float | None:
    """An earlier value as one number, if it holds exactly one."""
    if isinstance(fact, Value) and fact.array is not None and fact.array.size == 1:
        return float(fact.array.reshape(()))
    return None


# --------------------------------------------------------------------------- judged on what


def cannot_judge(name: str, earlier: Step):
    """Fail: this step builds on ``name`` from the step ``earlier``, which is missing or unusable."""
    __tracebackhide__ = True
    fail(
        f"이 단계는 '{earlier.title_ko}' 단계의 `{name}` 변수를 바탕으로 확인하는데, 그 값이 없거나 쓸 수 없어 "
        "확인할 수 없습니다. 먼저 그 단계를 완성하세요.",
        f"this step is checked against {name} from the step '{earlier.title_en}', which is missing or "
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
        ko, en = halves(exc)
        fail(ko, en, reference=True)


@contextmanager
def judged_on(own: bool, name: str, earlier: Step):
    """Checks of a later step: if they ran against the reference because the student's
    earlier ``name`` (from the step ``earlier``) was unusable and they fail, say which step to
    complete first."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError:
        if own:
            raise
        with against_reference():  # judged on the reference: no visible twin
            cannot_judge(name, earlier)
