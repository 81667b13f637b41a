"""Unit tests for cnnviz.carry_forward: which earlier values a later step may build on, and what a
failure says when the step had to be judged on the reference instead."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz import carry_forward
from cnnviz.check_failed import CheckFailed, fail, halves
from cnnviz.facts import Figure, Layer, Missing, Value
from cnnviz.step_registry import Step

EARLIER = Step("test_conv_weights", "커널 배열", "the kernel array", ("conv_weights",), None, None)


def _array(shape) -> Value:
    return Value(type_name="ndarray", is_numpy=True, array=np.ones(shape, dtype=np.float32))


def test_a_usable_array_is_read_as_float64():
    found = carry_forward.usable_array(_array((3, 3, 1, 32)))
    assert found.dtype == np.float64 and found.shape == (3, 3, 1, 32)
    assert carry_forward.usable_array(_array((3, 3, 1, 32)), ndim=4, min_last=32) is not None


@pytest.mark.parametrize("fact", [Missing(), Figure(), Value(type_name="str"), _array((0,)),
                                  Layer(class_name="Dense", is_conv2d=False, built=True)])
def test_what_is_not_an_array_of_numbers_is_unusable(fact):
    assert carry_forward.usable_array(fact) is None


@pytest.mark.parametrize("shape, why", [((3, 3, 32), "three dimensions, not four"),
                                        ((3, 3, 1, 16), "16 kernels, where the step needs 32")])
def test_an_array_of_another_kind_than_the_later_step_needs_is_unusable(shape, why):
    assert carry_forward.usable_array(_array(shape), ndim=4, min_last=32) is None, why


def test_a_layer_kernel_only_of_a_built_conv2d():
    kernel = np.ones((3, 3, 1, 4), dtype=np.float32)
    conv = Layer(class_name="Conv2D", is_conv2d=True, built=True, weights=[kernel, np.zeros(4)])
    assert carry_forward.layer_kernel(conv).dtype == np.float64
    assert carry_forward.layer_kernel(Layer(class_name="Conv2D", is_conv2d=True, built=False)) is None
    assert carry_forward.layer_kernel(Layer(class_name="Dense", is_conv2d=False, built=True,
                                            weights=[np.ones((4, 2)), np.zeros(2)])) is None
    assert carry_forward.layer_kernel(_array((3, 3, 1, 4))) is None


def test_a_single_number_only_of_one_value():
    assert carry_forward.single_number(Value(type_name="float", array=np.array(0.25))) == 0.25
    assert carry_forward.single_number(_array((2,))) is None
    assert carry_forward.single_number(Missing()) is None


def test_a_failure_against_the_reference_keeps_its_message_and_is_marked():
    with pytest.raises(CheckFailed) as info:
        with carry_forward.against_reference():
            fail("값이 틀렸습니다.", "the value is wrong.")
    assert info.value.reference and halves(info.value) == ("값이 틀렸습니다.", "the value is wrong.")
    with carry_forward.against_reference():
        pass  # nothing failed, nothing raised


def test_judged_on_the_students_own_value_a_failure_is_the_steps_own():
    with pytest.raises(CheckFailed) as info:
        with carry_forward.judged_on(True, "conv_weights", EARLIER):
            fail("평균이 틀렸습니다.", "the mean is wrong.")
    assert not info.value.reference and halves(info.value) == ("평균이 틀렸습니다.", "the mean is wrong.")


def test_judged_on_the_reference_a_failure_names_the_earlier_step_to_complete_first():
    with pytest.raises(CheckFailed) as info:
        with carry_forward.judged_on(False, "conv_weights", EARLIER):
            fail("평균이 틀렸습니다.", "the mean is wrong.")
    korean, english = halves(info.value)
    assert info.value.reference, "only a comparison with the reference can say this"
    assert "'커널 배열' 단계의 `conv_weights` 변수" in korean and "먼저 그 단계를 완성하세요" in korean
    assert "conv_weights from the step 'the kernel array'" in english and "complete that step first" in english
    assert "mean" not in english, "the later step's own message would judge the student on the reference"
    with carry_forward.judged_on(False, "conv_weights", EARLIER):
        pass  # a step that passes on the reference passes


def test_cannot_judge_fails_naming_the_value_and_its_step():
    with pytest.raises(CheckFailed, match="no_training_weights from the step 'the kernel array'"):
        carry_forward.cannot_judge("no_training_weights", EARLIER)
