"""Submissions carrying scripts, shown to the instructor on the course's JupyterHub (`make hub`): nothing runs.

The same shown submissions as test_shown_submissions.py (tests/submissions/
hostile.toml) and an honest student are put in the hub instructor's course and
graded there in one nbgrader run, as the instructor, with the course's
configuration; their feedback is generated. Chromium, logged in as the
instructor, opens each one's formgrader page and feedback page; each script
would write a canary into the instructor's course through the instructor's
server's contents API. Then a student, logged in on the same origin, cannot
reach the instructor's server at all: JupyterHub 5 gives each user's server
its own cookie (path ``/user/<name>/``) and lets only tokens with
``access:servers!user=<name>`` in.

Independent of test_hub_class.py (its own students, its own fixture); runs with
the ``hub`` marker (`make test-hub`, as root). Screenshots: ``test-artifacts/hub-shown/``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import hubpage
import shown
from cnnviz import ASSIGNMENT, settings
from cnnviz.course import notebooks, pipeline
from cnnviz.deploy import hub_process, hub_site

pytestmark = [pytest.mark.slow, pytest.mark.hub]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub-shown"
SETTLE = 2.0
HONEST_ONE = "honest-solution"


@pytest.fixture(scope="module")
def shown_hub():
    """The hub running, with the shown submissions and one honest student graded in the instructor's course."""
    accounts = hubpage.up()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    course = hub_site.instructor_course()
    for canary in shown.canaries(course):
        (course / canary).unlink()
    students = [s for s in shown.submit_class(course) if s == HONEST_ONE or not s.startswith("honest")]
    shutil.rmtree(course / "submitted" / "honest-mistake", ignore_errors=True)
    python = str(hub_site.ENV / "bin" / "python")
    hub_site.run("chown", "-R", f"{hub_site.INSTRUCTOR}:{hub_site.INSTRUCTOR}", str(course / "submitted"))
    started = time.perf_counter()
    for student in students:  # as the formgrader's Autograde button does, one student at a time
        hub_site.as_user(hub_site.INSTRUCTOR, python, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force",
                         f"--student={student}", cwd=course)
    hub_site.as_user(hub_site.INSTRUCTOR, python, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force",
                     cwd=course)
    print(f"[hub-shown] graded {len(students)} and made their feedback in {time.perf_counter() - started:.1f} s")
    yield {"url": hub_site.url(), "accounts": accounts, "course": course, "students": students,
           "db_url": settings.db_url(course)}
    shutil.copy(hub_process.LOG_FILE, ARTIFACTS / "jupyterhub.log")


@pytest.fixture(scope="module")
def logged_in(browser, shown_hub):
    """A logged-in page per account (own context, own cookies)."""
    with hubpage.logged_in_pages(browser, shown_hub["url"], shown_hub["accounts"]) as page_of:
        yield page_of


@pytest.fixture(scope="module")
def instructor(logged_in, shown_hub):
    """The instructor's page, after proving that the payload run there writes its canary."""
    page = logged_in(hub_site.INSTRUCTOR)
    ids = shown.submission_ids(shown_hub["db_url"], [HONEST_ONE])
    page.goto(f"{shown_hub['url']}/user/{hub_site.INSTRUCTOR}/formgrader/submissions/{ids[HONEST_ONE]}/")
    shown.prove_the_payload_writes(page, shown_hub["course"])
    return page


def _open(page, url: str, name: str) -> list[str]:
    page.goto(url, wait_until="load")
    time.sleep(SETTLE)
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    return shown.scripts_that_ran(page)


def test_every_shown_submission_keeps_full_points(shown_hub):
    scores = pipeline.read_scores(shown_hub["course"], shown_hub["db_url"])
    source_nb = notebooks.read_notebook(shown_hub["course"] / "source" / ASSIGNMENT / settings.NOTEBOOK)
    points = notebooks.grade_points(source_nb)
    for student in shown_hub["students"]:
        assert scores.get(student) == shown.expected_scores(student, points), student


