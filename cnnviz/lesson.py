"""Running the lesson's steps: what a notebook's test cell calls, and what the grader calls.

The notebook's test cells run ``from cnnviz import lesson`` and

- ``lesson.check(grade_id, globals())``: the step's visible checks
  (``cnnviz.lesson_steps``), in the student's kernel, when the cell runs or
  Validate is pressed; when grading, it also hands the step's facts to the
  grader (``publish_facts``, which the grader runs first);
- ``lesson.check_hidden(grade_id, globals())``: the step's hidden checks, in
  the instructor's own runs of the source notebook only. When grading, the
  test cells' hidden parts never reach the kernel.

The grader runs ``lesson.grade`` (visible and hidden checks) on the facts in
its own process (``cnnviz.grading.trusted``) and gets a ``Verdict``.

The kernel's state lives here: whether facts are handed over, and each
step's facts as it last ran (the earlier values a later step is judged on).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from cnnviz import CHECKPOINT_NAME, fact_codec, introspect, lesson_steps
from cnnviz.check_failed import fail, halves
from cnnviz.facts import Fact
from cnnviz.message_layout import render
from cnnviz.step_registry import Step

_publishing = False
_history: dict[str, dict[str, Fact]] = {}


def publish_facts() -> None:
    """Make every later ``check`` hand its facts to the grader (the grader runs this first)."""
    global _publishing
    _publishing = True


def _publish(grade_id: str, found: dict) -> None:
    from IPython.display import publish_display_data

    publish_display_data({fact_codec.MIME_TYPE: fact_codec.encode(grade_id, found)})


@contextmanager
def _in_step(step: Step):
    """A failure of ``step``'s checks, with the step's name in front of each half of the message."""
    __tracebackhide__ = True
    try:
        yield
    except AssertionError as exc:
        ko, en = halves(exc)
        fail(f"[{step.title_ko}] {ko}", f"[{step.title_en}] {en}", reference=getattr(exc, "reference", False))


def check(grade_id: str, namespace: dict) -> None:
    """A test cell's visible checks, run in the notebook on its own variables (``globals()``)."""
    __tracebackhide__ = True
    step = lesson_steps.STEPS[grade_id]
    found = introspect.extract(namespace, step.names)
    _history[grade_id] = found
    if _publishing:
        _publish(grade_id, found)
    with _in_step(step):
        step.visible(found)
    # A passed test cell says so, so that a student can tell it from a cell that never ran.
    print(PASSED)


# The line a test cell prints when its visible checks pass (grading adds the hidden ones).
PASSED = "이 단계의 검사를 통과했습니다. / This step's checks pass."


def check_hidden(grade_id: str, namespace: dict) -> None:
    """A test cell's hidden checks, for the instructor's own runs of the source notebook.

    When grading, these lines never reach the student's kernel: the grader
    runs the same checks on the facts ``check`` handed over.
    """
    __tracebackhide__ = True
    from cnnviz.grading import reference

    step = lesson_steps.STEPS[grade_id]
    found = introspect.extract(namespace, step.names)
    with _in_step(step):
        step.hidden(found, reference.for_checkpoint(CHECKPOINT_NAME), _history)


@dataclass(frozen=True)
class Verdict:
    """The grader's verdict on one step: passed, or the message to show, as its (Korean, English) pair."""

    passed: bool
    korean: str = ""
    english: str = ""
    # "visible": Validate names this mistake too; "reference": only a comparison with the grader's
    # reference names it (no visible twin can, see carry_forward.against_reference); "hidden": a
    # hidden check on the student's own values that Validate missed (the catalogue test fails on it).
    stage: str = ""
    crashed: bool = False  # the check itself failed (a bug in the course, not in the answer)

    @property
    def message(self) -> str:
        """The message in its one-line form (``message_layout.render``), "" when passed."""
        return "" if self.passed else render(self.korean, self.english)


def grade(grade_id: str, found: dict[str, Fact], refs, earlier: dict[str, dict[str, Fact]]) -> Verdict:
    """Run a step's visible and hidden checks on facts; never raises for a bad answer."""
    step = lesson_steps.STEPS[grade_id]
    stage = "visible"
    try:
        with _in_step(step):
            step.visible(found)
            stage = "hidden"
            step.hidden(found, refs, earlier)
    except AssertionError as exc:
        return Verdict(False, *halves(exc), "reference" if getattr(exc, "reference", False) else stage)
    except Exception as exc:  # a defect of the check, reported as such
        return Verdict(False, "채점 검사가 오류로 멈췄습니다. 강사에게 알려 주세요.",
                       f"The check itself failed ({type(exc).__name__}: {str(exc)[:200]}); please tell your instructor.",
                       stage, True)
    return Verdict(True)
