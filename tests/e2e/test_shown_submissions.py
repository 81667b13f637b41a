"""Submissions carrying scripts, shown to the instructor on `make lab`, in Chromium: nothing runs.

The shown submissions of tests/submissions/hostile.toml (scripts in every
output MIME type, in markdown and raw cells, in error names and values, in
metadata and file names) are graded in one class beside two honest students,
with the course's nbgrader_config.py, and get their feedback. Then JupyterLab
serves the course as `make lab` does, and Chromium, logged in with the
instructor's token, opens each one's formgrader page and feedback page. Each
script would record its place in a global, set the page title and write a
canary file into the course root through the contents API; first the payload
itself is run in the instructor's formgrader page to prove it can. The honest
students' pages still show their figures, formulas and Korean text.

Screenshots go to ``test-artifacts/e2e/shown-*.png``.
"""

from __future__ import annotations

import json
import time

import pytest

import shown
from cnnviz import ASSIGNMENT, settings
from cnnviz.course import classgrade, nbrun, notebooks, pipeline
from conftest import ARTIFACTS, serving

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SETTLE = 2.0  # s: an image's onerror, a details' ontoggle, a fetch: all within this after load
NOTEBOOK = settings.NOTEBOOK


@pytest.fixture(scope="module")
def shown_class(tmp_path_factory):
    """The class graded and its feedback generated, in a scratch course of its own."""
    course = pipeline.scratch_course(tmp_path_factory.mktemp("shown"))
    students = shown.submit_class(course)
    started = time.perf_counter()
    outcomes = {o.student: o for o in classgrade.autograde_class(course, workers=2, students=students)}
    graded = time.perf_counter() - started
    started = time.perf_counter()
    nbrun.run_nbgrader("generate_feedback", ASSIGNMENT, "--force", root=course, quiet=True)  # the class at once
    done = [s for s in students if (course / "feedback" / s / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()]
    print(f"[shown] graded {len(students)} in {graded:.1f} s; feedback for {len(done)} in "
          f"{time.perf_counter() - started:.1f} s")
    source_nb = notebooks.read_notebook(course / "source" / ASSIGNMENT / NOTEBOOK)
    return {"course": course, "students": students, "outcomes": outcomes, "feedback": done,
            "points": notebooks.grade_points(source_nb), "db_url": settings.db_url(course)}


@pytest.fixture(scope="module")
def shown_lab(shown_class, tmp_path_factory):
    """`make lab` serving that course."""
    with serving(shown_class["course"], tmp_path_factory.mktemp("shown-lab-home"), "shown-jupyter-lab.log") as server:
        yield server


@pytest.fixture(scope="module")
def instructor(browser, shown_lab, shown_class):
    """The instructor's page, logged in by token, after proving that the payload can write a canary."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(shown_lab.url("/lab"))
    page.locator(".jp-LabShell").wait_for()
    ids = shown.submission_ids(shown_class["db_url"], ["honest-solution"])
    page.goto(shown_lab.url(f"/formgrader/submissions/{ids['honest-solution']}/"))
    shown.prove_the_payload_writes(page, shown_class["course"])
    yield page
    context.close()


def _open(page, url: str, name: str) -> list[str]:
    page.goto(url, wait_until="load")
    time.sleep(SETTLE)
    page.screenshot(path=ARTIFACTS / f"shown-{name}.png", full_page=False)
    return shown.scripts_that_ran(page)


def test_shown_submissions_keep_their_exact_scores(shown_class):
    scores = pipeline.read_scores(shown_class["course"])
    for student in shown_class["students"]:
        outcome = shown_class["outcomes"][student]
        assert outcome.ok, f"{student} was not graded: {outcome.message}"
        expected = shown.expected_scores(student, shown_class["points"])
        wrong = {c: (scores[student].get(c), want) for c, want in expected.items() if scores[student].get(c) != want}
        assert not wrong, f"{student}: cells with (score, expected): {wrong}"
    assert set(shown_class["feedback"]) == set(shown_class["students"]), "every student gets feedback"


def _rendered_as_html(cell) -> dict:
    """What of a cell a page renders as markup: not code (highlighted) nor plain text (escaped)."""
    kept = {k: v for k, v in cell.items() if k not in ("source", "outputs") or cell.cell_type != "code"}
    kept["outputs"] = [{k: v for k, v in output.get("data", {}).items() if k != "text/plain"}
                       for output in cell.get("outputs", [])]
    kept["output_metadata"] = [output.get("metadata", {}) for output in cell.get("outputs", [])]
    return kept


def test_the_autograded_notebooks_hold_no_markup_that_runs(shown_class):
    """Whatever pages render as HTML is free of scripts, handlers, frames, SVG, style and javascript: links.

    Code, streams, error texts and text/plain are shown as text (escaped), so they may quote markup.
    """
    import re

    danger = re.compile(r"<script|\son\w+\s*=|javascript:|<iframe|<svg|<style|srcdoc", re.I)
    for student in shown_class["students"]:
        nb = notebooks.read_notebook(shown_class["course"] / "autograded" / student / ASSIGNMENT / NOTEBOOK)
        shown_parts = [json.dumps(nb.metadata)] + [json.dumps(_rendered_as_html(cell)) for cell in nb.cells]
        found = [danger.search(part)[0] for part in shown_parts if danger.search(part)]
        assert not found, f"{student}'s autograded notebook still carries {found}"


@pytest.mark.parametrize("student", [raw["name"] for raw in shown.entries()])
def test_no_script_of_a_submission_runs_in_its_formgrader_and_feedback_pages(instructor, shown_lab, shown_class,
                                                                             student):
    course = shown_class["course"]
    ids = shown.submission_ids(shown_class["db_url"], [student])
    response = instructor.goto(shown_lab.url(f"/formgrader/submissions/{ids[student]}/"))
    assert "object-src 'none'" in (response.headers.get("content-security-policy") or ""), \
        "the formgrader page came without the course's Content-Security-Policy"
    ran = {"formgrader": _open(instructor, shown_lab.url(f"/formgrader/submissions/{ids[student]}/"),
                               f"{student}-formgrader")}
    feedback = f"feedback/{student}/{ASSIGNMENT}/{ASSIGNMENT}.html"
    ran["feedback (served)"] = _open(instructor, shown_lab.url(f"/files/{feedback}"), f"{student}-feedback")
    ran["feedback (file)"] = _open(instructor, (course / feedback).as_uri(), f"{student}-feedback-file")
    time.sleep(SETTLE)
    ran = {page: places for page, places in ran.items() if places}
    assert not ran, f"scripts of {student} ran: {ran} (it carries {shown.places(next(r for r in shown.entries() if r['name'] == student))})"
    assert shown.canaries(course) == [], f"a script of {student} wrote {shown.canaries(course)} as the instructor"


def test_the_honest_pages_still_show_figures_formulas_and_korean(instructor, shown_lab, shown_class):
    ids = shown.submission_ids(shown_class["db_url"], ["honest-solution"])
    assert _open(instructor, shown_lab.url(f"/formgrader/submissions/{ids['honest-solution']}/"),
                 "honest-formgrader") == []
    formgrader = shown.honest_page(instructor)
    _open(instructor, shown_lab.url(f"/files/feedback/honest-solution/{ASSIGNMENT}/{ASSIGNMENT}.html"),
          "honest-feedback")
    feedback = shown.honest_page(instructor)
    assert feedback["score"] == "100.0 / 100.0", f"the feedback page should show the honest total: {feedback}"
    assert formgrader["pngs"] >= shown.MIN_FIGURES and feedback["pngs"] >= shown.MIN_FIGURES, (formgrader, feedback)
    assert formgrader["hangul"] and feedback["hangul"], "the Korean text is gone"
    # The formgrader draws formulas with MathJax from a CDN (offline here: the TeX stays readable);
    # the feedback page draws them as MathML itself.
    assert formgrader["tex"] or formgrader["maths"], "the formulas are gone from the formgrader page"
    assert feedback["maths"] > 0, "the feedback page lost its MathML formulas"
