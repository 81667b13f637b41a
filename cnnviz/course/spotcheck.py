"""Grading notebooks outside any class: ``cnnviz grade`` (a TA's spot check) and the catalogue tests.

The notebooks are graded by the class driver (``cnnviz.course.classgrade``), with
exactly the class's hidden tests and jail, in a scratch course with its own
gradebook: the real gradebook and class folders are not touched.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cnnviz import ASSIGNMENT, COURSE_ROOT
from cnnviz.course import classgrade, pipeline
from cnnviz.course.notebooks import caught_by, failure_messages, grade_points, read_notebook
from cnnviz.grading.plaintext import terminal_safe


def grade_submissions(notebooks: dict, root: Path = COURSE_ROOT) -> dict[str, dict]:
    """Autograde notebooks (student name -> notebook) in a scratch course of ``root``.

    Returns, per student, ``{"scores": {grade_id: score}, "messages": {grade_id: message},
    "caught_by": {grade_id: "visible", "reference" or "hidden"}, "error": why it was not graded, or ""}``
    (see ``cnnviz.grading.trusted``).
    """
    results = {}
    with tempfile.TemporaryDirectory(prefix="cnnviz-grade-") as tmp:
        scratch = pipeline.scratch_course(Path(tmp), root)
        url = pipeline.scratch_db_url(scratch)
        for student, nb in notebooks.items():
            pipeline.submit(scratch, student, nb)
        outcomes = {o.student: o for o in classgrade.autograde_class(scratch, students=list(notebooks),
                                                                     db_url=url, quiet=True)}
        scores = pipeline.read_scores(scratch, url)
        for student in notebooks:
            graded = scratch / "autograded" / student / ASSIGNMENT / pipeline.NOTEBOOK
            graded_nb = read_notebook(graded) if graded.is_file() else None
            results[student] = {
                "scores": scores.get(student, {}),
                "messages": failure_messages(graded_nb) if graded_nb else {},
                "caught_by": caught_by(graded_nb) if graded_nb else {},
                "error": outcomes[student].message,
            }
    return results


def grade_notebook(path: Path, root: Path = COURSE_ROOT) -> dict:
    """Grade one notebook exactly as ``nbgrader autograde`` does; return the report.

    The report holds the total, for each graded cell its points, score and
    failure message, and why the notebook could not be graded, if it could not.
    """
    submitted = read_notebook(path)
    points = grade_points(read_notebook(pipeline.paths(root)["source"]))
    result = grade_submissions({"student": submitted}, root)["student"]
    cells = [{"grade_id": grade_id, "points": p, "score": result["scores"].get(grade_id, 0.0),
              "message": result["messages"].get(grade_id, "")}
             for grade_id, p in points.items()]
    return {"notebook": str(path), "score": sum(c["score"] for c in cells),
            "max_score": sum(points.values()), "error": result["error"], "cells": cells}


def print_report(report: dict) -> None:
    """The report of ``grade_notebook`` as text."""
    print(f"{report['notebook']}: {report['score']:g} / {report['max_score']:g}")
    if report.get("error"):
        print(f"  not graded: {terminal_safe(report['error'])}")
    for cell in report["cells"]:
        mark = "ok  " if cell["score"] >= cell["points"] else "FAIL"
        print(f"  {mark} {cell['grade_id']:<24} {cell['score']:g}/{cell['points']:g}")
        if cell["message"]:
            print(f"       {terminal_safe(cell['message'])}")
