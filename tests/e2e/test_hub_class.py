"""A whole class on the course's JupyterHub (`make hub`), with real Linux users, in Chromium.

In order, as a class meets it:

1. the instructor logs in, opens the formgrader from JupyterLab's menu
   (*Nbgrader → Formgrader*, framed by JupyterLab) and releases the assignment;
   the formgrader's links work in a tab of its own;
2. student1 and student2 log in, fetch it from the Assignments tab, complete
   it by typing every answer cell (student1 right, student2 with two
   mistakes), run it and see their figures, press Validate and submit;
3. the instructor collects and autogrades each submission from the formgrader
   (nbgrader's configured, jailed grading), then generates and releases the
   feedback and exports the grades with nbgrader's commands in a JupyterLab
   terminal;
4. each student fetches the feedback and opens it: score, step names,
   messages, figures.

`make test-hub` runs this module (it starts the hub first); screenshots go to
``test-artifacts/hub/``. The tests share one class and run in order.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import is_solution

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import catalogue, notebooks, pipeline
from cnnviz.deploy import hub_course, hub_jupyterlab, hub_process, hub_site
from cnnviz.course.notebooks import grade_id as grade_id_of
import hubpage
from hubpage import SPAWN_TIMEOUT
from labpage import READ_NOTEBOOK, RUN_FINISHED

pytestmark = [pytest.mark.slow, pytest.mark.hub]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
RUN_TIMEOUT = 240_000       # ms: the whole notebook runs in ~15 s
VALIDATE_TIMEOUT = 300_000  # ms: nbgrader runs the notebook again in a fresh kernel
GRADE_TIMEOUT = 600_000     # ms: one jailed autograde takes ~10-30 s
MIN_FIGURES = 7
NOISE = re.compile(r"oneDNN|absl::|cuda|cuInit", re.IGNORECASE)
# student2's two mistakes, from the catalogue of graded submissions.
MISTAKES = ("no-vmin-vmax", "kernel-shape-from-kernel-size")

PANEL = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"


# --------------------------------------------------------------------------- the class

def _answers() -> dict[str, dict[str, str]]:
    """Each student's answer cells: student1 the solution, student2 the solution with two mistakes."""
    source = notebooks.read_notebook(pipeline.paths()["source"])
    solution = notebooks.solution_answers(source)
    entries = catalogue.by_name()
    wrong = dict(solution)
    for name in MISTAKES:
        wrong.update(entries[name].answers)
    return {"student1": solution, "student2": wrong}


def _expected_totals() -> dict[str, float]:
    source = notebooks.read_notebook(pipeline.paths()["source"])
    points = notebooks.grade_points(source)
    entries = catalogue.by_name()
    lost = {grade_id for name in MISTAKES for grade_id in entries[name].loses}
    return {"student1": sum(points.values()), "student2": sum(p for g, p in points.items() if g not in lost)}


def _reset_class() -> None:
    """A class that has not started: nothing released, submitted, graded or fetched (reruns start clean)."""
    course = hub_site.instructor_course()
    shutil.rmtree(hub_site.EXCHANGE / hub_site.COURSE_ID, ignore_errors=True)
    for folder in ("release", "submitted", "autograded", "feedback"):
        shutil.rmtree(course / folder, ignore_errors=True)
    for name in ("gradebook.db", "grades.csv"):
        (course / name).unlink(missing_ok=True)
    (Path("/home") / hub_site.INSTRUCTOR / "grades.csv").unlink(missing_ok=True)
    # The repository's source/ (make hub keeps an instructor's own, which may be an older one).
    shutil.rmtree(course / "source", ignore_errors=True)
    shutil.copytree(COURSE_ROOT / "source", course / "source")
    hub_site.run("chown", "-R", f"{hub_site.INSTRUCTOR}:{hub_site.INSTRUCTOR}", str(course / "source"))
    assert not hub_course.source_differs(course)
    for student in hub_site.students():
        shutil.rmtree(Path("/home") / student / ASSIGNMENT, ignore_errors=True)
        # nbgrader's copy of each submission, which the Assignments tab lists as submitted.
        shutil.rmtree(Path("/home") / student / ".local/share/jupyter/nbgrader_cache" / hub_site.COURSE_ID,
                      ignore_errors=True)
    hub_site.as_user(hub_site.INSTRUCTOR, str(hub_site.ENV / "bin" / "python"), "-m", "nbgrader",
                     "generate_assignment", ASSIGNMENT, "--force", cwd=course)