@pytest.mark.parametrize("student", [raw["name"] for raw in shown.entries()])
def test_no_script_runs_in_the_instructors_formgrader_and_feedback_pages(instructor, shown_hub, student):
    base = f"{shown_hub['url']}/user/{hub_site.INSTRUCTOR}"
    ids = shown.submission_ids(shown_hub["db_url"], [student])
    ran = {"formgrader": _open(instructor, f"{base}/formgrader/submissions/{ids[student]}/", f"{student}-formgrader"),
           "feedback": _open(instructor, f"{base}/files/feedback/{student}/{ASSIGNMENT}/{ASSIGNMENT}.html",
                             f"{student}-feedback")}
    time.sleep(SETTLE)
    ran = {where: places for where, places in ran.items() if places}
    assert not ran, f"scripts of {student} ran in the instructor's browser: {ran}"
    assert shown.canaries(shown_hub["course"]) == [], "a script wrote into the instructor's course"


def test_the_honest_pages_show_figures_and_korean(instructor, shown_hub):
    base = f"{shown_hub['url']}/user/{hub_site.INSTRUCTOR}"
    ids = shown.submission_ids(shown_hub["db_url"], [HONEST_ONE])
    _open(instructor, f"{base}/formgrader/submissions/{ids[HONEST_ONE]}/", "honest-formgrader")
    formgrader = shown.honest_page(instructor)
    _open(instructor, f"{base}/files/feedback/{HONEST_ONE}/{ASSIGNMENT}/{ASSIGNMENT}.html", "honest-feedback")
    feedback = shown.honest_page(instructor)
    assert feedback["score"] == "100.0 / 100.0", f"the feedback page should show the honest total: {feedback}"
    assert formgrader["pngs"] >= shown.MIN_FIGURES and feedback["pngs"] >= shown.MIN_FIGURES, (formgrader, feedback)
    assert formgrader["hangul"] and feedback["hangul"] and feedback["maths"] > 0, (formgrader, feedback)
    assert formgrader["tex"] or formgrader["maths"]


# A student's own page, same origin as the instructor's server, asks for it: with the student's cookies
# and XSRF token, then with the API token JupyterLab's page holds for the student's own server.
REACH = """async (instructor) => {
  const own = location.pathname.split('/lab')[0] + '/';
  const xsrf = decodeURIComponent((document.cookie.match(/(?:^|; )_xsrf=([^;]+)/) || [])[1] || '');
  const config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
  const ask = async (base, path, how) => (await fetch(base + path, {credentials: 'include', redirect: 'manual',
      ...how, headers: {'Content-Type': 'application/json', 'X-XSRFToken': xsrf, ...(how.headers || {})}})).status;
  const put = {method: 'PUT', body: JSON.stringify({type: 'file', format: 'text', content: 'student'})};
  const token = config.token ? {headers: {Authorization: 'token ' + config.token}} : null;
  return {
    own: await ask(own, 'api/contents', {}),
    get: await ask(instructor, 'api/contents', {}),
    put: await ask(instructor, 'api/contents/xss-canary-student.txt', put),
    lab: await ask(instructor, 'lab', {}),
    token: !!token,
    own_by_token: token ? await ask(own, 'api/contents', token) : null,
    get_by_token: token ? await ask(instructor, 'api/contents', token) : null,
    put_by_token: token ? await ask(instructor, 'api/contents/xss-canary-student.txt', {...put, ...token}) : null,
  };
}"""


def test_a_students_page_cannot_reach_the_instructors_server(logged_in, shown_hub):
    page = logged_in("student1")
    found = page.evaluate(REACH, f"/user/{hub_site.INSTRUCTOR}/")
    page.screenshot(path=ARTIFACTS / "student1-reaching.png")
    print(f"[hub-shown] student1's page asking for the instructor's server: {found}")
    assert found["own"] == 200, f"the student's own server should answer its own page: {found}"
    # The instructor's server refuses (403), or the hub sends the browser to log in (an opaque
    # redirect, status 0): never the instructor's files, with the student's cookies or token.
    for what in ("get", "put", "lab", "get_by_token", "put_by_token"):
        assert found[what] in (None, 0, 302, 401, 403), f"{what} of the instructor's server from student1's page: {found}"
    assert found["get"] == 403, f"the instructor's contents API must refuse student1: {found}"
    if found["token"]:
        assert found["own_by_token"] == 200 and found["get_by_token"] == 403, found
    assert shown.canaries(shown_hub["course"]) == []
