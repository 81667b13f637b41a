"""Unit tests for cnnviz.check_failed: a failed check carries its (Korean, English) pair, and is shown
as its Korean lines, then its English lines, that fit nbgrader's Validate dialog."""

from __future__ import annotations

import copy
import re

import pytest

from check_messages import fails
from cnnviz import check_failed, message_layout


def test_fail_raises_one_bilingual_assertion():
    with pytest.raises(AssertionError) as info:
        check_failed.fail("값이 틀렸습니다.", "the value is wrong.")
    assert str(info.value) == "값이 틀렸습니다. / the value is wrong."
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_failure_carries_its_pair_until_it_is_rendered():
    with pytest.raises(check_failed.CheckFailed) as info:
        check_failed.fail("`a / b` 값이 틀렸습니다.", "the value of a / b is wrong.", reference=True)
    failure = info.value
    assert (failure.korean, failure.english, failure.reference) == ("`a / b` 값이 틀렸습니다.",
                                                                   "the value of a / b is wrong.", True)
    assert check_failed.halves(failure) == (failure.korean, failure.english), "a ' / ' in a half stays in it"
    assert str(failure) == message_layout.render(failure.korean, failure.english)
    again = copy.copy(failure)
    assert (again.korean, again.english, again.reference, str(again)) == (failure.korean, failure.english,
                                                                          True, str(failure))
    assert check_failed.halves(AssertionError("plain")) == ("plain", "")


def test_a_failure_is_shown_as_its_korean_lines_then_its_english_lines():
    with pytest.raises(check_failed.CheckFailed) as info:
        check_failed.fail("`a / b` 값이 틀렸습니다.", "the value is wrong.")
    lines = info.value._render_traceback_()
    assert lines == ["\x1b[0;31mAssertionError\x1b[0m: `a / b` 값이 틀렸습니다.", "the value is wrong."]
    assert message_layout.screen_lines("한 언어", prefix="X: ") == ["X: 한 언어"]
    assert (message_layout.text_screen_lines("가 / b", prefix="X: ")
            == message_layout.screen_lines("가", "b", prefix="X: "))


def test_check_passes_silently_when_true_and_fails_when_false():
    check_failed.check(True, "가", "a")
    fails(check_failed.check, False, "틀렸습니다.", "wrong.", match="^틀렸습니다. / wrong.$")


def test_a_failed_check_shows_korean_then_english_lines_that_fit_the_validate_dialog():
    ko = "[특성 맵 그림] `feature_fig_1` 그림의 패널마다 자기 값 범위로 그려야 하는데 모든 패널이 같은 색 범위를 씁니다. " \
         "`imshow()`에 `vmin`과 `vmax`를 주지 마세요."
    en = "[the feature-map grid] every panel of feature_fig_1 must use its own colour range, but they all share " \
         "one: give imshow() no vmin or vmax."
    with pytest.raises(AssertionError) as info:
        check_failed.fail(ko, en)
    lines = info.value._render_traceback_()
    assert lines[0].startswith("\x1b[0;31mAssertionError\x1b[0m: [특성 맵 그림]")
    plain = [re.sub("\x1b\\[[0-9;]*m", "", line) for line in lines]
    assert all(message_layout.screen_columns(line) <= message_layout.SCREEN_COLUMNS for line in plain), plain
    english_from = next(i for i, line in enumerate(plain) if line.startswith("[the feature-map grid]"))
    assert " ".join(plain[:english_from]) == f"AssertionError: {ko}"
    assert " ".join(plain[english_from:]) == en
    assert str(info.value) == f"{ko} / {en}"  # the grader and the catalogue read the one-line form