@pytest.fixture(scope="module")
def the_hub():
    """The course's hub, running (started by `make test-hub`; started here otherwise), with a fresh class."""
    accounts = hubpage.up()
    _reset_class()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    yield {"url": hub_site.url(), "accounts": accounts}
    shutil.copy(hub_process.LOG_FILE, ARTIFACTS / "jupyterhub.log")


@pytest.fixture(scope="module")
def pages(browser, the_hub):
    """One logged-in browser page per account (own context: own cookies), made on first use."""
    with hubpage.logged_in_pages(browser, the_hub["url"], the_hub["accounts"]) as page_of:
        yield page_of


def shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png")


def menu(page, top: str, command: str) -> None:
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(f".lm-Menu .lm-Menu-item[data-command='{command}']").click()


def formgrader_click(page, row_text: str, column: str, name: str, table: str = "#main-table", scope=None,
                     success: bool = True) -> str:
    """Click a formgrader row's action link; wait for its result; the modal's text.

    ``scope`` is the page or the frame the formgrader is in (the page by default); it
    fails unless the modal is the success one (the error one with ``success=False``).
    """
    scope = scope or page
    row = scope.locator(f"{table} tr", has=scope.locator("td", has_text=row_text))
    row.locator(f"td.{column} a").click()
    modal = scope.locator("#success-modal, #error-modal")
    modal.wait_for(state="visible", timeout=GRADE_TIMEOUT)
    shot(page, name)
    text = modal.inner_text()
    wanted = "success-modal" if success else "error-modal"
    assert modal.get_attribute("id") == wanted, f"formgrader {column} for {row_text}: not {wanted}:\n{text[-3000:]}"
    modal.locator(".modal-footer button").click()
    modal.wait_for(state="detached")
    return text


def lab_formgrader(page, the_hub):
    """The formgrader as the README says to open it: JupyterLab's *Nbgrader → Formgrader*, in its tab's frame."""
    page.goto(f"{the_hub['url']}/user/instructor/lab/workspaces/formgrader?reset")
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()
    menu(page, "Nbgrader", "nbgrader:open-formgrader")
    frame_element = page.locator("#jp-main-dock-panel > .lm-Widget:not(.lm-mod-hidden) iframe")
    frame_element.wait_for()
    return page.frame_locator("#jp-main-dock-panel > .lm-Widget:not(.lm-mod-hidden) iframe")


def assignments_tab(page, the_hub, user: str):
    """JupyterLab loaded afresh (its course list is read at load), then the Assignments tab."""
    page.goto(f"{the_hub['url']}/user/{user}/lab/workspaces/assignments")
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()
    menu(page, "Nbgrader", "nbgrader:open-assignment-list")
    tab = page.locator("#nbgrader-assignment-list")
    tab.wait_for()
    return tab


def assignment_row(tab, listing: str):
    """The assignment's row in one of the Assignments tab's lists ("released", "fetched", "submitted")."""
    return tab.locator(f"#{listing}_assignments_list .list_item:not(.nested_list_item)", has_text=ASSIGNMENT).first


def press(tab, listing: str, button: str, then: str) -> None:
    """Press ``button`` on the assignment's row of ``listing``; wait until it shows in the list ``then``."""
    assignment_row(tab, listing).locator("button", has_text=button).click()
    assignment_row(tab, then).wait_for()


# --------------------------------------------------------------------------- 1. release

def test_students_see_no_course_internals(the_hub, pages):
    """Students' Lab has no formgrader, no Create Assignment; the course repository and source/ are closed."""
    page = pages("student1")
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    assert "Assignment List" in items and not any("Formgrader" in i for i in items), items
    assert page.request.get(f"{the_hub['url']}/user/student1/formgrader").status == 404
    for path in (COURSE_ROOT / "source", hub_site.instructor_course() / "source", Path("/home/student2")):
        denied = subprocess.run(["runuser", "-u", "student1", "--", "ls", str(path)], capture_output=True)
        assert denied.returncode != 0, f"student1 can list {path}"


