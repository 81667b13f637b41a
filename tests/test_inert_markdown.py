"""InertMarkdown (cnnviz.grading.inert_markdown): the markdown and raw cells a student could write, made inert."""

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook, new_raw_cell

from cnnviz import COURSE_ROOT
from cnnviz.grading import inert_markdown
from studentcontent import DANGER, SCRIPT


def run(*cells):
    nb = new_notebook()
    nb.cells.extend(cells)  # unvalidated, as a student's file may be
    nb, _ = inert_markdown.InertMarkdown().preprocess(nb, {})
    return nb


def test_a_markdown_cell_the_student_added_loses_html_links_and_attachments_but_keeps_its_text():
    cell = new_markdown_cell(f"## 제 답\n\n가중치는 **0** 근처입니다. {SCRIPT}\n\n"
                             "[보기](javascript:fetch('/api/contents')) <a href='JaVaScRiPt:alert(1)'>a</a>\n\n"
                             "<img src=x onerror=alert(1)> ![그림](attachment:x.png)\n\n<iframe srcdoc='<script>x</script>'>")
    cell.attachments = {"x.png": {"image/svg+xml": "<svg onload=alert(1)>"}}
    kept = run(cell).cells[0]
    assert "attachments" not in kept
    assert not DANGER.search(kept.source), kept.source
    assert "제 답" in kept.source and "<strong>0</strong>" in kept.source and "[그림]" in kept.source


def test_plain_markdown_stays_markdown_and_locked_instructor_cells_are_left_alone():
    plain = new_markdown_cell("가중치의 평균은 $\\mu$입니다.\n\n| 층 | 모양 |\n|---|---|\n| conv | (3, 3) |")
    locked = new_markdown_cell("<b>instructor's</b> text")
    locked.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True, "grade_id": "intro",
                                   "schema_version": 3}
    cells = run(plain, locked).cells
    assert cells[0].source == plain.source, "markdown with nothing to remove is not rewritten"
    assert cells[1].source == "<b>instructor's</b> text"


def test_the_instructors_markdown_cells_survive_unchanged():
    release = nbformat.read(COURSE_ROOT / "release" / "cnn_visualization" / "cnn_visualization.ipynb", 4)
    sources = [cell.source for cell in release.cells if cell.cell_type == "markdown"]
    assert [inert_markdown.inert_markdown(s) for s in sources] == sources


def test_a_raw_cell_is_cleaned_as_html():
    cell = new_raw_cell(f"<p>raw</p>{SCRIPT}")
    cell.metadata["format"] = "text/html"
    assert run(cell).cells[0].source == "<p>raw</p>document.title='PWNED'"

