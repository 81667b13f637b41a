"""The released assignment in a real JupyterLab, as a student and the instructor meet it.

A student opens a correctly completed copy of the release, runs *Restart Kernel
and Run All Cells* (README, student's workflow) and presses nbgrader's
**Validate**; another student's copy with one mistake the visible tests catch
gets the failing check's bilingual message; the instructor finds the assignment
and its 100 points in the formgrader, by its URL and through the Nbgrader menu.

Screenshots of every step go to ``test-artifacts/e2e/`` (``FAILED-*.png`` when
a test fails, with the tail of JupyterLab's log in the report).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

from cnnviz import ASSIGNMENT, lesson, lesson_steps
from labpage import READ_NOTEBOOK, RUN_FINISHED

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PANEL = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the current tab
KERNEL_NAME = "Python 3 (ipykernel)"
KERNEL_TIMEOUT = 90_000     # ms: the kernel starts in ~2 s
RUN_TIMEOUT = 120_000       # ms: the whole notebook runs in ~12 s
VALIDATE_TIMEOUT = 240_000  # ms: nbgrader runs the notebook again in a fresh kernel (~16 s)
MIN_FIGURES = 7             # hist, kernels, untrained hist, untrained kernels, sample, 2 feature-map grids
NOISE = re.compile(r"oneDNN|absl|cuda", re.IGNORECASE)  # TensorFlow's C++ start-up lines
HANGUL = re.compile(r"[\uac00-\ud7a3]")
SUCCESS = "Success! Your notebook passes all the tests."
FAILED_CELL = "The following cell failed:"
TEST_CELL_ID = re.compile(r'lesson\.check\("(test_\w+)"')
STEPS_AFTER_THE_FIRST = len(lesson_steps.STEPS) - 1  # a-mistake-in-every-step: one mistake in each

# Text nodes of the rendered markdown cells that still hold `**` (CommonMark did not close a bold).
MARKDOWN_STARS = """panel => {
  const cells = [...panel.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')];
  const bad = [];
  for (const cell of cells) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) if (node.textContent.includes('**')) bad.push(node.textContent.slice(0, 160));
  }
  return {rendered: cells.length, bad};
}"""

# Wrap each "AssertionError" of the Validate dialog's text in a span, so that each failure can be
# scrolled to; the number of them.
MARK_FAILURES = """e => {
  const nodes = [];
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) nodes.push(node);
  let count = 0;
  for (let current of nodes) {
    let at;
    while ((at = current.textContent.indexOf('AssertionError')) >= 0) {
      const hit = current.splitText(at);
      current = hit.splitText('AssertionError'.length);
      const span = document.createElement('span');
      span.className = 'cnnviz-failure';
      hit.parentNode.insertBefore(span, hit);
      span.appendChild(hit);
      count++;
    }
  }
  return count;
}"""



# The kernel is ready: the toolbar names it and reports it idle, or JupyterLab asks for a kernel.
KERNEL_READY = """([panel, name]) => {
  if (document.querySelector('.jp-Dialog')) return true;
  const p = document.querySelector(panel);
  if (!p) return false;
  const kernel = p.querySelector('.jp-KernelName');
  const ind = p.querySelector('.jp-Notebook-ExecutionIndicator');
  return !!kernel && kernel.textContent.trim() === name && !!ind && ind.dataset.status === 'idle';
}"""


# --------------------------------------------------------------------------- helpers

def shot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=path)
    return path


def open_notebook(page, lab, relpath: str, workspace: str):
    """Open ``relpath`` in JupyterLab (own workspace: no tabs restored) and wait for its kernel."""
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{relpath}"))
    panel = page.locator(PANEL)
    panel.locator(".jp-Cell").first.wait_for()
    page.wait_for_function(KERNEL_READY, arg=[PANEL, KERNEL_NAME], timeout=KERNEL_TIMEOUT)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():  # "Select Kernel": the notebook's metadata names python3, so not expected
        select = dialog.locator("select")
        if select.count():
            select.select_option(label=KERNEL_NAME)
        dialog.locator(".jp-Dialog-footer .jp-mod-accept").click()
        dialog.wait_for(state="detached")
        page.wait_for_function(KERNEL_READY, arg=[PANEL, KERNEL_NAME], timeout=KERNEL_TIMEOUT)
    assert panel.locator(".jp-KernelName").inner_text().strip() == KERNEL_NAME
    return panel


def menu(page, top: str, command: str) -> None:
    """Click menu ``top`` in the menu bar, then its item running JupyterLab command ``command``."""
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(f".lm-Menu .lm-Menu-item[data-command='{command}']").click()


def restart_and_run_all(page, panel) -> dict:
    """Kernel → Restart Kernel and Run All Cells…, confirm, wait until the run is over; read the notebook."""
    before = panel.evaluate(READ_NOTEBOOK)
    assert all(p == "[ ]:" for p in before["prompts"]), f"the notebook was already run: {before['prompts']}"
    menu(page, "Kernel", "runmenu:restart-and-run-all")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Restart Kernel?").wait_for()
    dialog.locator(".jp-Dialog-footer .jp-mod-accept").click()  # "Restart"
    dialog.wait_for(state="detached")
    page.wait_for_function(RUN_FINISHED, arg=panel.element_handle(), timeout=RUN_TIMEOUT)
    return panel.evaluate(READ_NOTEBOOK)


def validate(page, panel, artifacts: Path, name: str, each_failure: bool = False) -> tuple[str, str, list[str]]:
    """Press Validate, wait for nbgrader's result dialog; its class, its text and the text of
    every box in it too wide to show without scrolling sideways. Screenshot, then Ok.

    ``each_failure``: also one screenshot of the dialog per failed cell, scrolled to its message
    (``<name>-NN-<grade_id>.png``)."""
    button = panel.locator(".jp-NotebookPanel-toolbar jp-button.validate-button")
    assert button.inner_text().strip() == "Validate"
    button.click()
    message = page.locator(".jp-Dialog #validation-message")
    message.wait_for(timeout=VALIDATE_TIMEOUT)
    if each_failure:
        grade_ids = TEST_CELL_ID.findall(message.text_content())
        count = message.evaluate(MARK_FAILURES)
        assert count == len(grade_ids), (count, grade_ids)
        dialog = page.locator(".jp-Dialog-content")
        for k, grade_id in enumerate(grade_ids):
            message.locator(".cnnviz-failure").nth(k).evaluate("e => e.scrollIntoView({block: 'center'})")
            dialog.screenshot(path=artifacts / f"{name}-{k + 1:02d}-{grade_id}.png")
    # Show the end of the result (a failing check's message ends the traceback).
    message.evaluate("""e => { for (const x of [e, ...e.querySelectorAll('pre, .jp-RenderedText')]) {
                           x.scrollTop = x.scrollHeight; } }""")
    shot(page, artifacts, name)
    too_wide = message.evaluate("""e => [...e.querySelectorAll('pre')]
                                      .filter(x => x.scrollWidth > x.clientWidth + 1).map(x => x.innerText)""")
    result = message.get_attribute("class"), message.text_content(), too_wide
    page.locator(".jp-Dialog .jp-Dialog-footer .jp-mod-accept").click()  # "Ok"
    message.wait_for(state="detached")
    return result


def code_cells(path: Path) -> int:
    return sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)


def markdown_cells(path: Path) -> int:
    return sum(cell.cell_type == "markdown" for cell in nbformat.read(path, as_version=4).cells)


# --------------------------------------------------------------------------- student: a correct copy

@pytest.fixture(scope="module")
def solved(browser, lab, course, artifacts):
    """The correctly completed copy, open in JupyterLab with its kernel ready."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(60_000)
    page = context.new_page()
    panel = open_notebook(page, lab, course.solved, "solved")
    shot(page, artifacts, "01-solved-opened")
    yield page, panel
    context.close()