def test_only_the_formgrader_may_be_framed(the_hub, pages):
    """frame-ancestors 'self' on the formgrader's pages; JupyterHub's 'none' on every other page of the server."""
    page = pages("instructor")
    base = f"{the_hub['url']}/user/instructor"
    for path in ("formgrader/manage_assignments", "formgrader/manage_students"):
        policy = page.request.get(f"{base}/{path}").headers.get("content-security-policy", "")
        assert "frame-ancestors 'self'" in policy and "frame-ancestors 'none'" not in policy, (path, policy)
        assert "script-src 'self'" in policy, (path, policy)  # the course's policy, not only the frame rule
    for path in ("lab", "tree", "api/contents", "files/nbgrader_config.py"):
        policy = page.request.get(f"{base}/{path}").headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, (path, policy)


def test_instructor_releases_from_the_formgrader_in_jupyterlab(the_hub, pages):
    page = pages("instructor")
    frame = lab_formgrader(page, the_hub)
    frame.locator("#main-table td.name", has_text=ASSIGNMENT).wait_for()
    shot(page, "01-instructor-formgrader")
    formgrader_click(page, ASSIGNMENT, "release", "02-instructor-released", scope=frame)
    assert (hub_site.EXCHANGE / hub_site.COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()


def test_the_formgraders_links_work_in_a_tab_of_its_own(the_hub, pages):
    """Opened directly (not framed), the assignment's folder and preview links open this server's JupyterLab."""
    page = pages("instructor")
    page.goto(f"{the_hub['url']}/user/instructor/formgrader/manage_assignments")
    row = page.locator("#main-table tr", has=page.locator("td.name", has_text=ASSIGNMENT))
    row.locator("td.preview a").wait_for()
    links = [a.get_attribute("href") for a in row.locator("td.name a, td.preview a").all()]
    assert len(links) == 2, links
    lab_tree = f"{the_hub['url']}/user/instructor/lab/tree/"
    for link in links:
        assert link.startswith(lab_tree), link
        assert page.request.get(link).status == 200, link
        # JupyterLab serves its page for any path: the folder linked must be the course's own.
        assert (hub_site.instructor_course() / link[len(lab_tree):]).is_dir(), link
    assert "release" in links[1] and ASSIGNMENT in links[1], links


# --------------------------------------------------------------------------- 2. students work

def _fill_answers(page, panel, nb, answers: dict[str, str]) -> None:
    """Type each answer cell's text into its editor (select all, then insert the text as typed input)."""
    cells = panel.locator(".jp-Notebook .jp-Cell")
    page.wait_for_function("([p, n]) => p.querySelectorAll('.jp-Notebook .jp-Cell').length === n",
                           arg=[panel.element_handle(), len(nb.cells)])  # every cell rendered
    for index, cell in enumerate(nb.cells):
        grade_id = grade_id_of(cell)
        if not (cell.cell_type == "code" and is_solution(cell)):
            continue
        editor = cells.nth(index).locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(answers[grade_id].strip("\n"))
        page.keyboard.press("Escape")  # back to command mode
    # What the browser holds is what the student typed.
    typed = panel.evaluate("""p => [...p.querySelectorAll('.jp-Notebook .jp-Cell')].map(
        c => { const e = c.querySelector('.cm-content'); return e ? e.cmView.view.state.doc.toString() : null; })""")
    for index, cell in enumerate(nb.cells):
        grade_id = grade_id_of(cell)
        if cell.cell_type == "code" and is_solution(cell):
            assert typed[index] == answers[grade_id].strip("\n"), f"cell {grade_id} holds {typed[index]!r}"


@pytest.mark.parametrize("student", ["student1", "student2"])
def test_student_fetches_completes_validates_and_submits(the_hub, pages, student):
    page = pages(student)
    tab = assignments_tab(page, the_hub, student)
    press(tab, "released", "Fetch", then="fetched")
    shot(page, f"03-{student}-fetched")
    fetched = Path("/home") / student / ASSIGNMENT / NOTEBOOK
    assert fetched.is_file()

    page.goto(f"{the_hub['url']}/user/{student}/lab/workspaces/work/tree/{ASSIGNMENT}/{NOTEBOOK}")
    panel = page.locator(PANEL)
    panel.locator(".jp-Cell").first.wait_for()
    page.wait_for_function("""p => { const x = document.querySelector(p);
        const i = x && x.querySelector('.jp-Notebook-ExecutionIndicator');
        return !!i && i.dataset.status === 'idle'; }""", arg=PANEL, timeout=SPAWN_TIMEOUT)
    _fill_answers(page, panel, nbformat.read(fetched, as_version=4), _answers()[student])
    shot(page, f"04-{student}-typed")

    menu(page, "Kernel", "runmenu:restart-and-run-all")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Restart Kernel?").wait_for()
    dialog.locator(".jp-Dialog-footer .jp-mod-accept").click()
    dialog.wait_for(state="detached")
    page.wait_for_function(RUN_FINISHED, arg=panel.element_handle(), timeout=RUN_TIMEOUT)
    # A failing visible check stops Run All; as a student would, run on from the next cell
    # (Run → Run Selected Cell and All Below) so that every figure is drawn.
    code_cells = panel.locator(".jp-Notebook .jp-CodeCell")
    for _ in range(code_cells.count()):
        prompts = panel.evaluate(READ_NOTEBOOK)["prompts"]
        if "[ ]:" not in prompts:
            break
        prompt = code_cells.nth(prompts.index("[ ]:")).locator(".jp-InputPrompt")
        prompt.click()
        menu(page, "Run", "notebook:run-all-below")
        page.wait_for_function("e => e.textContent.trim() !== '[ ]:'", arg=prompt.element_handle())
        page.wait_for_function(RUN_FINISHED, arg=panel.element_handle(), timeout=RUN_TIMEOUT)
    result = panel.evaluate(READ_NOTEBOOK)
    assert "[ ]:" not in result["prompts"], f"{student}'s cells did not all run: {result['prompts']}"
    panel.locator(".jp-OutputArea-output img").last.scroll_into_view_if_needed()
    shot(page, f"05-{student}-run-all")
    images = [src for o in result["outputs"] for src in o["images"] if src.startswith("data:image/png")]
    assert len(images) >= MIN_FIGURES, f"{student} sees {len(images)} figures, expected {MIN_FIGURES}"
    noise = [o["text"][:200] for o in result["outputs"] if NOISE.search(o["text"])]
    assert not noise, f"TensorFlow's log lines under {student}'s cells: {noise}"
    # Validate saves the notebook first, then nbgrader validates the saved file.
    panel.locator(".jp-NotebookPanel-toolbar jp-button.validate-button").click()
    message = page.locator(".jp-Dialog #validation-message")
    changed = page.locator(".jp-Dialog", has_text="File Changed")
    message.or_(changed).first.wait_for(timeout=VALIDATE_TIMEOUT)
    if changed.count():  # the autosave raced the save: what the student typed is what counts
        changed.locator("button", has_text="Overwrite").click()
        message.wait_for(timeout=VALIDATE_TIMEOUT)
    shot(page, f"06-{student}-validate")
    css = message.get_attribute("class") or ""
    if student == "student1":
        assert "validation-success" in css.split(), message.text_content()[-2000:]
    else:
        assert "validation-success" in css.split() or "validation-failed" in css.split(), css
    page.locator(".jp-Dialog .jp-Dialog-footer .jp-mod-accept").click()
    message.wait_for(state="detached")

    tab = assignments_tab(page, the_hub, student)
    press(tab, "fetched", "Submit", then="submitted")
    shot(page, f"07-{student}-submitted")
    inbound = hub_site.EXCHANGE / hub_site.COURSE_ID / "inbound"
    assert any(p.name.startswith(f"{student}+{ASSIGNMENT}+") for p in inbound.iterdir()), \
        f"the Assignments tab lists {student}'s submission, the exchange's inbound has none"
    # Fetch Feedback before any is released: the submission's row says so in words.
    assignment_row(tab, "submitted").locator("button", has_text="Fetch Feedback").click()
    assignment_row(tab, "submitted").locator("button", has_text="Fetch Feedback").wait_for()
    words = tab.evaluate("""t => [...t.querySelectorAll('.nested_list_item .item_name > span')]
        .map(s => s.textContent + getComputedStyle(s, '::after').content)""")
    shot(page, f"07b-{student}-no-feedback-yet")
    assert words and all(hub_jupyterlab.NO_FEEDBACK_WORDS in w for w in words), words
    assert not (Path("/home") / student / ASSIGNMENT / "feedback").exists()


# --------------------------------------------------------------------------- 3. grading

def test_instructor_collects_and_autogrades_from_the_formgrader(the_hub, pages):
    page = pages("instructor")
    page.goto(f"{the_hub['url']}/user/instructor/formgrader/manage_assignments")
    page.locator("#main-table td.name", has_text=ASSIGNMENT).wait_for()
    formgrader_click(page, ASSIGNMENT, "collect", "08-instructor-collected")

    page.goto(f"{the_hub['url']}/user/instructor/formgrader/manage_submissions/{ASSIGNMENT}")
    expected = _expected_totals()
    for student in ("student1", "student2"):
        page.locator("#main-table td.student-id", has_text=student).wait_for()
        log = formgrader_click(page, student, "autograde", f"09-instructor-autograded-{student}")
        # Test cells as released get their hidden tests back quietly (cnnviz.grading.restore_hidden_tests.RestoreHiddenTests).
        assert "has changed" not in log, log[-2000:]
        row = page.locator("#main-table tr", has=page.locator("td.student-id", has_text=student))
        score = row.locator("td.score")
        score.filter(has_text="/").wait_for()
        assert score.inner_text().split("/")[0].strip() == f"{expected[student]:g}", (student, score.inner_text())
    shot(page, "10-instructor-scores")


def test_instructor_sees_a_submission_with_its_figures_in_jupyterlab(the_hub, pages):
    """Manage Students → student2 → the assignment → the notebook, inside JupyterLab's formgrader tab."""
    page = pages("instructor")
    frame = lab_formgrader(page, the_hub)
    frame.locator("a", has_text="Manage Students").first.click()
    frame.locator("a[href$='/formgrader/manage_students/student2']").click()
    frame.locator(f"a[href$='/formgrader/manage_students/student2/{ASSIGNMENT}']").click()
    frame.locator("a[href*='/formgrader/submissions/']").first.click()
    frame.locator("#notebook-container, .jp-Notebook, body").first.wait_for()
    frame.locator("img[src^='data:image/png']").first.wait_for(timeout=120_000)
    text = frame.locator("body").inner_text()
    assert "encountered an error" not in text, text[:2000]
    sizes = frame.locator("img[src^='data:image/png']").evaluate_all(
        "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    frame.locator("img[src^='data:image/png']").last.scroll_into_view_if_needed()
    shot(page, "11-instructor-submission-view")
    drawn = [s for s in sizes if s[0] and s[1] > 0 and s[2] > 0]
    assert len(drawn) >= MIN_FIGURES, f"{len(drawn)} figures drawn in student2's submission view: {sizes}"


def test_instructor_generates_and_releases_feedback_from_the_formgrader(the_hub, pages):
    page = pages("instructor")
    frame = lab_formgrader(page, the_hub)
    frame.locator("#main-table td.name", has_text=ASSIGNMENT).wait_for()
    # Before any feedback is generated, Release Feedback says that nothing was released.
    text = formgrader_click(page, ASSIGNMENT, "release-feedback", "12a-instructor-nothing-to-release", scope=frame,
                            success=False)
    assert "No feedback released" in text, text[-2000:]
    formgrader_click(page, ASSIGNMENT, "generate-feedback", "12b-instructor-feedback-generated", scope=frame)
    formgrader_click(page, ASSIGNMENT, "release-feedback", "12c-instructor-feedback-released", scope=frame)
    released = list((hub_site.EXCHANGE / hub_site.COURSE_ID / "feedback").glob("*.html"))
    assert len(released) == len(hub_site.students()), released


def test_instructor_exports_grades_from_a_terminal_in_the_course_folder(the_hub, pages):
    """nbgrader's own command in a JupyterLab terminal, which opens in the course folder."""
    page = pages("instructor")
    # ?reset: a workspace without the tabs an earlier run left open (restored terminals take the focus).
    page.goto(f"{the_hub['url']}/user/instructor/lab/workspaces/export?reset")
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="File").wait_for()
    grades = hub_site.instructor_course() / "grades.csv"
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu .lm-Menu-item[data-type='submenu']", has_text=re.compile("^New")).first.hover()
    page.locator(".lm-Menu .lm-Menu-item[data-command='terminal:create-new']").click()
    terminal = page.locator("#jp-main-dock-panel > .lm-Widget:not(.lm-mod-hidden) .jp-Terminal")
    terminal.wait_for()
    # bash is ready for keys once its first prompt has set the tab's title to user@host: folder.
    title = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel",
                         has_text="instructor@")
    title.wait_for(timeout=SPAWN_TIMEOUT)
    assert title.inner_text().rstrip().endswith(f"~/{hub_site.COURSE_DIR_NAME}"), title.inner_text()
    assert page.locator(".jp-Terminal").count() == 1, "other terminals are open: the keys may go to one of them"
    terminal.click()
    page.keyboard.type("nbgrader export --to grades.csv\n")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (grades.is_file() and grades.stat().st_size > 0):
        page.wait_for_timeout(500)  # polls the real condition: the file nbgrader writes
    shot(page, "13-instructor-export")
    assert grades.is_file(), f"no grades.csv in the course: what the terminal shows is in {ARTIFACTS / '13-instructor-export.png'}"
    assert not (Path("/home") / hub_site.INSTRUCTOR / "grades.csv").exists()
    rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(grades.open())}
    assert rows == _expected_totals(), rows


