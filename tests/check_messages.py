"""Shared by the checks' unit tests: a failure must be one bilingual course message that never
shows the expected value the check was given; and the values the checks are tried on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cnnviz import checks

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
        return [checks.shape_text(value)]
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        x = float(array)
        return [f"{x:.4g}", f"{x:.3g}", repr(x)]
    return [checks.shape_text(array.shape)]


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


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def kernel(rng):
    """A trained-looking first-layer kernel, (3, 3, 1, 32)."""
    return rng.uniform(-0.4, 0.4, size=(3, 3, 1, 32)).astype("float32")
