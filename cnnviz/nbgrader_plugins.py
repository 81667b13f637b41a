"""The course's additions to nbgrader's preprocessors, named in ``nbgrader_config.py``.

Kept apart from ``cnnviz.pipeline`` so that only nbgrader itself imports nbgrader's
machinery; the course's commands stay quick to start.
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Enum

from . import checks, failures, guard, jail
from .notebooks import grade_id as grade_id_of
from .plaintext import terminal_safe


class ShortTracebacks(NbGraderPreprocessor):
    """Feedback shows each error as its message alone, ``Name: message``, wrapped to the page.

    IPython's tracebacks quote the lines of the failing cell, which in a test
    cell are the hidden tests' code; the message alone says what is wrong and
    where to look.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            # A graded cell's outputs are the grader's own (cnnviz.trusted.TrustedChecks), laid out
            # already from the message's (Korean, English) pair.
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                # Raised by the notebook's kernel: its message arrives as text.
                output["traceback"] = checks.text_screen_lines(str(output.get("evalue")),
                                                               prefix=f"{output.get('ename')}: ")
        return cell, resources


class JailedExecute(Execute):
    """nbgrader's Execute, with every kernel started in the grading jail (``cnnviz.jail``).

    nbgrader's ``Execute.__init__`` fixes ``kernel_manager_class`` before any
    configuration is read, so the jail is chosen here, in code. Its limits are
    ``c.JailedKernelManager.*`` in ``nbgrader_config.py``. The kernel is killed
    as soon as the last cell has run: a polite shutdown only costs time, and the
    jail's cgroup is emptied and removed either way.
    """

    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="How the kernel is stopped after the last cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", jail.kernel_manager_class())
        super().__init__(*args, **kwargs)

    # nbclient's synchronous setup_kernel calls these two (bound to its own async versions).
    def start_new_kernel(self, **kwargs):
        started = time.perf_counter()
        try:
            return super().start_new_kernel(**kwargs)
        finally:
            _TIMINGS["kernel_launch"] = time.perf_counter() - started
            # "template" when forked from the worker's warm template, else "jail" (a new bubblewrap).
            _TIMINGS["kernel_kind"] = getattr(self.km, "launched_from", "jail")

    def start_new_kernel_client(self):
        started = time.perf_counter()
        self._asked = True  # the kernel runs; what fails from here on is its first reply
        try:
            client = super().start_new_kernel_client()
            self._answered = True
            return client
        finally:
            _TIMINGS["kernel_ready"] = time.perf_counter() - started

    def preprocess_cell(self, cell, resources, index):
        self._cell = grade_id_of(cell) or f"#{index + 1}"  # for a failure's record
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources=None, km=None):
        started = time.perf_counter()
        self._asked, self._answered, self._cell = False, False, ""
        try:
            return super().preprocess(nb, resources, km)
        except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:
            # nbclient gives up on the whole notebook: say why as a record, by the exception's type
            # and where it came (a kernel that never answered its first request ran no student code).
            if isinstance(exc, CellTimeoutError):
                kind, reason = failures.TIMEOUT, failures.TIMEOUT_REASON
            elif self._asked and not self._answered:
                kind, reason, self._cell = failures.KERNEL_NEVER_ANSWERED, failures.KERNEL_NEVER_ANSWERED_REASON, ""
            elif isinstance(exc, DeadKernelError):
                kind, reason = failures.KERNEL_DIED, failures.KERNEL_DIED_REASON
            else:
                raise
            student = ((resources or {}).get("nbgrader") or {}).get("student") or ""
            failures.report(failures.Failure(kind, student, self._cell, reason))
            raise
        finally:
            _TIMINGS["execute"] = time.perf_counter() - started


# Where the last execution's time went (seconds), for the class grader's journal and the benchmark.
_TIMINGS: dict = {}


def pop_timings() -> dict:
    """The last jailed execution's timings in this process, then forgets them.

    Keys: ``kernel_launch`` (the kernel process started), ``kernel_ready`` (its
    first reply), ``execute`` (the whole execution, both of those and every
    cell included) and ``kernel_kind`` (how the kernel was made).
    """
    timings = dict(_TIMINGS)
    _TIMINGS.clear()
    return timings


class FlagForReview(NbGraderPreprocessor):
    """Flag a submission for an instructor's review when its own cells reach for the grader.

    Runs after ``SaveAutoGrades`` and changes no score: ``cnnviz.guard`` reads
    every cell the student wrote, and for each answer cell with flagged lines
    the gradebook gets a comment naming them (the formgrader shows it beside
    the cell) and the test cells of that step are marked "needs manual grade",
    so the submission shows up in the formgrader's list of work to review.
    """

    def preprocess(self, nb, resources):
        code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
        by_student = [not (utils.is_locked(cell) or utils.is_grade(cell)) for cell in code_cells]
        findings = guard.find_flagged_lines([cell.source for cell in code_cells], by_student)
        if not findings:
            return nb, resources
        info = resources["nbgrader"]
        self.log.warning("[review] %s: %d line(s) to review, first %s", terminal_safe(info["student"]), len(findings),
                         terminal_safe(findings[0].describe()))
        answer_of, tests_of, current = {}, {}, None
        for number, cell in enumerate(code_cells, start=1):
            if utils.is_solution(cell):
                current = cell.metadata["nbgrader"]["grade_id"]
            answer_of[number] = current
            if utils.is_grade(cell) and current is not None:
                tests_of.setdefault(current, []).append(cell.metadata["nbgrader"]["grade_id"])
        first_answer = next((a for a in answer_of.values() if a), None)
        by_answer = {}
        for finding in findings:
            # A line in a cell the student added belongs to the answer above it.
            by_answer.setdefault(answer_of.get(finding.cell) or first_answer, []).append(finding)
        with Gradebook(info["db_url"]) as gradebook:
            for answer, found in by_answer.items():
                if answer is None:
                    continue
                comment = gradebook.find_comment(answer, info["notebook"], info["assignment"], info["student"])
                comment.auto_comment = guard.message(found)
                for test in tests_of.get(answer, []):
                    grade = gradebook.find_grade(test, info["notebook"], info["assignment"], info["student"])
                    grade.needs_manual_grade = True  # the score itself stays as the checks gave it
            gradebook.db.commit()
        return nb, resources


class RestoreHiddenTests(OverwriteCells):
    """nbgrader's OverwriteCells, which puts back a test cell as released without one warning per cell.

    ``generate_assignment`` saves each test cell with its hidden tests in the
    gradebook and releases it without them (``ClearHiddenTests``), so every
    submitted test cell differs from its gradebook copy and nbgrader's
    OverwriteCells logs "Attribute 'checksum' for cell test_... has changed!"
    for each one, though nobody edited it. A cell that is exactly the release
    (the gradebook copy with its hidden tests cleared, by nbgrader's own
    preprocessor) gets its hidden tests back here, quietly; any other change to
    a read-only cell still gets nbgrader's warning and is overwritten by it.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.cell_type == "code":
            from nbgrader.api import MissingEntry

            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None
            if source is not None and source.locked and cell.source != source.source \
                    and cell.source == released_source(cell, source.source):
                cell.source = source.source
        return super().preprocess_cell(cell, resources, cell_index)


def released_source(cell, full_source: str) -> str:
    """What ``generate_assignment`` released of a cell whose gradebook source is ``full_source``."""
    import copy

    released = copy.deepcopy(cell)
    released.source = full_source
    released, _ = ClearHiddenTests().preprocess_cell(released, {}, 0)
    return released.source
