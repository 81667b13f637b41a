"""The submission catalogue measures the grading: every entry must get exactly the scores it deserves.

``tests/submissions/catalogue.toml`` holds the instructor's solution, right
submissions written in other idioms, and realistic wrong ones, each with the
graded cells it must lose. The slow tests autograde all of them with nbgrader
in one run and compare cell by cell; the fast tests check the catalogue itself.

Scores follow the rule of error carried forward (cnnviz.lesson): a mistake
costs the step where it was made, not the later steps that used its result.
"""

from __future__ import annotations

import ast
import re

import pytest

from cnnviz.course import catalogue, pipeline, spotcheck
from cnnviz.course.notebooks import answer_cells, grade_points, read_notebook, solution_answers

HANGUL = re.compile("[\uac00-\ud7a3]")
MIN_WRONG, MIN_RIGHT = 15, 8
# Share of wrong submissions whose mistake the student's own Validate already names.
MIN_VALIDATE_SHARE = 1.0  # issue 19: every mistake the catalogue holds is visibly checkable

CATALOGUE = catalogue.load_catalogue()
WRONG = [entry for entry in CATALOGUE if entry.kind == "wrong"]
RIGHT = [entry for entry in CATALOGUE if entry.kind == "right"]


# --------------------------------------------------------------------------- helpers


