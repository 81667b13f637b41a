"""Facts compared and carried for the tests: deep equality of records, and the kernel-to-grader round trip."""

from __future__ import annotations

import dataclasses

import numpy as np

from cnnviz import fact_codec


def same(a, b) -> bool:
    """Deep equality of records, lists, tuples and arrays (dataclass == cannot compare arrays)."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


def round_trip(found: dict, step: str = "test_step") -> dict:
    got_step, decoded = fact_codec.decode(fact_codec.encode(step, found))
    assert got_step == step
    return decoded
