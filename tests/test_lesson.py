"""Unit tests for cnnviz.lesson: running the steps, in the kernel (check, check_hidden, handing facts over,
the passing line) and in the grader (grade, a check that breaks reported as such).

The right answers are the source notebook's own (tests/lesson_solution.py).
"""

from __future__ import annotations

import pytest

from cnnviz import fact_codec, lesson, lesson_steps, message_layout
from cnnviz.grading import reference
from lesson_solution import (  # noqa: F401 - fixtures
    CHECKPOINT_NAME, SOURCE_DIR, _close_figures, bilingual, found_for, mistakes, solution)


# --------------------------------------------------------------------------- the instructor's own runs


def test_the_instructors_hidden_checks_pass_on_the_solution(solution, monkeypatch):
    monkeypatch.chdir(SOURCE_DIR)  # check_hidden reads the checkpoint beside the notebook
    for grade_id in lesson_steps.STEPS:
        lesson.check(grade_id, solution)
        lesson.check_hidden(grade_id, solution)


# --------------------------------------------------------------------------- the grader


def test_a_check_that_itself_breaks_is_reported_as_crashed(solution):
    verdict = lesson.grade("test_load_model", found_for("test_load_model", solution), None, {})
    assert not verdict.passed and verdict.crashed
    assert "AttributeError" in verdict.message
    bilingual(verdict.message)


# --------------------------------------------------------------------------- handing facts to the grader


def test_check_hands_its_facts_over_even_when_the_visible_check_fails(solution, mistakes, monkeypatch):
    import IPython.display

    published = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kwargs: published.append(data))
    monkeypatch.setattr(lesson, "_publishing", False)
    lesson.check("test_conv_stats", solution)
    assert published == []  # Validate and the student's own runs hand nothing over
    lesson.publish_facts()
    changes, _ = mistakes["test_kernel_grid"]
    with pytest.raises(AssertionError):
        lesson.check("test_kernel_grid", {**solution, **changes})
    (data,) = published
    step, found = fact_codec.decode(data[fact_codec.MIME_TYPE])
    assert step == "test_kernel_grid" and set(found) == set(lesson_steps.STEPS["test_kernel_grid"].names)
    assert not lesson.grade(step, found, reference.for_checkpoint(SOURCE_DIR / CHECKPOINT_NAME), {}).passed


def test_a_passing_test_cell_says_so_in_one_short_bilingual_line(solution, capsys):
    lesson.check("test_load_model", solution)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [lesson.PASSED]
    korean, english = bilingual(lesson.PASSED)
    assert len(message_layout.wrap(lesson.PASSED)) == 1, "the passing line must fit one line of the Validate dialog"


def test_a_failing_test_cell_prints_no_passing_line(solution, mistakes, capsys):
    changes, _ = mistakes["test_first_conv"]
    with pytest.raises(AssertionError):
        lesson.check("test_first_conv", {**solution, **changes})
    assert lesson.PASSED not in capsys.readouterr().out