def test_chromium_is_installed(chromium_problem):
    """The browser the other tests drive: missing, this fails (never skips) and names the package."""
    if chromium_problem:
        pytest.fail(chromium_problem, pytrace=False)


def test_run_all_cells_draws_every_figure_without_errors(solved, course, artifacts):
    page, panel = solved
    kernel_config = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    assert kernel_config.is_file() and "capture_fd_output = False" in kernel_config.read_text(), (
        f"{kernel_config} must set c.IPKernelApp.capture_fd_output = False (the Makefile writes it: "
        "`make install`), otherwise TensorFlow's C++ log lines land in the notebook's outputs")

    result = restart_and_run_all(page, panel)
    # The last figure (second-layer feature maps) for the screenshot.
    panel.locator(".jp-OutputArea-output img").last.scroll_into_view_if_needed()
    shot(page, artifacts, "02-solved-run-all")

    n_code = code_cells(course.root / course.solved)
    errors = [o["text"][-600:] for o in result["outputs"]
              if o["mime"] == "application/vnd.jupyter.stderr" and re.search(r"Traceback|Error", o["text"])]
    assert not errors, "error outputs after Run All:\n" + "\n---\n".join(errors)
    assert result["prompts"] == [f"[{i}]:" for i in range(1, n_code + 1)], (
        f"every one of the {n_code} code cells must have run once, in order: {result['prompts']}")
    assert result["status"] == "idle"
    images = [src for o in result["outputs"] for src in o["images"]]
    assert len(images) >= MIN_FIGURES, f"{len(images)} images in the outputs, expected at least {MIN_FIGURES}"
    assert all(src.startswith("data:image/png") for src in images), images
    noise = [o["text"][:300] for o in result["outputs"] if NOISE.search(o["text"])]
    assert not noise, "TensorFlow's log lines in the outputs:\n" + "\n---\n".join(noise)
    stderr = [o["text"][:300] for o in result["outputs"] if o["mime"] == "application/vnd.jupyter.stderr"]
    assert not stderr, "stderr in the outputs:\n" + "\n---\n".join(stderr)


