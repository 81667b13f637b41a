"""The allow-list (cnnviz.grading.html_allowlist): what of a student's HTML any page may render.

The sanitiser's steps run every HTML, Markdown and raw cell through it, and so
do the exporters' ``clean_html`` filter; test_inert_outputs shows it on a
hostile HTML output. Here, what it must keep for a grader to read (nbconvert's
highlighted code, the feedback's MathML formulas, tables) and the attributes
it must take off even the tags it keeps.
"""

from cnnviz.grading.html_allowlist import clean_html
from studentcontent import DANGER, SCRIPT


def test_highlighted_code_keeps_the_classes_pygments_and_nbconvert_write():
    code = ('<div class="highlight hl-ipython3"><pre><span class="k">def</span> <span class="nf">f</span>'
            '<span class="p">():</span></pre></div>')
    assert clean_html(code) == code


def test_formulas_keep_their_mathml():
    math = ('<math display="block"><mrow><msqrt><msub><mi>x</mi><mi>i</mi></msub></msqrt>'
            '<mo stretchy="false">+</mo><mn>1</mn></mrow></math>')
    assert clean_html(math) == math


def test_kept_tags_lose_every_attribute_that_could_run_or_cover_the_page():
    html = ('<p id="x" style="position:fixed" onclick="alert(1)">가중치</p>'
            '<td colspan="2" onmouseover="alert(1)">층</td><a href="javascript:alert(1)" title="t">링크</a>'
            '<span class="navbar-fixed-top k">x</span>')
    cleaned = clean_html(html)
    assert not DANGER.search(cleaned) and "id=" not in cleaned, cleaned
    assert "<p>가중치</p>" in cleaned and "링크" in cleaned and "navbar" not in cleaned


def test_bytes_are_read_as_utf8_and_a_script_keeps_only_its_text():
    assert clean_html(f"<p>합성곱</p>{SCRIPT}".encode()) == "<p>합성곱</p>document.title='PWNED'"
