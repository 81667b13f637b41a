"""Korean particles: the particle a word takes, chosen by its last sound, attached to it.

A message that names a value it does not know in advance ("the first
training image", "the kernel size") cannot spell its particle out: "이미지와"
but "배열과". :func:`particle` chooses it the way a Korean writer does.
"""

from __future__ import annotations


def particle(word: str, pair: str) -> str:
    """``word`` with the Korean particle of ``pair`` ("이/가", "을/를", "과/와", "은/는", "으로/로") its last sound takes."""
    with_final, without_final = pair.split("/")
    word = word.rstrip()  # a particle is attached to its word, never after a space
    last = word[-1:] or "가"
    code = ord(last) - 0xAC00
    if 0 <= code < 11172:
        final = code % 28
    else:  # a digit or a letter: read as Korean numbers are read
        final = {"0": 21, "1": 8, "3": 16, "6": 1, "7": 8, "8": 8}.get(last, 0)
    if pair == "으로/로":
        return word + ("로" if final in (0, 8) else "으로")
    return word + (with_final if final else without_final)