def assigned_names(source: str) -> set[str]:
    """The variables a cell assigns at top level (``a = ...``, ``a, b = ...``, ``a += ...``)."""

    def names(target) -> set[str]:
        if isinstance(target, ast.Name):
            return {target.id}
        if isinstance(target, (ast.Tuple, ast.List)):
            return set().union(*(names(t) for t in target.elts))
        if isinstance(target, ast.Starred):
            return names(target.value)
        return set()  # attributes and subscripts assign no new variable

    found = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                found |= names(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            found |= names(node.target)
    return found


def blank_cells(entry, release_nb) -> list[str]:
    return list(answer_cells(release_nb)) if entry.blank == "all" else list(entry.blank)


def differing_cells(entry, result, points) -> str:
    """The cells whose score differs from the expected one, with their failure messages."""
    expected = entry.expected_scores(points)
    lines = []
    for grade_id, want in expected.items():
        got = result["scores"].get(grade_id, 0.0)
        if got != want:
            message = result["messages"].get(grade_id) or (
                "(the cell passed)" if got > want else "(no error recorded in the autograded notebook)")
            lines.append(f"  {grade_id}: got {got:g}, expected {want:g} -- {message}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def notebooks():
    """The committed release and source notebooks (the release generated if not there yet)."""
    where = pipeline.paths()
    if not where["release"].is_file():
        pipeline.generate_release()
    return read_notebook(where["release"]), read_notebook(where["source"])


@pytest.fixture(scope="module")
def points(notebooks):
    return grade_points(notebooks[1])


@pytest.fixture(scope="module")
def graded(notebooks):
    """Every catalogue entry autograded by nbgrader, all in one run."""
    release_nb, source_nb = notebooks
    return spotcheck.grade_submissions({entry.name: entry.notebook(release_nb, source_nb) for entry in CATALOGUE})


# --------------------------------------------------------------------------- the catalogue itself (fast)


def test_the_catalogue_holds_enough_wrong_and_right_submissions():
    assert len(WRONG) >= MIN_WRONG, f"only {len(WRONG)} wrong submissions, want {MIN_WRONG}"
    assert len(RIGHT) >= MIN_RIGHT + 1, f"only {len(RIGHT) - 1} right submissions besides the solution"
    assert {entry.kind for entry in CATALOGUE} <= {"right", "wrong"}
    assert {"solution", "untouched-release"} <= {entry.name for entry in CATALOGUE}


def test_the_demo_class_is_every_demo_entry_and_comes_from_the_package_alone():
    """`make demo` reads cnnviz/course/demo_class.toml only: an entry marked for it in tests/ would be left out."""
    from_tests = catalogue.read_submissions(catalogue.CATALOGUE)
    assert [entry.name for entry in from_tests if entry.demo] == [], \
        "move the demo = true entries of tests/submissions/catalogue.toml to cnnviz/course/demo_class.toml"
    assert [entry.name for entry in catalogue.demo_class()] == [entry.name for entry in CATALOGUE if entry.demo]


def test_submission_names_are_unique():
    names = [entry.name for entry in CATALOGUE]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_every_submission_says_in_one_line_what_it_does():
    assert [entry.name for entry in CATALOGUE if not entry.mistake.strip() or "\n" in entry.mistake] == []


def test_every_cell_the_catalogue_names_exists_in_the_notebook(notebooks, points):
    release_nb, _ = notebooks
    answer_ids = set(answer_cells(release_nb))
    unknown = []
    for entry in CATALOGUE:
        unknown += [f"{entry.name}: loses {g}" for g in entry.loses if g not in points]
        unknown += [f"{entry.name}: answers {g}" for g in entry.answers if g not in answer_ids]
        if entry.blank != "all":
            unknown += [f"{entry.name}: blank {g}" for g in entry.blank if g not in answer_ids]
    assert unknown == []


def test_every_catalogue_answer_is_python_that_parses():
    """An answer that does not parse would lose its points for a typo in the catalogue, not for its mistake."""
    from IPython.core.inputtransformer2 import TransformerManager

    broken = []
    for entry in CATALOGUE:
        for grade_id, source in entry.answers.items():
            try:
                ast.parse(TransformerManager().transform_cell(source))
            except SyntaxError as exc:
                broken.append(f"{entry.name}: {grade_id}: {exc.msg} (line {exc.lineno})")
    assert broken == []


def test_right_submissions_lose_nothing_and_wrong_ones_lose_something():
    assert [entry.name for entry in RIGHT if entry.loses] == []
    assert [entry.name for entry in WRONG if not entry.loses] == []


def test_every_submission_but_the_solution_differs_from_the_solution(notebooks):
    release_nb, source_nb = notebooks

    def sources(nb):
        return {g: cell.source for g, cell in answer_cells(nb).items()}

    solution = sources(catalogue.Submission("solution", "right", "").notebook(release_nb, source_nb))
    same = [entry.name for entry in CATALOGUE if entry.name != "solution"
            and sources(entry.notebook(release_nb, source_nb)) == solution]
    assert same == []


# --------------------------------------------------------------------------- graded by nbgrader (slow)


@pytest.mark.slow
@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.name)
def test_each_submission_gets_exactly_the_scores_it_deserves(entry, graded, points):
    result = graded[entry.name]
    differ = differing_cells(entry, result, points)
    assert not differ, f"{entry.name} ({entry.mistake}) is graded wrongly:\n{differ}"


@pytest.mark.slow
def test_the_solution_scores_full_marks_and_the_untouched_release_nothing(graded, points):
    total = sum(points.values())
    assert total == 100
    assert sum(graded["solution"]["scores"].get(g, 0.0) for g in points) == total
    assert sum(graded["untouched-release"]["scores"].get(g, 0.0) for g in points) == 0


@pytest.mark.slow
@pytest.mark.parametrize("entry", WRONG, ids=lambda entry: entry.name)
def test_every_failed_check_is_a_course_message_in_korean_and_english(entry, graded):
    # A crash of a check (TypeError, GraderError, ...) would otherwise pass unnoticed as a lost point.
    messages = graded[entry.name]["messages"]
    not_course = {g: m[:200] for g, m in messages.items()
                  if not m.startswith("AssertionError: ") or not (" / " in m and HANGUL.search(m.split(" / ")[0]))}
    assert not_course == {}


@pytest.mark.slow
def test_validate_already_names_most_mistakes(graded):
    flagged = [entry.name for entry in WRONG if "visible" in graded[entry.name]["caught_by"].values()]
    share = len(flagged) / len(WRONG)
    missed = sorted({entry.name for entry in WRONG} - set(flagged))
    steps = [how for entry in WRONG for how in graded[entry.name]["caught_by"].values()]
    print(f"Validate names the mistake of {len(flagged)} of {len(WRONG)} wrong submissions ({share:.0%}); "
          f"of the {len(steps)} steps they lose, Validate fails {steps.count('visible')}, only the reference "
          f"{steps.count('reference')}, neither {steps.count('hidden')}; missed: {missed}")
    assert share >= MIN_VALIDATE_SHARE, f"Validate names only {share:.0%} of the mistakes; it misses {missed}"
    # The README walks the instructor through `make demo`'s mistakes: Validate names every one of them.
    demo_missed = [entry.name for entry in WRONG if entry.demo and entry.name in missed]
    assert not demo_missed, f"Validate says Success! to the demo mistakes {demo_missed}"


@pytest.mark.slow
@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda entry: entry.name)
def test_validate_and_the_grade_agree_on_every_visibly_checkable_step(entry, graded):
    """Every step the grade fails is failed by Validate too, unless only the grader's reference can tell
    (``carry_forward.against_reference``); a right idiom fails neither (no false alarm)."""
    result = graded[entry.name]
    caught = result["caught_by"]
    missed = {g: result["messages"].get(g, "")[:300] for g, how in caught.items() if how == "hidden"}
    assert missed == {}, f"{entry.name}: the grade fails steps that Validate passes: {missed}"
    if entry.kind == "right":
        assert caught == {}, f"{entry.name}, a right idiom, fails {caught}"
    print(f"{entry.name}: " + ", ".join(f"{g} {how}" for g, how in sorted(caught.items())))


@pytest.mark.slow
@pytest.mark.parametrize("entry", [entry for entry in CATALOGUE if entry.blank], ids=lambda entry: entry.name)
def test_a_step_left_undone_is_reported_by_its_missing_variable(entry, graded, notebooks):
    release_nb, source_nb = notebooks
    solution = solution_answers(source_nb)
    messages = graded[entry.name]["messages"]
    silent = []
    for grade_id in blank_cells(entry, release_nb):
        test_cell = f"test_{grade_id}"
        message = messages.get(test_cell, "")
        names = assigned_names(solution[grade_id])
        if "not defined" not in message or not any(re.search(rf"\b{n}\b", message) for n in names):
            silent.append(f"{test_cell}: {message or '(passed)'} -- should name one of {sorted(names)}")
    assert silent == []
