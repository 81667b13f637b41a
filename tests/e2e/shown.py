"""The shown submissions of tests/submissions/hostile.toml (kind = "shown"), built and watched in a browser.

Shared by the browser tests on `make lab` (test_shown_submissions.py) and on
`make hub` (test_hub_shown.py): each submission's notebook with its scripts
filled in, and the page scripts that tell whether any of them ran.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
import urllib.parse
from pathlib import Path

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import catalogue, notebooks

HOSTILE = Path(__file__).resolve().parents[1] / "submissions" / "hostile.toml"
CANARY_PREFIX = "xss-canary-"
TITLE_MARK = "PWNED"
HONEST = {"honest-solution": "solution", "honest-mistake": "no-vmin-vmax"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
MIN_FIGURES = 7  # hist, kernels, untrained hist, untrained kernels, sample, 2 feature-map grids

# What a script does once it runs: record its place in a global (of the top page when it can reach it),
# set the title, and PUT a canary file into the server's root with the viewer's cookies and XSRF token.
_PAYLOAD = """(function(){var p="PLACE";var ws=[window];try{if(window.top!==window){ws.push(window.top)}}catch(e){}
ws.forEach(function(w){try{w.cnnvizXss=(w.cnnvizXss||[]).concat([p])}catch(e){}});
try{document.title="TITLE "+p}catch(e){}
var m=location.pathname.match(/^(.*?\\/)(formgrader|files|view|lab|tree|notebooks|edit)\\//);var base=m?m[1]:"/";
var x=(document.cookie.match(/(?:^|; )_xsrf=([^;]+)/)||[])[1]||"";
fetch(base+"api/contents/CANARY"+p+".txt",{method:"PUT",credentials:"include",headers:{"Content-Type":"application/json",
"X-XSRFToken":decodeURIComponent(x)},body:JSON.stringify({type:"file",format:"text",content:p})}).catch(function(){});})()"""


def payload(place: str) -> str:
    """A quote- and space-free JavaScript expression that runs the payload for ``place``."""
    code = _PAYLOAD.replace("PLACE", place).replace("TITLE", TITLE_MARK).replace("CANARY", CANARY_PREFIX)
    encoded = "".join(f"%{byte:02X}" for byte in code.replace("\n", "").encode())
    return f"eval(decodeURIComponent(/{encoded}/.source))"


def short_payload(place: str) -> str:
    """Without %, slash, space or quote (for TeX and file names): only the global, as the place's length."""
    return f"window.cnnvizXss=[{len(place)}]"


_PLACE = re.compile(r"@XSS(MIN)?:([\w-]+)@")


def fill(text: str) -> str:
    """``text`` with its @XSS:place@ and @XSSMIN:place@ placeholders filled in."""
    return _PLACE.sub(lambda m: short_payload(m[2]) if m[1] else payload(m[2]), text)


def _filled(value):
    if isinstance(value, str):
        return fill(value)
    if isinstance(value, dict):
        return {fill(k): _filled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v) for v in value]
    return value


def entries() -> list[dict]:
    """The shown submissions, as raw TOML tables."""
    with open(HOSTILE, "rb") as handle:
        return [raw for raw in tomllib.load(handle)["submission"] if raw["kind"] == "shown"]


def places(raw: dict) -> list[str]:
    """Every place a submission carries a script in."""
    return sorted(set(m[2] for m in _PLACE.finditer(json.dumps(raw, ensure_ascii=False))))


def notebook(raw: dict, release_nb, source_nb):
    """The submitted notebook: the solution, plus the cells and metadata the entry adds, scripts filled in."""
    import nbformat

    entry = catalogue.Submission(**{k: raw[k] for k in ("name", "kind", "mistake", "answers", "blank", "loses")
                                    if k in raw})
    nb = entry.notebook(release_nb, source_nb)
    for added in raw.get("added_cells", []):
        after = added.get("after", "dense_model")
        index = next(i for i, c in enumerate(nb.cells) if notebooks.grade_id(c) == after)
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[added["cell_type"]]
        cell = make(fill(added["source"].strip("\n")))
        cell.metadata.update(_filled(added.get("metadata", {})))
        if "attachments" in added:
            cell["attachments"] = _filled(added["attachments"])
        nb.cells.insert(index + 1, cell)
    nb.metadata.update(_filled(raw.get("notebook_metadata", {})))
    return nb


