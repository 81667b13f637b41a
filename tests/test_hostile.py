"""Hostile submissions, graded the way a class is graded (parallel, sandboxed):
no points they did not earn, and nothing changed outside their own folder."""

import hashlib
import shutil
from pathlib import Path

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT, classgrade, data, grading

pytestmark = pytest.mark.slow

HOSTILE = COURSE_ROOT / "tests" / "submissions" / "hostile.toml"
ENTRIES = grading.load_catalogue(HOSTILE)


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    assert shutil.which("bwrap"), "the jail needs bubblewrap: apt-get install bubblewrap"
    course = grading.scratch_course(tmp_path_factory.mktemp("hostile"))
    release_nb = grading.read_notebook(course / "release" / ASSIGNMENT / grading.NOTEBOOK)
    source_nb = grading.read_notebook(course / "source" / ASSIGNMENT / grading.NOTEBOOK)
    solution = grading.load_catalogue()[0]
    assert solution.name == "solution"

    # An honest student graded first: the attacks must not touch their files or rows.
    grading.submit(course, "bystander", solution.notebook(release_nb, source_nb))
    classgrade.autograde_class(course, workers=1)
    before = {
        "source": fingerprint(course / "source"),
        "bystander submitted": fingerprint(course / "submitted" / "bystander"),
        "bystander autograded": fingerprint(course / "autograded" / "bystander"),
        "keras cache": fingerprint(data.keras_cache_dir()),
        "bystander grades": grading.read_scores(course)["bystander"],
    }
    for entry in ENTRIES:
        grading.submit(course, entry.name, entry.notebook(release_nb, source_nb))
    outcomes = classgrade.autograde_class(course, workers=2, students=[e.name for e in ENTRIES])
    return course, before, {o.student: o for o in outcomes}, grading.grade_points(source_nb)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_a_hostile_submission_earns_only_what_it_answered(graded_class, entry):
    course, _, outcomes, points = graded_class
    assert outcomes[entry.name].ok, f"{entry.name} was not graded: {outcomes[entry.name].message}"
    scores = grading.read_scores(course)[entry.name]
    expected = entry.expected_scores(points)
    wrong = {cell: (scores.get(cell), want) for cell, want in expected.items() if scores.get(cell) != want}
    assert not wrong, f"{entry.name} ({entry.mistake}): cells with (score, expected): {wrong}"


def test_flagged_submissions_say_why_in_every_graded_cell(graded_class):
    course = graded_class[0]
    for entry in ENTRIES:
        if entry.loses != "all":
            continue
        graded = grading.read_notebook(course / "autograded" / entry.name / ASSIGNMENT / grading.NOTEBOOK)
        messages = grading.failure_messages(graded)
        assert len(messages) == 20, f"{entry.name}: {len(messages)} graded cells carry a message, expected 20"
        assert all("changes the grading environment" in m for m in messages.values()), entry.name


def test_nothing_outside_the_attackers_folders_changed(graded_class):
    course, before, _, _ = graded_class
    assert fingerprint(course / "source") == before["source"], "source/ changed"
    assert fingerprint(course / "submitted" / "bystander") == before["bystander submitted"]
    assert fingerprint(course / "autograded" / "bystander") == before["bystander autograded"]
    assert fingerprint(data.keras_cache_dir()) == before["keras cache"], "Keras' Fashion-MNIST cache changed"
    assert grading.read_scores(course)["bystander"] == before["bystander grades"], "another student's grades changed"
    assert grading.read_scores(course)["bystander"] and sum(before["bystander grades"].values()) == 100


def test_the_hidden_tests_cannot_be_read_from_inside(graded_class):
    course = graded_class[0]
    graded = grading.read_notebook(course / "autograded" / "reads-the-hidden-tests" / ASSIGNMENT / grading.NOTEBOOK)
    answer = next(c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "first_conv")
    printed = "".join(o.get("text", "") for o in answer.outputs)
    assert "found 0 source files" in printed, printed[:500]
    assert "HIDDEN TESTS" not in printed and "reference." not in printed, "the student's cell printed test code"
