"""``python -m cnnviz grade NOTEBOOK``: grade one notebook as nbgrader autograde does.

Unusable input ends with exit status 2 and one ``error:`` line naming the file,
quickly and without a traceback; a usable notebook is graded (exit status 0
whatever the score). The feedback students get shows each failed check's
message but never the hidden tests' code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import catalogue, classgrade, nbrun, pipeline

NOTEBOOK = f"{ASSIGNMENT}.ipynb"
RELEASE_NB = COURSE_ROOT / "release" / ASSIGNMENT / NOTEBOOK
SOURCE_NB = COURSE_ROOT / "source" / ASSIGNMENT / NOTEBOOK
GRADED_CELLS = 20
CELL_KEYS = {"grade_id", "points", "score", "message"}


def _grade(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnviz", "grade", *args], cwd=cwd,
                          env=nbrun.nbgrader_env(), text=True, capture_output=True, timeout=timeout)


def _catalogue_entry(name: str) -> catalogue.Submission:
    entries = catalogue.by_name()
    assert name in entries, f"no entry {name!r} in {catalogue.CATALOGUE}"
    return entries[name]


# --------------------------------------------------------------------------- unusable input

def _missing(folder: Path) -> Path:
    return folder / "missing.ipynb"


def _empty(folder: Path) -> Path:
    path = folder / "empty.ipynb"
    path.write_bytes(b"")
    return path


def _not_json(folder: Path) -> Path:
    path = folder / "not-json.ipynb"
    path.write_text("this is { not JSON\n")
    return path


def _json_not_notebook(folder: Path) -> Path:
    path = folder / "scores.ipynb"
    path.write_text(json.dumps({"student": "kim", "score": 100}))
    return path


def _a_folder(folder: Path) -> Path:
    path = folder / "notebook-folder.ipynb"
    path.mkdir()
    return path


UNUSABLE = [
    pytest.param(_missing, id="missing-file"),
    pytest.param(_empty, id="empty-file"),
    pytest.param(_not_json, id="not-json"),
    pytest.param(_json_not_notebook, id="json-but-not-a-notebook"),
    pytest.param(_a_folder, id="a-folder"),
]


@pytest.mark.parametrize("make_input", UNUSABLE)
def test_unusable_input_exits_2_with_one_error_line_naming_the_file(tmp_path, make_input):
    path = make_input(tmp_path)

    result = _grade(str(path), cwd=tmp_path, timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 2, f"`grade {path.name}` exited {result.returncode}, not 2:\n{output[-2000:]}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, f"expected exactly one `error:` line on stderr, got {len(errors)}:\n{result.stderr}"
    assert path.name in errors[0], f"the error line does not name the file {path.name}: {errors[0]!r}"
    assert "Traceback" not in output, f"`grade {path.name}` printed a traceback:\n{output[-2000:]}"


_PROBE = """
import json, sys
from cnnviz.course.cli import main
status = main(["grade", sys.argv[1]])
heavy = sorted(name for name in ("tensorflow", "keras", "nbgrader", "nbformat", "nbclient", "rfc3987_syntax")
               if sys.modules.get(name) is not None)
