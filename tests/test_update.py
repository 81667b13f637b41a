"""Changing the assignment mid-course (cnnviz/course/update.py): what changed, and the whole update on a toy class."""

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnnviz import ASSIGNMENT, CourseError, settings
from cnnviz.course import classgrade, update
from cnnviz.course.update import Change, compare
from nbcells import nbgrader_cell


def cells(**kinds):
    """``name=(kind, points, source)`` -> the shape ``update.release_cells`` returns."""
    return {name: {"kind": kind, "points": float(points), "source": source}
            for name, (kind, points, source) in kinds.items()}


OLD = cells(intro=("locked", 0, "# Intro"), answer=("answer", 0, "x = ..."), test_x=("test", 1, "assert x == 1"))


def test_an_unchanged_release_changes_nothing():
    change = compare(OLD, dict(OLD))
    assert not change.regrade and change.describe() == "no graded cell changed"


def test_points_and_an_edited_test_regrade_without_changing_the_cells():
    new = {**OLD, "test_x": {"kind": "test", "points": 3.0, "source": "assert x == 1, 'x'"}}
    change = compare(OLD, new)
    assert change.points == {"test_x": (1.0, 3.0)} and change.edited == ["test_x"]
    assert change.regrade and not change.structural
    assert change.describe() == "points test_x 1→3; edited test_x"


def test_an_added_or_removed_test_cell_is_a_structural_change():
    added = compare(OLD, {**OLD, **cells(test_y=("test", 2, "assert y"))})
    assert added.added == ["test_y"] and added.structural
    removed = compare(OLD, {k: v for k, v in OLD.items() if k != "test_x"})
    assert removed.removed == ["test_x"] and removed.structural
    read_only = compare({**OLD, **cells(note=("locked", 0, "# Note"))}, OLD)
    assert read_only.structural and read_only.describe() == "read-only cells added or removed"


def test_a_cell_without_a_grade_id_is_named_as_the_problem():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False}
    with pytest.raises(CourseError, match="grade_id"):
        update.release_cells(nb)


# --------------------------------------------------------------------------- a toy class

def edit_source(course, edit):
    path = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(path, as_version=4)
    edit(nb)
    nbformat.write(nb, path)


def scores(course):
    with Gradebook(settings.db_url(course)) as gradebook:
        return {(grade.student.id, grade.name): (grade.score, grade.max_score)
                for submission in gradebook.find_assignment(ASSIGNMENT).submissions
                for notebook in submission.notebooks for grade in notebook.grades}


