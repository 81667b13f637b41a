"""Generic checks on facts (``cnnviz.facts``): values, arrays, shapes; and what every check builds on.

Each check reads plain facts, so the same code runs in the student's kernel
(Validate) and in the grader's own process (the score). A failed check raises
``CheckFailed`` (``cnnviz.check_failed``): one message, Korean and English,
that names the student's variable, says what is wrong and where to look, and
never shows a value the student should have computed. The checks of figures
(``cnnviz.figure_checks``) and of Keras layers and models
(``cnnviz.keras_checks``) build on :func:`of_kind`, :func:`kind_of` and
:func:`shape_text` here.
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.check_failed import check, fail
from cnnviz.facts import Fact, Figure, Layer, Missing, Model, Value

# --------------------------------------------------------------------------- found values in words


def number_text(x: float) -> str:
    """A found number as a message shows it (four significant digits)."""
    return f"{x:.4g}"


def shape_text(shape) -> str:
    """A found shape as a message shows it: ``(None, 28, 28, 32)``, ``(32,)``."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def kind_of(fact: Fact) -> str:
    """What a value is, in a word or two, for messages."""
    if isinstance(fact, Missing):
        return "nothing"
    if isinstance(fact, Figure):
        return "Figure"
    if isinstance(fact, (Layer, Model)):
        return fact.class_name
    if fact.array is not None and fact.array.ndim > 0 and fact.type_name in ("ndarray", "list", "tuple"):
        return f"{fact.type_name} {shape_text(fact.array.shape)}"
    return fact.type_name


def should_be(ok: bool, value: Fact, name: str, what_ko: str, what_en: str, hint_ko: str = "",
              hint_en: str = "") -> None:
    """Fail unless ``ok``, saying what ``name`` should be, what it holds, and (with a hint) where to look.

    ``what_ko`` carries its own copula ("그림이어야"), chosen by its last sound.
    """
    __tracebackhide__ = True
    check(
        ok,
        f"`{name}` 변수는 {what_ko} 하는데 지금은 `{kind_of(value)}` 값입니다." + (f" {hint_ko}" if hint_ko else ""),
        f"{name} should be {what_en}, found {kind_of(value)}." + (f" {hint_en}" if hint_en else ""),
    )


def of_kind(value: Fact, kind: type, name: str, what_ko: str, what_en: str, hint_ko: str, hint_en: str):
    """``value`` if it is a ``kind`` fact; else fail saying what ``name`` should be and where to look."""
    __tracebackhide__ = True
    should_be(isinstance(value, kind), value, name, what_ko, what_en, hint_ko, hint_en)
    return value


# --------------------------------------------------------------------------- values


def require(found: dict[str, Fact], *names: str) -> None:
    """Fail, naming every one of ``names`` that the notebook does not define."""
    __tracebackhide__ = True
    missing = [n for n in names if isinstance(found.get(n, Missing()), Missing)]
    if missing:
        listed_ko = ", ".join(f"`{n}`" for n in missing)
        listed_en = ", ".join(missing)
        fail(
            f"{listed_ko} 변수가 정의되어 있지 않습니다. 이 단계의 답 셀에서 값을 정확히 이 이름으로 "
            "저장했는지 확인하고, 그 셀을 실행하세요.",
            f"{listed_en} is not defined: the answer cell of this step must store the value under exactly "
            "this name, and it must have run." if len(missing) == 1 else
            f"{listed_en} are not defined: the answer cell of this step must store the values under exactly "
            "these names, and it must have run.",
        )


def numbers(value: Fact, name: str) -> np.ndarray:
    """The numbers ``value`` holds (an array, a number, a tensor, a variable), or fail."""
    __tracebackhide__ = True
    array = value.array if isinstance(value, Value) else None
    check(
        array is not None,
        f"`{name}` 변수에 숫자가 아닌 값(`{kind_of(value)}`)이 들어 있습니다. 이 변수를 계산하는 셀을 확인하세요.",
        f"{name} holds {kind_of(value)}, not numbers. Look at the cell that computes {name}.",
    )
    return array


