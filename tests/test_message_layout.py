"""Unit tests for cnnviz.message_layout: a message's screen columns and its lines, wrapped for the Validate dialog."""

from __future__ import annotations

from cnnviz import message_layout


def test_screen_columns_count_a_hangul_syllable_as_two():
    assert message_layout.screen_columns("abc") == 3
    assert message_layout.screen_columns("가중치") == 6
    assert message_layout.screen_columns("`conv`의 커널") == 13  # 6 + 2 + 1 + 4


def test_wrap_keeps_every_word_in_order_within_the_width():
    text = "합성곱 층의 가중치를 " * 12 + "the first layer's kernel " * 6
    lines = message_layout.wrap(text, columns=30)
    assert len(lines) > 1
    assert " ".join(lines) == " ".join(text.split())
    assert all(message_layout.screen_columns(line) <= 30 for line in lines), lines


def test_wrap_gives_a_word_longer_than_a_line_a_line_of_its_own():
    long_word = "no_training_kernel_fig.axes[0].images"
    assert message_layout.wrap(f"see {long_word} here", columns=10) == ["see", long_word, "here"]