def test_every_markdown_cell_renders_its_bold_in_chromium(solved, course):
    """No text node of a rendered markdown cell holds `**` (issue 19: Korean particles after a bold)."""
    page, panel = solved
    cells = panel.locator(".jp-MarkdownCell")
    for k in range(cells.count()):  # each rendered once it has been on screen
        cells.nth(k).scroll_into_view_if_needed()
    found = panel.evaluate(MARKDOWN_STARS)
    assert found["rendered"] == markdown_cells(course.root / course.solved), found["rendered"]
    assert found["bad"] == [], "markdown shown with literal ** in JupyterLab:\n" + "\n".join(found["bad"])


def test_validate_reports_success(solved, artifacts):
    page, panel = solved
    css, text, _ = validate(page, panel, artifacts, "03-solved-validate")
    assert "validation-success" in css.split(), f"nbgrader's Validate did not succeed:\n{text[-3000:]}"
    assert SUCCESS in text


# --------------------------------------------------------------------------- student: one visible mistake

def test_validate_names_the_failing_check_in_both_languages(new_page, lab, course, artifacts):
    """``hist_fig`` holds the Axes, not the Figure: the visible test cell's check fails."""
    page = new_page()
    panel = open_notebook(page, lab, course.mistake, "mistake")
    shot(page, artifacts, "04-mistake-opened")
    css, text, too_wide = validate(page, panel, artifacts, "05-mistake-validate")

    # The message the check gives for this mistake, made here by the very same function.
    _, axes = plt.subplots()
    with pytest.raises(AssertionError) as caught:
        lesson.check("test_hist", {"hist_fig": axes})
    plt.close("all")
    message = str(caught.value)
    english = "hist_fig should be a matplotlib Figure, found Axes."
    assert english in message and HANGUL.search(message), message

    assert "validation-failed" in css.split(), f"Validate should fail:\n{text[-3000:]}"
    assert text.count("The following cell failed:") == 1, text[-3000:]
    assert 'lesson.check("test_hist", globals())' in text  # the visible test cell is shown
    # The whole bilingual message, as the check words it: the Korean half, then the English half,
    # each on its own lines, wrapped to fit the dialog (it never wraps a line itself).
    ko, _, en = message.partition(" / ")
    flat = " ".join(text.split())
    assert f"AssertionError: {' '.join(ko.split())} {' '.join(en.split())}" in flat, (
        f"missing the check's message {message!r} in:\n{text[-3000:]}")
    assert not too_wide, f"Validate shows lines too wide for its dialog (it never wraps them): {too_wide}"


