"""Unit tests for cnnviz.grading.trusted: the preprocessors around the jailed run, on in-memory notebooks.

As nbgrader tests its own preprocessors: a notebook is built with nbgrader's
cell metadata, run through the preprocessor, and the cells are inspected. The
kernel's part is played by hand: a test cell gets the outputs a kernel would
leave (the facts display, plus whatever an attacker prints or raises), and
nbgrader's own ``determine_grade`` says what the cell would score.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader.tests import create_grade_cell, create_solution_cell
from nbgrader.utils import determine_grade
from traitlets.config import Config

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, CourseError, fact_codec, introspect, lesson, lesson_steps, message_layout
from cnnviz.grading import reference, trusted
from cnnviz.course.notebooks import grade_id as grade_id_of
from samefacts import same

CHECKPOINT = COURSE_ROOT / "source" / ASSIGNMENT / CHECKPOINT_NAME
HANGUL = re.compile("[\uac00-\ud7a3]")


def graded_source(grade_id: str) -> str:
    return (f'"""What {grade_id} checks."""\nfrom cnnviz import lesson\nlesson.check("{grade_id}", globals())\n'
            f'### BEGIN HIDDEN TESTS\nlesson.check_hidden("{grade_id}", globals())\n### END HIDDEN TESTS')


def graded_cell(grade_id: str, points: int = 5):
    return create_grade_cell(graded_source(grade_id), "code", grade_id, points)


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


RESOURCES = {"nbgrader": {"assignment": ASSIGNMENT, "notebook": ASSIGNMENT}}


@pytest.fixture(scope="module")
def refs():
    return reference.for_checkpoint(CHECKPOINT)


def facts_output(grade_id: str, found: dict):
    return nbformat.v4.new_output("display_data", data={fact_codec.MIME_TYPE: fact_codec.encode(grade_id, found)})


def stats_facts(refs, mean_offset: float = 0.0) -> dict:
    kernel = refs.kernel
    return introspect.extract({"conv_mean": np.float32(kernel.mean() + mean_offset), "conv_std": np.float32(kernel.std()),
                          "conv_weights": kernel.copy()}, lesson_steps.STEPS["test_conv_stats"].names)


def kernel_noise():
    """What a kernel may leave in a test cell besides the facts: all of it must go."""
    return [
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "5.0"}, execution_count=3),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["ValueError: boom"]),
        nbformat.v4.new_output("display_data", data={"text/plain": "Success!"}),
    ]


def trusted_checks(nb, resources):
    return trusted.TrustedChecks(checkpoint=str(CHECKPOINT)).preprocess(nb, resources)


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if grade_id_of(c) == grade_id)


# --------------------------------------------------------------------------- stripping hidden tests


def test_strip_hidden_tests_keeps_only_the_visible_lines():
    stripped = trusted.strip_hidden_tests(graded_source("test_hist"))
    assert "check_hidden" not in stripped and "HIDDEN" not in stripped
    assert stripped.endswith('lesson.check("test_hist", globals())')


def test_strip_hidden_tests_removes_every_block_and_leaves_other_sources_alone():
    source = "a\n### BEGIN HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc\n### BEGIN HIDDEN TESTS\nd\n### END HIDDEN TESTS"
    assert trusted.strip_hidden_tests(source) == "a\nc"
    assert trusted.strip_hidden_tests("x = 1\ny = 2") == "x = 1\ny = 2"


@pytest.mark.parametrize("source", ["### BEGIN HIDDEN TESTS\nsecret", "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n"
                                    "### END HIDDEN TESTS"])
def test_strip_hidden_tests_refuses_unbalanced_blocks(source):
    with pytest.raises(ValueError, match="HIDDEN TESTS"):
        trusted.strip_hidden_tests(source)


# --------------------------------------------------------------------------- before the jailed run


def test_prepare_strips_the_hidden_tests_and_inserts_the_grader_cell():
    answer = create_solution_cell("conv_mean = 1  # ### BEGIN HIDDEN TESTS in a comment", "code", "stats")
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(answer, graded_cell("test_conv_stats")), {**RESOURCES})
    first, kept_answer, test = nb.cells
    assert first.metadata[trusted.GRADER_CELL] and first.source == trusted.PUBLISH_SOURCE
    assert kept_answer.source == answer.source  # only test cells are touched
    assert "check_hidden" not in test.source and 'lesson.check("test_conv_stats"' in test.source
    assert resources["cnnviz"]["test_sources"]["test_conv_stats"] == graded_source("test_conv_stats")


def test_no_hidden_test_text_is_left_anywhere_the_kernel_sees():
    nb, _ = trusted.PrepareJailRun().preprocess(
        notebook(*(graded_cell(grade_id) for grade_id in lesson_steps.STEPS)), {**RESOURCES})
    kernel_sees = nbformat.writes(nb)
    assert "check_hidden" not in kernel_sees and "HIDDEN TESTS" not in kernel_sees


# --------------------------------------------------------------------------- reading a test cell's facts


def _test_cell(*outputs):
    cell = nbformat.v4.new_code_cell("lesson.check('test_conv_stats', globals())")
    cell.outputs = list(outputs)
    return cell


def test_read_facts_reads_the_cells_own_step():
    found = {"conv_mean": introspect.value_facts(0.5)}
    read, why = trusted.read_facts(_test_cell(facts_output("test_conv_stats", found)), "test_conv_stats")
    assert why == "" and same(read, found)


def test_read_facts_refuses_another_steps_facts():
    cell = _test_cell(facts_output("test_hist", {"conv_mean": introspect.value_facts(0.5)}))
    read, why = trusted.read_facts(cell, "test_conv_stats")
    assert read is None and "test_hist" in why and "test_conv_stats" in why


def test_read_facts_without_a_payload_or_with_a_bad_one():
    printed = nbformat.v4.new_output("stream", name="stdout", text=fact_codec.encode("test_conv_stats", {}))
    assert trusted.read_facts(_test_cell(printed), "test_conv_stats") == (None, "no facts")
    bad = nbformat.v4.new_output("display_data", data={fact_codec.MIME_TYPE: "AAAA"})
    read, why = trusted.read_facts(_test_cell(bad), "test_conv_stats")
    assert read is None and why.startswith("bad facts")


# --------------------------------------------------------------------------- after the jailed run


def test_passing_facts_give_a_clean_cell_and_full_points(refs):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    cell_of(nb, "test_conv_stats").outputs = [facts_output("test_conv_stats", stats_facts(refs))]
    nb, _ = trusted_checks(nb, resources)
    (cell,) = nb.cells
    assert cell.outputs == []
    assert cell.source == graded_source("test_conv_stats")  # the hidden tests are back for the formgrader
    assert determine_grade(cell) == (5.0, 5.0)


def test_failing_facts_give_one_assertion_error_with_the_course_message(refs):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    cell_of(nb, "test_conv_stats").outputs = [facts_output("test_conv_stats", stats_facts(refs, 0.5))]
    nb, _ = trusted_checks(nb, resources)
    (output,) = nb.cells[0].outputs
    assert output.output_type == "error" and output.ename == "AssertionError"
    assert "conv_mean" in output.evalue and " / " in output.evalue and HANGUL.search(output.evalue)
    assert determine_grade(nb.cells[0]) == (0, 5.0)
    # Laid out from the verdict's (Korean, English) pair, the one-line form kept as evalue.
    verdict = lesson.grade("test_conv_stats", stats_facts(refs, 0.5), refs, {})
    assert output.evalue == verdict.message == message_layout.render(verdict.korean, verdict.english)
    assert output.traceback == message_layout.screen_lines(verdict.korean, verdict.english, prefix="AssertionError: ")


def test_a_cell_without_facts_gets_the_no_facts_message(refs):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    nb, _ = trusted_checks(nb, resources)
    (output,) = nb.cells[0].outputs
    assert output.ename == "AssertionError" and output.evalue == message_layout.render(*trusted.NO_FACTS)
    assert determine_grade(nb.cells[0]) == (0, 5.0)


@pytest.mark.parametrize("case", ["other step", "bad payload", "printed payload"])
def test_facts_that_are_not_this_cells_own_count_as_none(refs, case):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    good = fact_codec.encode("test_conv_stats", stats_facts(refs))
    outputs = {
        "other step": [facts_output("test_hist", stats_facts(refs))],
        "bad payload": [nbformat.v4.new_output("display_data", data={fact_codec.MIME_TYPE: good[:-8]})],
        "printed payload": [nbformat.v4.new_output("stream", name="stdout", text=good)],
    }[case]
    cell_of(nb, "test_conv_stats").outputs = outputs
    nb, _ = trusted_checks(nb, resources)
    assert [o.evalue for o in nb.cells[0].outputs] == [message_layout.render(*trusted.NO_FACTS)]


@pytest.mark.parametrize("passing", [True, False])
def test_kernel_outputs_never_survive_in_a_test_cell(refs, passing):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    offset = 0.0 if passing else 0.5
    cell_of(nb, "test_conv_stats").outputs = [*kernel_noise(), facts_output("test_conv_stats", stats_facts(refs, offset))]
    nb, _ = trusted_checks(nb, resources)
    outputs = nb.cells[0].outputs
    assert determine_grade(nb.cells[0]) == ((5.0 if passing else 0), 5.0)
    if passing:
        assert outputs == []
    else:
        assert [o.ename for o in outputs] == ["AssertionError"] and "conv_mean" in outputs[0].evalue
    text = nbformat.writes(nb)
    for noise in ("warning", "hello", "5.0", "boom", "Success!"):
        assert noise not in text


def test_an_execute_result_cannot_lower_or_raise_a_score_on_its_own(refs):
    # "5.0" as the only output would give nbgrader's partial credit; without facts it scores 0.
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    cell_of(nb, "test_conv_stats").outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "5.0"},
                                                                     execution_count=1)]
    nb, _ = trusted_checks(nb, resources)
    assert determine_grade(nb.cells[0]) == (0, 5.0)


def test_the_grader_cell_is_removed_and_other_cells_keep_their_outputs(refs):
    answer = create_solution_cell("conv_mean = 1", "code", "stats")
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    answer.outputs = [figure]
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(answer, graded_cell("test_conv_stats")), {**RESOURCES})
    assert len(nb.cells) == 3
    nb, _ = trusted_checks(nb, resources)
    assert len(nb.cells) == 2 and not any(c.metadata.get(trusted.GRADER_CELL) for c in nb.cells)
    assert nb.cells[0].outputs == [figure]


def test_an_unknown_grade_id_is_a_grader_error_that_scores_zero(refs):
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_extra")), {**RESOURCES})
    cell_of(nb, "test_extra").outputs = [facts_output("test_extra", {})]
    nb, _ = trusted_checks(nb, resources)
    (output,) = nb.cells[0].outputs
    assert output.ename == "GraderError" and "test_extra" in output.evalue
    assert determine_grade(nb.cells[0]) == (0, 5.0)


def test_error_is_carried_forward_between_cells_of_one_notebook(refs):
    """A wrong conv_weights fails its own step; stats of that very array still pass the next one."""
    wrong = refs.kernel * 2
    nb, resources = trusted.PrepareJailRun().preprocess(
        notebook(graded_cell("test_conv_weights"), graded_cell("test_conv_stats")), {**RESOURCES})
    cell_of(nb, "test_conv_weights").outputs = [facts_output("test_conv_weights", introspect.extract(
        {"conv_weights": wrong}, lesson_steps.STEPS["test_conv_weights"].names))]
    cell_of(nb, "test_conv_stats").outputs = [facts_output("test_conv_stats", introspect.extract(
        {"conv_weights": wrong, "conv_mean": wrong.mean(), "conv_std": wrong.std()},
        lesson_steps.STEPS["test_conv_stats"].names))]
    nb, _ = trusted_checks(nb, resources)
    assert [determine_grade(c)[0] for c in nb.cells] == [0, 5.0]


def test_a_missing_checkpoint_stops_grading_with_a_course_error():
    nb, resources = trusted.PrepareJailRun().preprocess(notebook(graded_cell("test_conv_stats")), {**RESOURCES})
    with pytest.raises(CourseError, match="no checkpoint"):
        trusted.TrustedChecks(checkpoint="/nonexistent/best-cnn-model.keras").preprocess(nb, resources)


def test_the_checkpoint_defaults_to_the_instructors_copy_in_source():
    config = Config()
    config.CourseDirectory.root = str(COURSE_ROOT)
    checks = trusted.TrustedChecks(config=config)
    assert Path(checks._checkpoint_path(RESOURCES)).resolve() == CHECKPOINT.resolve()