def submit_class(course: Path) -> list[str]:
    """Honest students and every shown submission placed in ``course/submitted/``; their names."""
    from cnnviz.course import pipeline

    release_nb = notebooks.read_notebook(course / "release" / ASSIGNMENT / settings.NOTEBOOK)
    source_nb = notebooks.read_notebook(course / "source" / ASSIGNMENT / settings.NOTEBOOK)
    known = catalogue.by_name()
    for student, entry in HONEST.items():
        pipeline.submit(course, student, known[entry].notebook(release_nb, source_nb))
    for raw in entries():
        pipeline.submit(course, raw["name"], notebook(raw, release_nb, source_nb))
        for name, content in raw.get("files", {}).items():
            (course / "submitted" / raw["name"] / ASSIGNMENT / fill(name)).write_text(content)
    return list(HONEST) + [raw["name"] for raw in entries()]


def expected_scores(student: str, points: dict[str, float]) -> dict[str, float]:
    """What each graded cell must score: the catalogue's rule for the honest, full points for the shown."""
    known = catalogue.by_name()
    if student in HONEST:
        return known[HONEST[student]].expected_scores(points)
    return {grade_id: p for grade_id, p in points.items()}


# Whether any script ran in the page or one of its frames: the globals and the title it would set.
RAN = """() => ({places: window.cnnvizXss || [], title: document.title})"""


def scripts_that_ran(page) -> list[str]:
    """The places whose script ran in ``page`` (any of its frames), by their global or the title."""
    ran = []
    for frame in page.frames:
        try:
            found = frame.evaluate(RAN)
        except Exception:  # a frame that went away or is another origin: its title is checked below
            continue
        ran += found["places"]
        if TITLE_MARK in found["title"]:
            ran.append(f"title: {found['title']}")
    if TITLE_MARK in page.title():
        ran.append(f"title: {page.title()}")
    return sorted(set(ran))


def canaries(folder: Path) -> list[str]:
    """Canary files any script managed to write into ``folder``."""
    return sorted(p.name for p in folder.glob(f"{CANARY_PREFIX}*"))


def control(page) -> None:
    """Run the payload itself in ``page``: it must write its canary (the test's proof that it can)."""
    page.evaluate(f"() => {payload('control')}")


def prove_the_payload_writes(page, course: Path) -> None:
    """Run the payload by hand in ``page`` (the instructor's formgrader) and fail unless its canary
    appears in ``course``: without that, finding no canary later would prove nothing. The canary
    is removed again."""
    control(page)
    deadline = time.monotonic() + 15
    while not canaries(course) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert canaries(course) == [f"{CANARY_PREFIX}control.txt"], (
        "the payload run by hand in the instructor's formgrader page wrote no canary: this test would prove nothing")
    (course / f"{CANARY_PREFIX}control.txt").unlink()


# What an honest page shows: figures (PNG), Korean text, formulas (MathML, or TeX when no MathJax loads).
SHOWN = """() => ({
  pngs: [...document.querySelectorAll('img')].filter(i => (i.getAttribute('src') || '').startsWith('data:image/png')
        && i.naturalWidth > 0).length,
  maths: document.querySelectorAll('math').length,
  text: document.body.innerText,
})"""


def honest_page(page) -> dict:
    """Figures, formulas and Korean on ``page``."""
    shown = page.evaluate(SHOWN)
    score = re.search(r"Score: ([\d.]+ / [\d.]+)", shown["text"])
    return {"pngs": shown["pngs"], "maths": shown["maths"], "hangul": bool(HANGUL.search(shown["text"])),
            "tex": "\\sqrt" in shown["text"] or "\\pm" in shown["text"], "score": score[1] if score else None}


def submission_ids(db_url: str, students: list[str]) -> dict[str, str]:
    """The formgrader's id of each student's notebook submission."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {s: gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).id for s in students}


def quoted(path: str) -> str:
    return urllib.parse.quote(path)