print(json.dumps({"status": status, "heavy": heavy}))
"""


@pytest.mark.parametrize("make_input, allowed", [
    pytest.param(_missing, set(), id="missing-file"),
    pytest.param(_empty, set(), id="empty-file"),
    pytest.param(_not_json, {"nbformat"}, id="not-json"),
    pytest.param(_json_not_notebook, {"nbformat"}, id="json-but-not-a-notebook"),
])
def test_unusable_input_is_rejected_before_any_slow_import(tmp_path, make_input, allowed):
    # Importing nbgrader costs about 1.6 s and TensorFlow about 4 s; a file that is not
    # there or not a notebook needs neither (a missing or empty one not even nbformat), nor
    # the RFC 3987 grammar that jsonschema would compile under nbformat (1 to 4 s).
    path = make_input(tmp_path)

    result = subprocess.run([sys.executable, "-c", _PROBE, str(path)], cwd=tmp_path, env=nbrun.nbgrader_env(),
                            text=True, capture_output=True, timeout=60)

    assert result.returncode == 0, f"the probe failed:\n{result.stderr[-2000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["status"] == 2, f"`grade {path.name}` returned {report['status']}, not 2"
    slow = set(report["heavy"]) - allowed
    assert not slow, f"`grade {path.name}` imported {sorted(slow)} before rejecting the file"


# --------------------------------------------------------------------------- grading

@pytest.mark.slow
def test_untouched_release_scores_0_and_the_json_report_lists_every_graded_cell(tmp_path):
    notebook = tmp_path / NOTEBOOK
    shutil.copy(RELEASE_NB, notebook)

    result = _grade(str(notebook), "--json", cwd=tmp_path)

    assert result.returncode == 0, f"`grade --json` exited {result.returncode}:\n{result.stderr[-3000:]}"
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"`grade --json` did not print only JSON on stdout ({exc}):\n{result.stdout[:2000]}")
    assert report["score"] == 0, f"the untouched release scored {report['score']}, not 0"
    assert report["max_score"] == 100, f"max_score is {report['max_score']}, not 100"
    cells = report["cells"]
    assert len(cells) == GRADED_CELLS, f"the report lists {len(cells)} cells, not {GRADED_CELLS}"
    incomplete = [cell.get("grade_id") for cell in cells if set(cell) != CELL_KEYS]
    assert not incomplete, f"report cells without exactly the keys {sorted(CELL_KEYS)}: {incomplete}"
    silent = [cell["grade_id"] for cell in cells if cell["score"] < cell["points"] and not cell["message"]]
    assert not silent, f"failed cells with no message for the student: {silent}"


@pytest.mark.slow
def test_solution_scores_100_of_100(tmp_path):
    release_nb = nbformat.read(RELEASE_NB, as_version=4)
    source_nb = nbformat.read(SOURCE_NB, as_version=4)
    notebook = tmp_path / "my-work.ipynb"
    nbformat.write(_catalogue_entry("solution").notebook(release_nb, source_nb), notebook)

    result = _grade(str(notebook), cwd=tmp_path)

    assert result.returncode == 0, f"`grade` exited {result.returncode}:\n{result.stderr[-3000:]}"
    assert "100 / 100" in result.stdout, f"the solution did not score 100 / 100:\n{result.stdout[-3000:]}"


@pytest.mark.slow
def test_feedback_shows_the_failed_checks_message_but_no_hidden_test_code(tmp_path):
    course = pipeline.scratch_course(tmp_path)
    entry = _catalogue_entry("no-vmin-vmax")
    release_nb = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    source_nb = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    pipeline.submit(course, entry.name, entry.notebook(release_nb, source_nb))

    url = pipeline.scratch_db_url(course)
    assert all(o.ok for o in classgrade.autograde_class(course, students=[entry.name], db_url=url, quiet=True))
    assert pipeline.generate_feedback(course, [entry.name]) == [entry.name]

    pages = list((course / "feedback" / entry.name / ASSIGNMENT).glob("*.html"))
    assert len(pages) == 1, f"expected one feedback page for {entry.name}, found {pages}"
    html = pages[0].read_text(encoding="utf-8")
    # The page's stylesheet names Pygments' token classes ("Generic.Traceback"): read what is shown.
    shown = re.sub(r"(?is)<style\b.*?</style>", "", html)
    # Messages are wrapped to fit Validate's dialog: compare words, not line breaks.
    assert "colour range other than the instructions give" in " ".join(shown.split()), \
        "the feedback does not show the failed check's message ('... colour range other than the instructions give ...')"
    # The summary names each step with its points (cnnviz.grading.feedback), not twenty "Test cell" entries.
    assert "6. 커널 그림 / the kernel grid</a> (0.0 / 5.0)" in shown, "the summary does not name the lost step"
    assert "Test cell" not in shown
    for secret in ("BEGIN HIDDEN TESTS", "check_hidden", "Traceback"):
        assert secret not in shown, f"the feedback shows {secret!r}: hidden test code reaches the student"
