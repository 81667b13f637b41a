"""Every markdown cell renders as its author meant (issue 19, item 1).

A student reads the instructions rendered: in JupyterLab, whose renderer
(`marked`) follows CommonMark's emphasis rules, and in nbconvert's HTML (the
formgrader, the feedback), which renders with mistune. CommonMark closes a
``**`` only where it is right-flanking: after a code span or a bracket (both
punctuation) it must be followed by a space or punctuation, so
``**`model`**에`` shows its asterisks. This test renders every markdown cell
of ``source/`` and ``release/`` with both renderers and fails on any literal
``*``, ``_`` or backtick left in the text (outside code), on a ``$`` or a TeX
command outside a formula, and on a cell whose bold or code was lost.

Formulas are taken out before rendering, as JupyterLab does (its
``removeMath`` hands them to MathJax untouched).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nbformat
import pytest
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from cnnviz.course import pipeline

NOTEBOOKS = {stage: pipeline.paths()[stage] for stage in ("source", "release")}
# $$...$$ first, then $...$ on one line; a backslash-escaped dollar is not a delimiter.
MATH = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$\n]+?(?<!\\)\$", re.DOTALL)
MATH_STAND_IN = "FORMULA"
MARKERS = re.compile(r"\*|_|`")
TEX_OUTSIDE_MATH = re.compile(r"\$|\\(sqrt|text|frac|pm|times)\b")

RENDERERS = {
    # JupyterLab's marked follows CommonMark's delimiter rules; markdown-it is the reference implementation.
    "commonmark (JupyterLab)": MarkdownIt("commonmark").enable("table").render,
    "mistune (nbconvert HTML)": markdown2html_mistune,
}


class _Text(HTMLParser):
    """The text a reader sees outside code, and how many <strong> and <code> elements there are."""

    def __init__(self):
        super().__init__()
        self.depth = {"code": 0, "pre": 0}
        self.prose: list[str] = []
        self.counts = {"strong": 0, "code": 0}

    def handle_starttag(self, tag, attrs):
        if tag in self.depth:
            self.depth[tag] += 1
        if tag in self.counts:
            self.counts[tag] += 1

    def handle_endtag(self, tag):
        if tag in self.depth:
            self.depth[tag] -= 1

    def handle_data(self, data):
        if not any(self.depth.values()):
            self.prose.append(data)


def markdown_cells(stage: str) -> list[tuple[int, str]]:
    nb = nbformat.read(NOTEBOOKS[stage], as_version=4)
    return [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]


def render_problems(source: str, render) -> list[str]:
    """What a reader of ``source`` rendered by ``render`` would see that its author did not mean."""
    found = []
    formulas = MATH.findall(source)
    for formula in formulas:
        body = formula.strip("$")
        if body.count("{") != body.count("}"):
            found.append(f"unbalanced braces in the formula {formula!r}")
    html = render(MATH.sub(MATH_STAND_IN, source))
    text = _Text()
    text.feed(html)
    prose = " ".join(text.prose)
    for pattern, what in ((MARKERS, "a literal markdown marker"), (TEX_OUTSIDE_MATH, "an unrendered formula")):
        for hit in pattern.finditer(prose):
            found.append(f"{what} {hit.group()!r} in: ...{prose[max(0, hit.start() - 30):hit.end() + 30]!r}...")
    if source.count("**") and text.counts["strong"] * 2 < source.count("**"):
        found.append(f"{source.count('**') // 2} bold spans written, {text.counts['strong']} rendered")
    wanted_code = len(re.findall(r"`[^`]+`", MATH.sub("", source)))
    if text.counts["code"] < wanted_code:
        found.append(f"{wanted_code} code spans written, {text.counts['code']} rendered")
    return found


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("stage", NOTEBOOKS)
def test_every_markdown_cell_renders_without_literal_markers(stage, renderer):
    render = RENDERERS[renderer]
    bad = {f"cell {i}": p for i, source in markdown_cells(stage) if (p := render_problems(source, render))}
    assert bad == {}, f"{stage} rendered with {renderer}:\n" + "\n".join(
        f"  {cell}: {line}" for cell, lines in bad.items() for line in lines)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_the_check_sees_the_korean_flanking_problem(renderer):
    """The test itself: CommonMark leaves ``**`` that follows a code span and precedes a particle."""
    render = RENDERERS[renderer]
    assert render_problems("**`model`**에 담으세요.", render)
    assert render_problems("**가중치(커널)**를 봅니다.", render)
    assert render_problems("fan_in = 3", render)
    assert render_problems("경계는 \\sqrt{6}입니다.", render)
    assert render_problems("$\\sqrt{6$", render)
    assert render_problems("**`model`** 변수에 담고 $\\pm\\sqrt{6 / (\\text{fan\\_in})}$를 구하세요.", render) == []
    assert render_problems("**가중치**(커널)를 봅니다. `fan_in`", render) == []