def test_validate_names_a_mistake_in_every_step(new_page, lab, course, artifacts):
    """One visible mistake in each step after the first: Validate names all of them, each in both
    languages on lines that fit its dialog; one screenshot per message."""
    page = new_page()
    panel = open_notebook(page, lab, course.every_step, "every-step")
    css, text, too_wide = validate(page, panel, artifacts, "13-validate-every-step", each_failure=True)
    assert "validation-failed" in css.split()
    named = TEST_CELL_ID.findall(text)
    assert text.count(FAILED_CELL) == STEPS_AFTER_THE_FIRST and sorted(named) == sorted(
        g for g in lesson_steps.STEPS if g != "test_load_model"), named
    for block in text.split(FAILED_CELL)[1:]:
        message = " ".join(block.split("AssertionError:", 1)[-1].split())
        assert HANGUL.search(message) and " [" in message, message[:300]  # "[단계] … [step] …"
    assert not too_wide, f"Validate shows lines too wide for its dialog: {too_wide}"

    page = new_page()
    panel = open_notebook(page, lab, course.first_step_undone, "first-step-undone")
    css, text, _ = validate(page, panel, artifacts, "13-validate-first-step-undone", each_failure=True)
    assert TEST_CELL_ID.findall(text)[0] == "test_load_model", text[:2000]


def _failed_cells(panel) -> list[int]:
    """Indexes (among code cells) of the test cells with an error output."""
    return panel.evaluate("""p => [...p.querySelectorAll('.jp-CodeCell')].map((c, i) =>
        c.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        && c.querySelector('.jp-InputArea').textContent.includes('lesson.check(') ? i : -1)
        .filter(i => i >= 0)""")


def test_run_all_stops_at_a_failing_test_and_run_below_goes_on(new_page, lab, course, artifacts):
    """Run All stops at the first failing test cell; *Run Selected Cell and All Below* from the next
    cell goes on, as the how-to-work cell says; a passing test cell prints its one line. A screenshot
    of every failed test cell, at about the Validate dialog's width."""
    page = new_page()
    page.set_viewport_size({"width": 1100, "height": 1000})
    panel = open_notebook(page, lab, course.every_step_run, "every-step-run")
    result = restart_and_run_all(page, panel)
    prompts = result["prompts"]
    first_failed = _failed_cells(panel)
    assert len(first_failed) == 1, first_failed
    assert all(p == "[ ]:" for p in prompts[first_failed[0] + 1:]), "Run All should stop at the failing test"
    assert any(lesson.PASSED in o["text"] for o in result["outputs"]), "the passing test cell says nothing"

    code = panel.locator(".jp-CodeCell")
    for _ in range(len(prompts)):  # at most once per cell: each round runs at least one
        prompts = panel.evaluate(READ_NOTEBOOK)["prompts"]
        if "[ ]:" not in prompts:
            break
        next_cell = prompts.index("[ ]:")
        code.nth(next_cell).locator(".jp-InputPrompt").click()
        menu(page, "Run", "notebook:run-all-below")
        page.wait_for_function(f"""panel => {{
            const p = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
            const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            return p[{next_cell}] !== '[ ]:' && !p.includes('[*]:') && ind && ind.dataset.status === 'idle';
        }}""", arg=panel.element_handle(), timeout=RUN_TIMEOUT)
    result = panel.evaluate(READ_NOTEBOOK)
    assert "[ ]:" not in result["prompts"], result["prompts"]
    failed = _failed_cells(panel)
    assert len(failed) == STEPS_AFTER_THE_FIRST, failed

    for index in failed:
        cell = code.nth(index)
        cell.scroll_into_view_if_needed()
        grade_id = TEST_CELL_ID.search(cell.locator(".jp-InputArea").text_content()).group(1)
        output = cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        overflow = output.evaluate("e => [...e.querySelectorAll('pre')].some(x => x.scrollWidth > x.clientWidth + 1)")
        cell.screenshot(path=artifacts / f"14-failed-cell-{grade_id}.png")
        assert not overflow, f"{grade_id}: the failed test cell's message is wider than the cell"
        text = " ".join(output.text_content().split())
        assert text.startswith("AssertionError: [") and HANGUL.search(text), text[:300]


