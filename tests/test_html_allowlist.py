"""The allow-list (cnnviz.grading.html_allowlist): what of a student's HTML any page may render.

The sanitiser's steps run every HTML, Markdown and raw cell through it, and so
do the exporters' ``clean_html`` filter; test_inert_outputs shows it on a
hostile HTML output. Here, what it must keep for a grader to read (nbconvert's
highlighted code, the feedback's MathML formulas, tables) and the attributes
it must take off even the tags it keeps.
"""

import pytest

from cnnviz.grading.html_allowlist import clean_html
from studentcontent import DANGER, SCRIPT


@pytest.mark.parametrize("markup", [
    # nbconvert's highlighted code: the class names Pygments and nbconvert write.
    '<div class="highlight hl-ipython3"><pre><span class="k">def</span> <span class="nf">f</span>'
    '<span class="p">():</span></pre></div>',
    # The feedback's formulas, as latex2mathml writes them.
    '<math display="block"><mrow><msqrt><msub><mi>x</mi><mi>i</mi></msub></msqrt>'
    '<mo stretchy="false">+</mo><mn>1</mn></mrow></math>',
    '<table><thead><tr><th>층</th></tr></thead><tbody><tr><td colspan="2">합성곱</td></tr></tbody></table>',
])
def test_markup_a_grader_reads_is_kept_as_it_is(markup):
    assert clean_html(markup) == markup, "the allow-list should keep the markup a grader reads as it is"


def test_kept_tags_lose_every_attribute_that_could_run_or_cover_the_page():
    html = ('<p id="x" style="position:fixed" onclick="alert(1)">가중치</p>'
            '<table><tr><td colspan="2" onmouseover="alert(1)">층</td></tr></table>'
            '<a href="javascript:alert(1)" title="t">링크</a><span class="navbar-fixed-top k">x</span>')
    cleaned = clean_html(html)
    assert not DANGER.search(cleaned) and "id=" not in cleaned, cleaned
    assert "<p>가중치</p>" in cleaned and '<td colspan="2">층</td>' in cleaned and "링크" in cleaned
    assert "navbar" not in cleaned, "a class that lays a box over the page is dropped"


def test_bytes_are_read_as_utf8_and_a_script_keeps_only_its_text():
    assert clean_html(f"<p>합성곱</p>{SCRIPT}".encode()) == "<p>합성곱</p>document.title='PWNED'"
