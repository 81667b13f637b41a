"""``make demo``: the instructor's whole loop, in a scratch course of its own.

The demo course lives in ``demo/course/`` (git-ignored), made afresh on every
run from this course's ``nbgrader_config.py`` and ``source/``, with its own
SQLite gradebook: the instructor's ``submitted/``, ``autograded/``,
``feedback/``, ``gradebook.db`` (or the PostgreSQL gradebook named by
``NBGRADER_DB_URL``) and the committed ``release/`` and ``solutions/`` are never
touched, and ``git status`` stays clean.

Submissions are placed as ``nbgrader collect`` leaves them (with
``timestamp.txt``), students are added to the gradebook, autograded by the class
driver (``cnnviz.course.classgrade``), and feedback is generated and released one
student at a time: one broken student gets one line and the others go on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cnnviz import COURSE_ROOT
from cnnviz.course import catalogue, classgrade, pipeline
from cnnviz.course.notebooks import grade_points, read_notebook

DEMO_PARENT = COURSE_ROOT / "demo"


def demo(parent: Path = DEMO_PARENT, root: Path = COURSE_ROOT) -> dict[str, dict[str, float]]:
    """The instructor's whole loop on the demo class in ``parent/course``; prints the score table and the paths."""
    print(f"[demo] 1/6 a scratch course of its own: {parent / 'course'} (the course's own folders are not touched)")
    scratch = pipeline.scratch_course(parent, root, fresh=True)
    url = pipeline.scratch_db_url(scratch)
    where = pipeline.paths(scratch)
    print("[demo] 2/6 release and solutions: source/ -> release/, solutions/ (executed)")
    pipeline.generate_solutions(scratch)

    print("[demo] 3/6 demo submissions -> submitted/")
    release_nb, source_nb = read_notebook(where["release"]), read_notebook(where["source"])
    class_ = catalogue.demo_class()
    for entry in class_:
        target = pipeline.collect(scratch, entry.name, entry.notebook(release_nb, source_nb))
        print(f"       {entry.name:<28} {entry.mistake}  ({target.relative_to(scratch)})")
    names = [entry.name for entry in class_]

    print("[demo] 4/6 autograde: submitted/ -> autograded/")
    outcomes = classgrade.autograde_class(scratch, students=names, db_url=url)
    graded = [o.student for o in outcomes if o.ok]
    print(f"       graded {len(graded)} of {len(names)} students")
    print("[demo] 5/6 feedback: autograded/ -> feedback/ and the demo's exchange")
    # The demo's exchange is made afresh too: feedback released by an earlier run stays out of this one.
    exchange = Path(parent) / "exchange"
    shutil.rmtree(exchange, ignore_errors=True)
    exchange.mkdir()
    done = pipeline.generate_feedback(scratch, graded, exchange)
    print(f"       feedback for {len(done)} of {len(graded)} students")
    print("[demo] 6/6 export: gradebook -> grades.csv")
    pipeline.export_grades(scratch)

    points = grade_points(source_nb)
    scores = {s: v for s, v in pipeline.read_scores(scratch, url).items() if s in names}
    expected = {e.name: sum(e.expected_scores(points).values()) for e in class_}
    print()
    pipeline.print_table(scores, points, expected)
    print()
    print("[demo] wrote (all under the ignored demo/ folder):")
    for key in ("release", "solutions", "submitted", "autograded", "feedback", "grades"):
        print(f"       {key:<10} {where[key]}")
    print(f"       gradebook  {url}")
    return scores
