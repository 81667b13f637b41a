"""Unit tests for cnnviz.facts: what the kernel and the grader compute alike (the probe input, the weights' digest)."""

from __future__ import annotations

import numpy as np

from cnnviz import facts


def test_probe_input_is_fixed():
    first, second = facts.probe_input(), facts.probe_input()
    assert first.shape == (1, 28, 28, 1) and first.dtype == np.float32 and np.array_equal(first, second)


def test_the_weights_digest_is_the_same_for_the_same_float32_weights_and_differs_otherwise():
    # The kernel digests its own copies, the grader the checkpoint's arrays: float64 copies of the
    # same float32 numbers must agree, another shape or one changed number must not.
    kernel = np.arange(12, dtype="float32").reshape(3, 4) / 7
    bias = np.zeros(4, dtype="float32")
    digest = facts.weights_digest([kernel, bias])
    assert facts.weights_digest([kernel.astype("float64"), bias.tolist()]) == digest
    assert facts.weights_digest([kernel.reshape(4, 3), bias]) != digest
    changed = kernel.copy()
    changed[0, 0] += 1e-3
    assert facts.weights_digest([changed, bias]) != digest
    assert facts.weights_digest([kernel]) != digest