# --------------------------------------------------------------------------- instructor: formgrader

def _assert_listed(frame) -> None:
    row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text="cnn_visualization"))
    row.wait_for()


def _assert_points(frame, course) -> None:
    from playwright.sync_api import expect  # here: `make test` collects this module without Playwright

    assert course.max_score == 100, course.max_score  # 20 test cells of 5 points (README)
    row = frame.locator("#main-table tr", has=frame.locator("td.name", has_text="cnn_visualization"))
    row.wait_for()
    # "average / max": no submission in this course's gradebook yet.
    expect(row.locator("td.score")).to_have_text(f"0 / {course.max_score:g}")


def test_formgrader_url_lists_the_assignment_and_its_points(new_page, lab, course, artifacts):
    page = new_page()
    page.goto(lab.url("/formgrader"))
    page.wait_for_url("**/formgrader/manage_assignments")
    _assert_listed(page)
    shot(page, artifacts, "06-formgrader-manage-assignments")
    page.goto(lab.url("/formgrader/gradebook"))
    _assert_points(page, course)
    shot(page, artifacts, "07-formgrader-gradebook")


def test_formgrader_from_the_nbgrader_menu(new_page, lab, course, artifacts):
    page = new_page()
    page.goto(lab.url("/lab/workspaces/instructor"))
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()
    menu(page, "Nbgrader", "nbgrader:open-formgrader")
    frame = page.frame_locator("#jp-main-dock-panel iframe")
    _assert_listed(frame)
    shot(page, artifacts, "08-lab-formgrader")
    frame.get_by_role("link", name="Manual Grading").click()
    _assert_points(frame, course)
    shot(page, artifacts, "09-lab-formgrader-gradebook")


# --------------------------------------------------------------------------- instructor: grading from the formgrader

FORMGRADE_TIMEOUT = 300_000  # ms: one sandboxed autograde takes ~10 s, more on a loaded machine


def _formgrader_action(page, student: str, column: str, artifacts: Path, name: str) -> str:
    """Click the formgrader's ``column`` link (autograde, generate-feedback) for ``student``; the modal's text."""
    row = page.locator("#main-table tr", has=page.locator("td.student-id", has_text=student))
    row.locator(f"td.{column} a").click()
    modal = page.locator("#success-modal, #error-modal")
    modal.wait_for(state="visible", timeout=FORMGRADE_TIMEOUT)
    shot(page, artifacts, name)
    text = modal.inner_text()
    assert modal.get_attribute("id") == "success-modal", f"the formgrader's {column} failed:\n{text[-3000:]}"
    modal.locator(".modal-footer button").click()
    modal.wait_for(state="detached")
    return text


def test_formgrader_autograde_and_feedback_show_the_figures(new_page, lab, course, artifacts):
    """Graded from the formgrader inside `make lab`, the feedback carries the student's figures."""
    student = course.formgrader_student
    page = new_page()
    page.goto(lab.url("/formgrader"))  # logs in (the token becomes a cookie the formgrader's API calls carry)
    page.wait_for_url("**/formgrader/manage_assignments")
    page.goto(f"{lab.base}/formgrader/manage_submissions/{ASSIGNMENT}")
    page.locator("#main-table td.student-id", has_text=student).wait_for()
    _formgrader_action(page, student, "autograde", artifacts, "10-formgrader-autograde")
    _formgrader_action(page, student, "generate-feedback", artifacts, "11-formgrader-feedback")

    autograded = nbformat.read(course.root / "autograded" / student / ASSIGNMENT
                               / f"{ASSIGNMENT}.ipynb", as_version=4)
    pngs = [o for cell in autograded.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) >= MIN_FIGURES, f"{len(pngs)} figures in the autograded notebook, expected {MIN_FIGURES}"

    feedback = course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    page.goto(feedback.as_uri())
    images = page.locator("img[src^='data:image/png']")
    assert images.count() >= MIN_FIGURES, f"{images.count()} figures in {feedback}, expected {MIN_FIGURES}"
    images.first.scroll_into_view_if_needed()
    shot(page, artifacts, "12-formgrader-feedback-html")
    assert "100.0" in page.locator("body").inner_text()  # the solution's full score in the feedback header