# --------------------------------------------------------------------------- 4. feedback

@pytest.mark.parametrize("student", ["student1", "student2"])
def test_student_fetches_and_reads_feedback(the_hub, pages, student):
    page = pages(student)
    tab = assignments_tab(page, the_hub, student)
    assignment_row(tab, "submitted").locator("button", has_text="Fetch Feedback").click()
    tab.locator("#submitted_assignments_list", has_text="view feedback").wait_for()
    shot(page, f"14-{student}-feedback-fetched")
    found = sorted((Path("/home") / student / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert found, f"no feedback fetched into {student}'s folder"
    relative = found[-1].relative_to(Path("/home") / student)
    page.goto(f"{the_hub['url']}/user/{student}/files/{relative}")
    text = page.locator("body").inner_text()
    shot(page, f"15-{student}-feedback")

    total = _expected_totals()[student]
    assert re.search(rf"\b{total:g}(\.0+)?\s*/\s*100(\.0+)?\b", text), f"no score {total:g} / 100 in {student}'s feedback"
    images = page.locator("img[src^='data:image/png']")
    assert images.count() >= MIN_FIGURES, f"{images.count()} figures in {student}'s feedback"
    # The grader's own messages for the cells this student lost, word for word.
    autograded = hub_site.instructor_course() / "autograded" / student / ASSIGNMENT / NOTEBOOK
    messages = notebooks.failure_messages(notebooks.read_notebook(autograded))
    if student == "student1":
        assert not messages, messages
    else:
        lost = {g for name in MISTAKES for g in catalogue.by_name()[name].loses}
        assert set(messages) == lost, (sorted(messages), sorted(lost))
        flat = " ".join(text.split())
        for grade_id, message in messages.items():
            # The page shows each half on its own wrapped lines: look for the start of the Korean half.
            korean = message.split(": ", 1)[-1].partition(" / ")[0]
            words = " ".join(korean.split())[:80]
            assert words in flat, f"{grade_id}: message {words!r} not in the feedback"
    from cnnviz import lesson_steps

    titles = [lesson_steps.STEPS[g].title_en for g in notebooks.grade_points(notebooks.read_notebook(autograded))]
    assert any(title in text for title in titles), "no step names in the feedback"
    (ARTIFACTS / f"{student}-feedback.json").write_text(json.dumps({"score": total, "messages": messages},
                                                                   ensure_ascii=False, indent=2))
