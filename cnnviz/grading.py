"""The instructor's pipeline, on top of nbgrader's own commands.

``nbgrader generate_assignment`` -> ``release/``; ``generate_solution`` ->
``solutions/``; submissions in ``submitted/``; ``autograde`` ->
``autograded/``; ``generate_feedback`` -> ``feedback/``; ``export`` -> CSV.
Scores are read back from nbgrader's gradebook, failure messages from the
autograded notebooks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import ASSIGNMENT, COURSE_ROOT, CourseError, settings

NOTEBOOK = settings.NOTEBOOK
CATALOGUE = COURSE_ROOT / "tests" / "submissions" / "catalogue.toml"


# --------------------------------------------------------------------------- nbgrader

def nbgrader_env() -> dict:
    """Environment for nbgrader and the kernels it starts."""
    kernel = settings.kernel_env()
    env = dict(os.environ)
    env.setdefault(settings.TF_LOG_VARIABLE, kernel[settings.TF_LOG_VARIABLE])
    env["MPLBACKEND"] = kernel["MPLBACKEND"]
    # Kernels started outside nbgrader (tests, benchmarks) import this package even
    # when it is not installed. Grading kernels get nothing from here: the jail
    # (cnnviz/jail.py, named in nbgrader_config.py) sets their environment and limits.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")]))
    # nbgrader runs `alembic` (its gradebook migrations) from PATH: use this environment's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_nbgrader(*args: str, root: Path = COURSE_ROOT, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course folder ``root``; raise CourseError if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args]
    if not quiet:
        print(f"[nbgrader] {' '.join(['nbgrader', *args])}", flush=True)
    result = subprocess.run(command, cwd=root, env=nbgrader_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if "[ERROR]" in line or "Error" in line]
        detail = "\n".join(errors[-8:]) or result.stdout[-2000:]
        raise CourseError(f"`nbgrader {' '.join(args)}` failed in {root}:\n{detail}")
    return result


def db_url(root: Path = COURSE_ROOT) -> str:
    """The gradebook URL nbgrader uses for this course (the rule ``nbgrader_config.py`` applies)."""
    return settings.db_url(root)


# --------------------------------------------------------------------------- notebooks

def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, or raise one CourseError that says what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such notebook file; give the path of a .ipynb file")
    if path.stat().st_size == 0:
        raise CourseError(f"{path}: the file is empty; save the notebook in JupyterLab and try again")
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, nbformat.reader.NotJSONError) as exc:
        raise CourseError(f"{path}: not a Jupyter notebook (not valid JSON: {str(exc)[:120]}); "
                          "open it in JupyterLab, or download it again") from None
    except Exception as exc:  # nbformat raises several kinds for malformed notebooks
        raise CourseError(f"{path}: not a readable Jupyter notebook ({type(exc).__name__}: "
                          f"{str(exc)[:120]})".replace("\n", " ")) from None
    if not isinstance(nb.get("cells"), list):
        raise CourseError(f"{path}: not a Jupyter notebook (it has no list of cells)")
    return nb


def answer_cells(nb) -> dict[str, object]:
    """The autograded answer cells of a notebook, by nbgrader grade_id."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"}