@pytest.mark.slow
def test_a_test_added_mid_course_regrades_everyone_and_keeps_manual_grades(toy_course):
    from toycourse import submit_answer

    submit_answer(toy_course, "kim", "x = 1")
    submit_answer(toy_course, "lee", "x = 5")
    classgrade.autograde_class(toy_course, workers=2)
    with Gradebook(settings.db_url(toy_course)) as gradebook:
        grade = gradebook.find_grade("test_x", f"{ASSIGNMENT}", ASSIGNMENT, "lee")
        grade.manual_score = 0.5
        gradebook.find_comment("answer", ASSIGNMENT, ASSIGNMENT, "lee").manual_comment = "close"
        gradebook.db.commit()

    # A new test after answer_y (its submissions were made before it existed), and test_y worth 3.
    def add_test(nb):
        nb.cells.append(nbgrader_cell("test", "test_xy", '"""x + y."""\nassert x + y == 3, "x + y"', points=2))
        nb.cells[3].metadata["nbgrader"]["points"] = 3
    edit_source(toy_course, add_test)
    line = update.update_assignment(toy_course, workers=2, solutions=False)

    assert "\n" not in line and "added test_xy" in line and "points test_y 1→3" in line
    assert "2 students regraded" in line and "2 kept, 0 dropped" in line
    after = scores(toy_course)
    assert after[("kim", "test_xy")] == (2.0, 2.0) and after[("kim", "test_y")] == (3.0, 3.0)
    assert after[("lee", "test_xy")] == (0.0, 2.0), "lee's x + y is not 3: the new test must fail"
    assert after[("lee", "test_x")] == (0.5, 1.0), "the manual grade must survive the update"
    with Gradebook(settings.db_url(toy_course)) as gradebook:
        assert gradebook.find_comment("answer", ASSIGNMENT, ASSIGNMENT, "lee").manual_comment == "close"
    release = nbformat.read(toy_course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert any(c.metadata.get("nbgrader", {}).get("grade_id") == "test_xy" for c in release.cells)

    # Reverting the edit: a submission of the newer release (with test_xy) is graded, not
    # stopped by nbgrader's KeyError on a cell the gradebook no longer has.
    submit_answer(toy_course, "park", "x = 1")
    edit_source(toy_course, lambda nb: nb.cells.pop())
    line = update.update_assignment(toy_course, workers=2, solutions=False)
    assert "removed test_xy" in line and "3 students regraded" in line, line
    after = scores(toy_course)
    assert ("park", "test_xy") not in after and after[("park", "test_x")] == (1.0, 1.0)


@pytest.mark.slow
def test_a_submission_without_a_task_added_since_is_refused_in_one_line(toy_course, capsys):
    from toycourse import submit_answer

    submit_answer(toy_course, "kim", "x = 1")
    classgrade.autograde_class(toy_course, workers=1)

    def add_task(nb):
        nb.cells.append(nbgrader_cell("answer", "answer_z", "### BEGIN SOLUTION\nz = 3\n### END SOLUTION"))
        nb.cells.append(nbgrader_cell("test", "test_z", 'assert z == 3, "z"', points=1))
    edit_source(toy_course, add_task)
    line = update.update_assignment(toy_course, workers=1, solutions=False)

    assert "added answer_z, test_z" in line and "1 not graded (kim)" in line
    printed = capsys.readouterr().out
    refusal = next(row for row in printed.splitlines() if row.startswith("[autograde] kim: not graded"))
    assert "another release" in refusal and "answer_z" in refusal


def test_an_update_of_a_course_that_never_released_says_so(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    with pytest.raises(CourseError, match="no notebook"):
        update.update_assignment(course)


def test_change_describes_each_kind_once():
    change = Change(added=["a"], removed=["b"], points={"c": (1.0, 2.0)}, edited=["d"])
    assert change.describe() == "added a; removed b; points c 1→2; edited d"


@pytest.mark.slow  # two nbgrader runs, about 20 s
def test_a_source_that_does_not_release_is_refused_before_anything_changes(toy_course):
    """The new release is tried in a scratch course first: nbgrader's refusal, in one error, and the
    course's own release stays as it was."""
    released = toy_course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    before = released.read_bytes()
    edit_source(toy_course, lambda nb: setattr(nb.cells[0], "source", "### BEGIN SOLUTION\nx = 1\n"))
    with pytest.raises(CourseError, match=f"the new source of {ASSIGNMENT} does not release, so nothing was changed"):
        update._try_release(toy_course, ASSIGNMENT)
    assert released.read_bytes() == before


@pytest.fixture
def released_course(tmp_path, gradebook_url, monkeypatch):
    """A course whose gradebook knows the toy release and holds kim's manual grade on test_x."""
    from toycourse import toy_source_notebook

    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(toy_source_notebook(), course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    monkeypatch.setenv("NBGRADER_DB_URL", gradebook_url)
    with Gradebook(gradebook_url) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_notebook(ASSIGNMENT, ASSIGNMENT)
        gradebook.add_solution_cell("answer", ASSIGNMENT, ASSIGNMENT)
        gradebook.add_grade_cell("test_x", ASSIGNMENT, ASSIGNMENT, max_score=1.0, cell_type="code")
        gradebook.add_student("kim")
        gradebook.add_submission(ASSIGNMENT, "kim")
        gradebook.find_grade("test_x", ASSIGNMENT, ASSIGNMENT, "kim").manual_score = 0.5
        gradebook.db.commit()
    monkeypatch.setattr(update, "_try_release", lambda root, assignment: None)  # nbgrader's own run: slow tests
    return course


def test_an_update_stopped_half_way_names_its_backup_and_how_to_resume(released_course, monkeypatch):
    def broken(*args):
        raise CourseError("`nbgrader generate_assignment` failed")
    monkeypatch.setattr(update, "_apply", broken)
    with pytest.raises(CourseError) as stopped:
        update.update_assignment(released_course)
    backup = next((released_course / "backups").glob("*.json"))
    assert f"--restore {backup}" in str(stopped.value)
    saved = json.loads(backup.read_text(encoding="utf-8"))["manual_work"]
    assert {"student": "kim", "notebook": ASSIGNMENT, "cell": "test_x", "manual_score": 0.5,
            "extra_credit": None} in saved


def test_restore_puts_back_the_manual_work_of_a_backup(released_course, monkeypatch):
    backup = released_course / "old.json"
    backup.write_text(json.dumps({"manual_work": [{"student": "kim", "notebook": ASSIGNMENT, "cell": "answer",
                                                   "manual_comment": "see me"}]}), encoding="utf-8")
    seen = []

    def apply(root, assignment, url, changes, graded, saved, *rest):
        seen.extend(saved)
        return [], [], [], len(saved), 0
    monkeypatch.setattr(update, "_apply", apply)
    update.update_assignment(released_course, restore=backup)
    # The backup's rows first, the gradebook's own after them (they win where both name a cell).
    assert seen[0]["manual_comment"] == "see me" and seen[-1]["manual_score"] == 0.5


def test_a_restore_file_that_is_not_a_backup_is_one_clear_error(released_course, tmp_path):
    (tmp_path / "grades.csv").write_text("student,score\n")
    with pytest.raises(CourseError, match="not a backup"):
        update.update_assignment(released_course, restore=tmp_path / "grades.csv")
