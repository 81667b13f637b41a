"""A failed check: ``CheckFailed``, the ``AssertionError`` that carries its message as a (Korean, English) pair.

Every check of the course fails through :func:`fail` (or :func:`check`), in
the student's kernel (Validate) and in the grader's process (the score) alike;
the grader reads the pair back with :func:`halves`. The message is rendered
(``cnnviz.message_layout``) only where it is shown.
"""

from __future__ import annotations

from typing import NoReturn

from cnnviz.message_layout import render, screen_lines


class CheckFailed(AssertionError):
    """A failed check: an ``AssertionError`` that carries its message as a pair, Korean and English.

    ``str()`` is the one-line form ``korean / english`` that nbgrader and the
    catalogue read; IPython renders it through ``_render_traceback_``, so a
    student sees ``AssertionError: <message>`` laid out by ``message_layout.screen_lines``
    and none of the course's own frames, which only say where the check lives.
    """

    def __init__(self, korean: str, english: str, reference: bool = False):
        super().__init__(render(korean, english))
        self.korean, self.english = korean, english
        self.reference = reference  # see fail()

    def __reduce__(self):  # an exception is copied by its args: keep the pair
        return type(self), (self.korean, self.english, self.reference)

    def _render_traceback_(self) -> list[str]:
        lines = screen_lines(self.korean, self.english, prefix="AssertionError: ")
        lines[0] = "\x1b[0;31mAssertionError\x1b[0m" + lines[0][len("AssertionError"):]
        return lines


# The output's `ename` is the class name: keep the one students know.
CheckFailed.__name__ = CheckFailed.__qualname__ = "AssertionError"


def halves(failure: AssertionError) -> tuple[str, str]:
    """The (Korean, English) pair a failed check carries; any other AssertionError is one text, no English."""
    if isinstance(failure, CheckFailed):
        return failure.korean, failure.english
    return str(failure), ""


def fail(ko: str, en: str, *, reference: bool = False) -> NoReturn:
    """Raise the check's one bilingual message.

    ``reference``: the failure comes from a comparison with the grader's reference
    (``cnnviz.carry_forward.against_reference``), which no check in the student's kernel can make.
    """
    __tracebackhide__ = True
    # `from None`: a failure raised while handling another exception shows one message.
    raise CheckFailed(ko, en, reference) from None


def check(cond: bool, ko: str, en: str) -> None:
    """Fail with the message unless ``cond``."""
    __tracebackhide__ = True
    if not cond:
        fail(ko, en)
