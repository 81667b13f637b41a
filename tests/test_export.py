"""The per-step grade export (cnnviz.grading.export): one column per graded step, beside the total."""

import csv

import pytest

from cnnviz import lesson_steps
from cnnviz.course import classgrade, nbrun
from cnnviz.grading import export
from toycourse import submit_answer

pytestmark = pytest.mark.slow


def test_each_step_gets_its_own_named_column_with_points_and_the_total_follows(toy_course, tmp_path):
    submit_answer(toy_course, "alice", "x = 1", "y = 2")
    submit_answer(toy_course, "bob", "x = 1", "y = 3")
    assert all(o.ok for o in classgrade.autograde_class(toy_course, quiet=True))
    target = tmp_path / "by-step.csv"
    nbrun.run_nbgrader("export", "--exporter=cnnviz.grading.export.StepsCsvExport", f"--to={target}",
                       root=toy_course, quiet=True)

    with open(target, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_student = {row["student_id"]: row for row in rows}
    assert set(by_student) == {"alice", "bob"}
    assert float(by_student["alice"]["test_x (1)"]) == 1.0 and float(by_student["alice"]["test_y (1)"]) == 1.0
    assert float(by_student["bob"]["test_x (1)"]) == 1.0 and float(by_student["bob"]["test_y (1)"]) == 0.0
    assert float(by_student["bob"]["score"]) == 1.0 and float(by_student["bob"]["max_score"]) == 2.0


def test_a_lesson_step_is_named_by_its_title():
    step = lesson_steps.STEPS["test_feature_grid_2"]
    assert export.step_column("test_feature_grid_2", 5) == f"{step.title_en} (5)"
