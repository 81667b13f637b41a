"""Unit tests for cnnviz.step_registry: a step enters its table once, under its grade_id, with what it reads."""

from __future__ import annotations

import pytest

from cnnviz import lesson_steps
from cnnviz.step_registry import Step, registrar


def _visible(found):
    pass


def _hidden(found, refs, earlier):
    pass


def test_a_registered_step_keeps_its_titles_names_and_checks_in_the_order_entered():
    table: dict[str, Step] = {}
    step = registrar(table)
    pair = (_visible, _hidden)
    assert step("test_b", "둘째", "the second", "x", "y")(pair) is pair  # the decorator hands the pair back
    step("test_a", "첫째", "the first", "z")((_hidden, _visible))
    assert list(table) == ["test_b", "test_a"]  # the notebook's order, not the alphabet's
    assert table["test_b"] == Step("test_b", "둘째", "the second", ("x", "y"), _visible, _hidden)
    assert table["test_a"].visible is _hidden and table["test_a"].names == ("z",)


def test_a_grade_id_is_registered_once():
    table: dict[str, Step] = {}
    step = registrar(table)
    step("test_a", "첫째", "the first", "x")((_visible, _hidden))
    with pytest.raises(ValueError, match="'test_a'"):
        step("test_a", "다른 단계", "another step", "y")((_hidden, _visible))
    assert table["test_a"].title_en == "the first", "the first registration stays"


def test_tables_are_apart():
    first, second = {}, {}
    registrar(first)("test_a", "첫째", "the first")((_visible, _hidden))
    assert first and not second


def test_the_lesson_registers_its_steps_as_steps_of_this_registry():
    assert lesson_steps.STEPS and all(isinstance(step, Step) for step in lesson_steps.STEPS.values())
