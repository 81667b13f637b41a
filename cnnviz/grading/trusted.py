"""Scoring outside the student's kernel: the two nbgrader preprocessors around the jailed execution.

nbgrader's autograde chain (``nbgrader_config.py``) runs

1. ``PrepareJailRun``: the hidden tests are taken out of the test cells, so
   they never reach the kernel (not in ``In``, not on its file system), and a
   first cell makes every test cell's ``lesson.check`` hand its facts over;
2. the jailed execution (``cnnviz.grading.jail``);
3. ``TrustedChecks``: in the grader's own process, each test cell's facts are
   decoded as plain data, the step's visible and hidden checks run on them
   against references from the instructor's checkpoint, and the cell's
   outputs are replaced by the verdict. nbgrader's ``SaveAutoGrades`` then
   scores the cell from that alone: nothing the kernel printed, raised or
   hooked can earn or save a point.

The test cells get their full source (hidden tests included) back, so the
formgrader shows instructors what was checked.
"""

from __future__ import annotations

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from cnnviz import CHECKPOINT_NAME, fact_codec, lesson, lesson_steps, message_layout
from cnnviz.grading import reference

BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
# The grader's own first cell in the kernel; removed again before anything is saved.
PUBLISH_SOURCE = "from cnnviz import lesson as _cnnviz_lesson\n_cnnviz_lesson.publish_facts()"
GRADER_CELL = "cnnviz_grader_cell"
CAUGHT_BY = "cnnviz_caught_by"  # cell metadata: Verdict.stage, "visible" (Validate names it), "reference" or "hidden"
NO_FACTS = (  # (Korean, English)
    "채점기가 이 단계의 값을 읽지 못했습니다. 이 테스트 셀이 실행되지 않았거나(앞에서 커널이 멈춘 경우 등) "
    "채점에 쓰이는 코드를 건드렸을 수 있습니다. 커널을 다시 시작해 노트북 전체를 실행해 보세요.",
    "The grader could not read this step's values: this test cell did not run (the kernel stopped "
    "before it, for example), or the code grading relies on was changed. Restart the kernel and run "
    "the whole notebook.",
)


def strip_hidden_tests(source: str) -> str:
    """A test cell's source without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            if hidden:
                raise ValueError("nested BEGIN HIDDEN TESTS in a test cell")
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    if hidden:
        raise ValueError("BEGIN HIDDEN TESTS without END HIDDEN TESTS in a test cell")
    return "\n".join(kept)


def _grade_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code" and utils.is_grade(cell)]


class PrepareJailRun(NbGraderPreprocessor):
    """Before execution: hidden tests out of the test cells, and the cell that turns on handing facts over."""

    def preprocess(self, nb, resources):
        originals = {}
        for cell in _grade_cells(nb):
            originals[cell.metadata.nbgrader["grade_id"]] = cell.source
            cell.source = strip_hidden_tests(cell.source)
        first = nbformat.v4.new_code_cell(PUBLISH_SOURCE)
        first.metadata[GRADER_CELL] = True
        nb.cells.insert(0, first)
        resources.setdefault("cnnviz", {})["test_sources"] = originals
        return nb, resources


def read_facts(cell, grade_id: str) -> tuple[dict | None, str]:
    """The facts a test cell's kernel run handed over, decoded as plain data, or (None, why not)."""
    payloads = [output.get("data", {}).get(fact_codec.MIME_TYPE) for output in cell.get("outputs", [])
                if output.get("output_type") == "display_data"]
    payloads = [p for p in payloads if p is not None]
    if not payloads:
        return None, "no facts"
    try:
        step, found = fact_codec.decode(payloads[-1])
    except fact_codec.BadFacts as exc:
        return None, f"bad facts: {exc}"
    if step != grade_id:
        return None, f"facts of {step!r} in the cell of {grade_id!r}"
    return found, ""


def _error(ename: str, korean: str, english: str = ""):
    # A bilingual pair, or (without `english`) a message in one language. `evalue` keeps the one-line
    # message; the traceback is what the formgrader and the feedback show.
    evalue = message_layout.render(korean, english) if english else korean
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=message_layout.screen_lines(korean, english, prefix=f"{ename}: "))


class TrustedChecks(NbGraderPreprocessor):
    """After execution: score every test cell by the lesson's checks on its facts, in the grader's process."""

    checkpoint = Unicode(
        "",
        help="The checkpoint the references come from; default: the instructor's copy in "
             f"source/<assignment>/{CHECKPOINT_NAME}.",
    ).tag(config=True)

    def _checkpoint_path(self, resources) -> str:
        if self.checkpoint:
            return self.checkpoint
        node, coursedir = self, None
        # The converter that runs this chain knows the course; the preprocessor's parent is its exporter.
        while node is not None and coursedir is None:
            coursedir = getattr(node, "coursedir", None)
            node = getattr(node, "parent", None)
        if coursedir is None:
            from nbgrader.coursedir import CourseDirectory

            coursedir = CourseDirectory(config=self.config)
        assignment = resources["nbgrader"]["assignment"]
        return coursedir.format_path(coursedir.source_directory, ".", assignment) + "/" + CHECKPOINT_NAME

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if not cell.metadata.get(GRADER_CELL)]
        originals = resources.get("cnnviz", {}).get("test_sources", {})
        refs = reference.for_checkpoint(self._checkpoint_path(resources))
        earlier: dict[str, dict] = {}
        for cell in _grade_cells(nb):
            grade_id = cell.metadata.nbgrader["grade_id"]
            found, why = read_facts(cell, grade_id)
            cell.source = originals.get(grade_id, cell.source)
            cell.outputs = []
            if grade_id not in lesson_steps.STEPS:
                self.log.error("No trusted check for test cell %s: it scores 0 until cnnviz.lesson_steps has one", grade_id)
                cell.outputs.append(_error("GraderError", f"no trusted check for the test cell {grade_id}"))
                continue
            if found is None:
                self.log.info("%s: %s", grade_id, why)
                cell.outputs.append(_error("AssertionError", *NO_FACTS))
                continue
            earlier[grade_id] = found
            verdict = lesson.grade(grade_id, found, refs, earlier)
            if verdict.crashed:
                self.log.error("The check of %s crashed: %s", grade_id, verdict.message)
            if not verdict.passed:
                cell.outputs.append(_error("GraderError" if verdict.crashed else "AssertionError",
                                           verdict.korean, verdict.english))
                # For the course's own measurements: would Validate have named this mistake?
                cell.metadata[CAUGHT_BY] = verdict.stage
        return nb, resources
