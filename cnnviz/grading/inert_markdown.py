"""Markdown a student wrote, rendered and made inert: the markdown and raw cells, and the exporters' filter.

nbconvert's own Markdown renderer (formulas kept as ``$...$``), with images
shown as their alt text and no attachments, then the allow-list
(``cnnviz.grading.html_allowlist``).
"""

from __future__ import annotations

from html import escape as html_escape

import jinja2
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from cnnviz.grading.html_allowlist import clean_html


def _markdown_renderer():
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class TextImages(IPythonRenderer):
        """Images as their alt text: a markdown image is never loaded (attachments are dropped)."""

        def image(self, text, url, title=None):
            # The attribute is not on the allow-list: a cell with an image always differs once cleaned.
            return '<span data-image="">[' + html_escape(str(text or "image")) + "]</span>"

    # No anchor links: they need ids, which the allow-list drops.
    return MarkdownWithMath(renderer=TextImages(escape=False, attachments={}, exclude_anchor_links=True))


def markdown_html(source: str) -> str:
    """Markdown rendered to HTML by nbconvert's own renderer (formulas kept as ``$...$``) and cleaned."""
    return clean_html(_markdown_renderer().render(str(source)))


@jinja2.pass_context
def markdown_to_html(context, source) -> str:
    """The exporters' ``markdown2html`` filter: nbconvert's rendering (no attachments), then ``clean_html``."""
    return markdown_html(source)


def inert_markdown(source: str) -> str:
    """A markdown cell's source that renders nothing the allow-list removes.

    Markdown whose rendering the sanitiser leaves as it is stays the same
    Markdown (the instructions, a student's plain answer). Otherwise the cell
    becomes its cleaned rendering: HTML that Markdown renders as itself, the
    removed parts gone, the text still readable.
    """
    rendered = _markdown_renderer().render(str(source))
    cleaned = clean_html(rendered)
    return str(source) if cleaned == rendered else cleaned


class InertMarkdown(NbGraderPreprocessor):
    """Markdown and raw cells a student could write or change, cleaned; their attachments removed.

    nbgrader's locked cells are left alone: ``OverwriteCells`` has already put
    the instructor's source back in them.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type not in ("markdown", "raw"):
            return cell, resources
        cell.pop("attachments", None)
        if utils.is_locked(cell) and not utils.is_solution(cell):
            return cell, resources
        if cell.cell_type == "markdown":
            cell.source = inert_markdown(cell.source)
        else:
            # A raw cell is copied as it is into HTML when its format says so: clean it as HTML.
            cell.source = clean_html(cell.source)
        return cell, resources