def solution_answers(source_nb) -> dict[str, str]:
    """The instructor's answer for each answer cell: the source cell without its delimiters."""
    answers = {}
    for grade_id, cell in answer_cells(source_nb).items():
        lines = [line for line in cell.source.splitlines()
                 if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
        answers[grade_id] = "\n".join(lines)
    return answers


def fill_release(release_nb, answers: dict[str, str]):
    """A copy of the released notebook with the given answer cells' source replaced."""
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    cells = answer_cells(nb)
    unknown = set(answers) - set(cells)
    if unknown:
        raise CourseError(f"no answer cell with grade_id {sorted(unknown)} in the release")
    for grade_id, source in answers.items():
        cells[grade_id].source = source.strip("\n")
    return nb


def grade_points(nb) -> dict[str, float]:
    """Points of each graded test cell, by grade_id, in notebook order."""
    return {cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"].get("points", 0))
            for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")}


def failure_messages(autograded_nb) -> dict[str, str]:
    """For each graded cell that raised, its last error line (``Name: message``)."""
    messages = {}
    for cell in autograded_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                messages[meta["grade_id"]] = f"{output.get('ename')}: {output.get('evalue')}"
    return messages


# --------------------------------------------------------------------------- catalogue

@dataclass
class Submission:
    """One entry of the submission catalogue: a released notebook filled in one way."""

    name: str
    kind: str  # "right" or "wrong"
    mistake: str
    answers: dict[str, str] = field(default_factory=dict)
    blank: list[str] | str = field(default_factory=list)
    loses: list[str] | str = field(default_factory=list)
    demo: bool = False

    def notebook(self, release_nb, source_nb):
        """The submitted notebook: solutions everywhere but the overridden and blank cells."""
        answers = solution_answers(source_nb)
        blank = list(answers) if self.blank == "all" else list(self.blank)
        for grade_id in blank:
            answers.pop(grade_id)
        answers.update(self.answers)
        return fill_release(release_nb, answers)

    def expected_scores(self, points: dict[str, float]) -> dict[str, float]:
        """The score each graded cell must get: zero for the cells it loses ("all": every one), full for the rest."""
        return {grade_id: (0.0 if self.loses == "all" or grade_id in self.loses else p)
                for grade_id, p in points.items()}


def load_catalogue(path: Path = CATALOGUE) -> list[Submission]:
    """Read the submission catalogue (TOML)."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    return [Submission(**entry) for entry in data["submission"]]


# --------------------------------------------------------------------------- class pipeline

def paths(root: Path = COURSE_ROOT) -> dict[str, Path]:
    """Where each stage of the pipeline reads or writes."""
    return {
        "source": root / "source" / ASSIGNMENT / NOTEBOOK,
        "release": root / "release" / ASSIGNMENT / NOTEBOOK,
        "solutions": root / "solutions" / ASSIGNMENT / NOTEBOOK,
        "submitted": root / "submitted",
        "autograded": root / "autograded",
        "feedback": root / "feedback",
        "grades": root / "grades.csv",
    }


def submit(root: Path, student: str, nb) -> Path:
    """Place a notebook where nbgrader expects student ``student``'s submission."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NOTEBOOK
    nbformat.write(nb, target)
    return target


def read_scores(root: Path = COURSE_ROOT, url: str | None = None) -> dict[str, dict[str, float]]:
    """Autograded score of each graded cell, per student, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(url or db_url(root)) as gradebook:
        for student in gradebook.students:
            try:
                nb = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            scores[student.id] = {grade.name: float(grade.score) for grade in nb.grades}
    return scores


def print_table(scores: dict[str, dict[str, float]], points: dict[str, float],
                expected: dict[str, float] | None = None) -> None:
    """Students x graded parts (numbered, with a legend), totals, and the expected totals if given."""
    ids = list(points)
    width = max([len(s) for s in scores] + [7])
    numbers = " ".join(f"{k + 1:>2}" for k in range(len(ids)))
    extra = "  expected" if expected else ""
    print(f"{'student':<{width}}  total{extra}  {numbers}")
    for student in sorted(scores):
        cells = scores[student]
        total = sum(cells.get(i, 0.0) for i in ids)
        marks = " ".join(f"{cells.get(i, 0.0):>2.0f}" for i in ids)
        if expected:
            want = expected.get(student)
            verdict = "" if want is None else (f"{want:5.0f} ok" if abs(want - total) < 1e-9 else f"{want:5.0f} !!")
            print(f"{student:<{width}}  {total:5.0f}  {verdict:<8}  {marks}")
        else:
            print(f"{student:<{width}}  {total:5.0f}  {marks}")
    print("parts: " + ", ".join(f"{k + 1} {i.removeprefix('test_')} ({points[i]:g})" for k, i in enumerate(ids)))


def generate_release(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader generate_assignment``: source/ -> release/ (also records the assignment in the gradebook)."""
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=root)
    return paths(root)["release"]


def generate_solutions(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader generate_solution``: source/ -> solutions/, executed, figures included."""
    run_nbgrader("generate_solution", ASSIGNMENT, "--force", root=root)
    return paths(root)["solutions"]


def autograde(root: Path = COURSE_ROOT, students: list[str] | None = None) -> None:
    """``nbgrader autograde`` for the whole class, or only for ``students``."""
    if not students:
        run_nbgrader("autograde", ASSIGNMENT, "--force", root=root)
        return
    # Only the named students: real students' submissions in submitted/ are left alone.
    for student in students:
        run_nbgrader("autograde", ASSIGNMENT, "--force", f"--student={student}", root=root)


def generate_feedback(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader generate_feedback``: autograded/ -> feedback/ (HTML, no hidden test code)."""
    run_nbgrader("generate_feedback", ASSIGNMENT, "--force", root=root)
    return paths(root)["feedback"]


def export_grades(root: Path = COURSE_ROOT) -> Path:
    """``nbgrader export``: the gradebook -> grades.csv."""
    target = paths(root)["grades"]
    run_nbgrader("export", f"--to={target}", root=root)
    return target


# --------------------------------------------------------------------------- one notebook

def scratch_course(parent: Path, root: Path = COURSE_ROOT) -> Path:
    """A throw-away course in ``parent/course``: this course's config and source, the
    assignment generated, and its own gradebook (``nbgrader_config.py`` puts it in the
    course folder)."""
    course = Path(parent) / "course"
    course.mkdir()
    shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(root / "source", course / "source")
    run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=course, quiet=True)
    return course


def grade_submissions(notebooks: dict, root: Path = COURSE_ROOT) -> dict[str, dict]:
    """Autograde notebooks (student name -> notebook) in a scratch course with nbgrader.

    Returns, per student, ``{"scores": {grade_id: score}, "messages": {grade_id: message},
    "caught_by": {grade_id: "visible" or "hidden"}}`` (see ``cnnviz.trusted``).
    The real gradebook and class folders are not touched.
    """
    results = {}
    with tempfile.TemporaryDirectory(prefix="cnnviz-grade-") as tmp:
        course = scratch_course(Path(tmp), root)
        for student, nb in notebooks.items():
            submit(course, student, nb)
        run_nbgrader("autograde", ASSIGNMENT, "--force", root=course, quiet=True)
        scores = read_scores(course)
        for student in notebooks:
            graded = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
            graded_nb = read_notebook(graded) if graded.is_file() else None
            results[student] = {
                "scores": scores.get(student, {}),
                "messages": failure_messages(graded_nb) if graded_nb else {},
                # "visible" where the student's own Validate names the mistake too (cnnviz.trusted)
                "caught_by": {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["cnnviz_caught_by"]
                              for cell in (graded_nb.cells if graded_nb else [])
                              if "cnnviz_caught_by" in cell.metadata and "nbgrader" in cell.metadata},
            }
    return results


def grade_notebook(path: Path, root: Path = COURSE_ROOT) -> dict:
    """Grade one notebook exactly as ``nbgrader autograde`` does; return the report.

    The report holds the total, and for each graded cell its points, score and
    failure message.
    """
    submitted = read_notebook(path)
    points = grade_points(read_notebook(paths(root)["source"]))
    result = grade_submissions({"student": submitted}, root)["student"]
    cells = [{"grade_id": grade_id, "points": p, "score": result["scores"].get(grade_id, 0.0),
              "message": result["messages"].get(grade_id, "")}
             for grade_id, p in points.items()]
    return {"notebook": str(path), "score": sum(c["score"] for c in cells),
            "max_score": sum(points.values()), "cells": cells}


def print_report(report: dict) -> None:
    """The report of ``grade_notebook`` as text."""
    print(f"{report['notebook']}: {report['score']:g} / {report['max_score']:g}")
    for cell in report["cells"]:
        mark = "ok  " if cell["score"] >= cell["points"] else "FAIL"
        print(f"  {mark} {cell['grade_id']:<24} {cell['score']:g}/{cell['points']:g}")
        if cell["message"]:
            print(f"       {cell['message']}")