def number(value: Fact, name: str) -> float:
    """``value`` as one number (Python, NumPy or a 0-d tensor), or fail."""
    __tracebackhide__ = True
    array = numbers(value, name)
    check(
        array.size == 1,
        f"`{name}` 변수는 숫자 하나여야 하는데 원소가 {array.size}개인 배열입니다. 배열 전체에 대해 계산했는지 확인하세요.",
        f"{name} should be a single number, but it is an array of {array.size} elements: "
        "compute it over the whole array.",
    )
    return float(array.reshape(()))


def assert_number_close(value: Fact, expected: float, name: str, hint_ko: str, hint_en: str,
                        rtol: float = 1e-4, atol: float = 1e-7) -> None:
    """Fail unless ``value`` is one number close to ``expected``; the hint says where to look."""
    __tracebackhide__ = True
    found = number(value, name)
    check(
        math.isclose(found, float(expected), rel_tol=rtol, abs_tol=atol),
        f"`{name}` 변수의 값({number_text(found)})이 맞지 않습니다. {hint_ko}",
        f"{name} ({number_text(found)}) is not right. {hint_en}",
    )


def assert_array_close(value: Fact, expected: np.ndarray, name: str, hint_ko: str, hint_en: str,
                       atol: float = 1e-5) -> None:
    """Fail unless ``value`` holds numbers of ``expected``'s shape and values (allclose)."""
    __tracebackhide__ = True
    array = numbers(value, name)
    check(
        array.shape == np.shape(expected),
        f"`{name}` 배열의 모양이 맞지 않습니다(지금은 {shape_text(array.shape)}). {hint_ko}",
        f"{name} has the wrong shape (found {shape_text(array.shape)}). {hint_en}",
    )
    check(
        bool(np.allclose(array, expected, atol=atol, rtol=1e-5)),
        f"`{name}` 배열의 값이 맞지 않습니다. {hint_ko}",
        f"{name} holds the wrong values. {hint_en}",
    )


def assert_numpy(value: Fact, name: str) -> None:
    """Fail unless ``value`` is a NumPy array (not a Keras variable, a tensor or a list)."""
    __tracebackhide__ = True
    should_be(isinstance(value, Value) and value.is_numpy, value, name, "넘파이 배열이어야", "a NumPy array",
              "`.numpy()`로 바꿨는지 확인하세요.", "Did you convert it with .numpy()?")


def boolean(value: Fact, name: str) -> bool:
    """``value`` as a bool (Python or NumPy), or fail."""
    __tracebackhide__ = True
    ok = isinstance(value, Value) and value.is_bool and value.array is not None and value.array.size == 1
    should_be(ok, value, name, "`True`나 `False`여야", "True or False")
    return bool(value.array.reshape(()))


def shape_of(value: Fact, name: str) -> tuple:
    """``value`` as a shape (tuple, list or TensorShape of sizes), or fail."""
    __tracebackhide__ = True
    shape = value.shape if isinstance(value, Value) else None
    should_be(shape is not None, value, name, "크기(모양)여야", "a shape",
              "가중치의 `.shape`를 그대로 담으세요.", "Store the weight's .shape as it is.")
    return shape


def assert_rank(value: Fact, rank: int, name: str) -> tuple:
    """Fail unless ``value`` is a shape with ``rank`` dimensions; return it."""
    __tracebackhide__ = True
    shape = shape_of(value, name)
    check(
        len(shape) == rank,
        f"`{name}` 변수의 차원 수가 맞지 않습니다(지금은 `{shape_text(shape)}`). 커널과 절편 중 어느 가중치의 `.shape`인지 확인하세요.",
        f"{name} has the wrong number of dimensions (found the shape {shape_text(shape)}). "
        "Check whose .shape it is: the kernel's or the bias's.",
    )
    return shape


def assert_shape(value: Fact, expected: tuple, name: str, hint_ko: str, hint_en: str) -> None:
    """Fail unless ``value`` is the shape ``expected``; the hint says where to look."""
    __tracebackhide__ = True
    shape = shape_of(value, name)
    check(
        shape == tuple(expected),
        f"`{name}` 변수의 모양이 맞지 않습니다(지금은 `{shape_text(shape)}`). {hint_ko}",
        f"{name} is not the right shape (found {shape_text(shape)}). {hint_en}",
    )
