"""FlagForReview, an nbgrader preprocessor of autograding (after ``SaveAutoGrades``)."""

from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading import guard
from cnnviz.grading.plaintext import terminal_safe


class FlagForReview(NbGraderPreprocessor):
    """Flag a submission for an instructor's review when its own cells reach for the grader.

    Runs after ``SaveAutoGrades`` and changes no score: ``cnnviz.grading.guard`` reads
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
