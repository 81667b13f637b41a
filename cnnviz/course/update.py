"""Changing the assignment mid-course: ``python -m cnnviz update-assignment``.

The common edits once students have submitted: points changed, a test cell added or
removed, a typo fixed in a test. nbgrader alone refuses the second ("Cannot add or
remove cells ... because there are submissions") and leaves the rest half done (the
release is new, the grades are not). This command does the whole change:

1. compares ``source/`` with the release the gradebook knows, and tries the new
   release in a scratch course first, so that a broken source changes nothing;
2. saves every manual grade, extra credit and comment to ``backups/``;
3. when cells were added or removed, takes the old submissions' rows out of the
   gradebook (nbgrader's condition for changing the cells), regenerates ``release/``
   and ``solutions/``, regrades every submitted student, and puts the manual work
   back on the cells that still exist;
4. prints one line that says what it did.

Submissions made against the older release are graded against the new one, or
refused with one line (``cnnviz.grading.match_release``).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import notebooks


@dataclass
class Change:
    """How the graded cells of one notebook differ between the gradebook and ``source/``."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)
    edited: list[str] = field(default_factory=list)
    read_only_changed: bool = False  # read-only cells added or removed: nbgrader records those too

    @property
    def structural(self) -> bool:
        """Cells added or removed: nbgrader needs the old submissions' rows gone."""
        return bool(self.added or self.removed or self.read_only_changed)

    @property
    def regrade(self) -> bool:
        """Anything that changes a score."""
        return bool(self.structural or self.points or self.edited)

    def describe(self) -> str:
        """``added test_a; removed test_b; points test_c 5→3; edited test_d``, or ``no graded cell changed``."""
        parts = []
        if self.added:
            parts.append("added " + ", ".join(self.added))
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.points:
            parts.append("points " + ", ".join(f"{name} {old:g}→{new:g}" for name, (old, new)
                                               in self.points.items()))
        if self.edited:
            parts.append("edited " + ", ".join(self.edited))
        if self.read_only_changed:
            parts.append("read-only cells added or removed")
        return "; ".join(parts) or "no graded cell changed"


def release_cells(nb) -> dict[str, dict]:
    """The cells nbgrader records for a notebook: ``grade_id -> {kind, points, source}``."""
    from nbgrader import utils

    cells = {}
    for cell in nb.cells:
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
            continue
        grade_id = notebooks.grade_id(cell)
        if grade_id is None:
            raise CourseError(f"a cell of the source notebook has nbgrader metadata but no grade_id; "
                              f"set it with the Create Assignment toolbar")
        kind = "test" if utils.is_grade(cell) and not utils.is_solution(cell) else (
            "answer" if utils.is_solution(cell) else "locked")
        cells[grade_id] = {"kind": kind, "points": float(cell.metadata["nbgrader"].get("points", 0) or 0),
                           "source": cell.source}
    return cells


def compare(recorded: dict[str, dict], source: dict[str, dict]) -> Change:
    """What changed from the gradebook's cells (``recorded``) to ``source``'s."""
    graded = ("test", "answer")
    change = Change(
        added=[name for name, cell in source.items() if cell["kind"] in graded and name not in recorded],
        removed=[name for name, cell in recorded.items() if cell["kind"] in graded and name not in source])
    change.read_only_changed = ({n for n, c in source.items() if c["kind"] == "locked"}
                                != {n for n, c in recorded.items() if c["kind"] == "locked"})
    for name, cell in source.items():
        old = recorded.get(name)
        if old is None or cell["kind"] != "test":
            continue
        if old["points"] != cell["points"]:
            change.points[name] = (old["points"], cell["points"])
        if old["source"].strip() != cell["source"].strip():
            change.edited.append(name)
    return change


def recorded_cells(gradebook, assignment: str, notebook: str) -> dict[str, dict] | None:
    """The gradebook's cells for one notebook, in the shape of ``release_cells``; None if unknown."""
    from nbgrader.api import MissingEntry

    try:
        record = gradebook.find_notebook(notebook, assignment)
    except MissingEntry:
        return None
    points = {cell.name: float(cell.max_score) for cell in record.grade_cells}
    answers = {cell.name for cell in record.solution_cells}
    cells = {}
    for cell in record.source_cells:
        kind = "answer" if cell.name in answers else ("test" if cell.name in points else "locked")
        cells[cell.name] = {"kind": kind, "points": points.get(cell.name, 0.0), "source": cell.source}
    return cells


def save_manual_work(gradebook, assignment: str) -> list[dict]:
    """Every manual score, extra credit and manual comment of ``assignment``, as plain rows."""
    rows = []
    for submission in gradebook.find_assignment(assignment).submissions:
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.manual_score is not None or grade.extra_credit:
                    rows.append({"student": submission.student.id, "notebook": notebook.name,
                                 "cell": grade.name, "manual_score": grade.manual_score,
                                 "extra_credit": grade.extra_credit})
            for comment in notebook.comments:
                if comment.manual_comment:
                    rows.append({"student": submission.student.id, "notebook": notebook.name,
                                 "cell": comment.name, "manual_comment": comment.manual_comment})
    return rows


def restore_manual_work(gradebook, assignment: str, rows: list[dict]) -> tuple[int, int]:
    """Put saved manual work back on the cells that still exist; return (kept, dropped).

    A manual score above a cell's new maximum is lowered to it.
    """
    from nbgrader.api import MissingEntry

    kept = dropped = 0
    for row in rows:
        try:
            if "manual_comment" in row:
                target = gradebook.find_comment(row["cell"], row["notebook"], assignment, row["student"])
                target.manual_comment = row["manual_comment"]
            else:
                target = gradebook.find_grade(row["cell"], row["notebook"], assignment, row["student"])
                if row["manual_score"] is not None:
                    target.manual_score = min(float(row["manual_score"]), float(target.max_score))
                target.extra_credit = row["extra_credit"]
        except MissingEntry:
            dropped += 1
            continue
        kept += 1
    gradebook.db.commit()
    return kept, dropped


def _source_notebooks(root: Path, assignment: str) -> dict[str, dict]:
    folder = root / "source" / assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise CourseError(f"no notebook in {folder}: the assignment's source notebooks go there")
    return {path.stem: release_cells(notebooks.read_notebook(path)) for path in paths}


def _try_release(root: Path, assignment: str) -> None:
    """Generate the new release in a scratch course (its own gradebook): a source nbgrader rejects changes nothing."""
    from cnnviz.course.pipeline import scratch_course

    with tempfile.TemporaryDirectory(prefix="cnnviz-update-") as scratch:
        try:
            scratch_course(Path(scratch), root, assignment=assignment)
        except CourseError as exc:
            raise CourseError(f"the new source of {assignment} does not release, so nothing was changed:\n"
                              f"{exc}") from None


def update_assignment(root: Path, assignment: str = ASSIGNMENT, workers: int | None = None,
                      solutions: bool = True, restore: Path | None = None) -> str:
    """Apply the edits in ``source/`` to a course with submissions; return the one-line summary.

    ``restore`` names the backup of an earlier run that stopped half-way: its manual
    work is put back too.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from cnnviz import settings
    from cnnviz.course import gradebook_setup

    root = Path(root).resolve()
    sources = _source_notebooks(root, assignment)
    url = settings.db_url(root)
    with Gradebook(url) as gradebook:
        try:
            record = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"the gradebook has no assignment {assignment} yet: release it first "
                              "(`python -m cnnviz release`), there is nothing to update") from None
        changes = {name: compare(recorded_cells(gradebook, assignment, name) or {}, cells)
                   for name, cells in sources.items()}
        for old in record.notebooks:
            if old.name not in sources:
                raise CourseError(f"source/{assignment}/{old.name}.ipynb is gone but the gradebook has "
                                  "submissions of it; removing a whole notebook is not an update: restore it")
        graded = sorted(submission.student.id for submission in record.submissions)
        saved = save_manual_work(gradebook, assignment)
    if restore is not None:
        try:
            # The current gradebook's own manual work comes last, so it wins over the backup's.
            saved = list(json.loads(Path(restore).read_text(encoding="utf-8"))["manual_work"]) + saved
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CourseError(f"{restore} is not a backup of update-assignment ({type(exc).__name__}); "
                              "name a file from backups/") from None

    _try_release(root, assignment)
    backup = root / "backups" / f"{assignment}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    backup.parent.mkdir(exist_ok=True)
    backup.write_text(json.dumps({"assignment": assignment, "gradebook": gradebook_setup.safe_url(url),
                                  "changes": {name: change.describe() for name, change in changes.items()},
                                  "manual_work": saved}, ensure_ascii=False, indent=1), encoding="utf-8")

    try:
        regraded, failed, students, kept, dropped = _apply(root, assignment, url, changes, graded, saved,
                                                           workers, solutions)
    except (CourseError, OSError) as exc:
        raise CourseError(f"{exc}\nThe manual grades and comments are saved in {backup}; once the problem "
                          f"is fixed, run `python -m cnnviz update-assignment --restore {backup}`") from None

    # The notebook's name only when the assignment has several.
    what = "; ".join(change.describe() if len(changes) == 1 else f"{name}: {change.describe()}"
                     for name, change in changes.items())
    line = f"[update] {assignment}: {what}; release regenerated"
    if regraded or failed:
        line += f"; {len(regraded)} students regraded" + (f", {len(failed)} not graded ({', '.join(failed)})"
                                                          if failed else "")
    elif students:
        line += "; no score changes, nobody regraded"
    line += f"; manual grades and comments: {kept} kept, {dropped} dropped with their cells"
    line += f"; backup {backup.relative_to(root)}"
    if regraded:
        line += "; feedback is now stale: run `nbgrader generate_feedback --force`"
    return line


def _apply(root, assignment, url, changes, graded, saved, workers, solutions):
    """Regenerate, regrade and put the manual work back; return what happened."""
    from nbgrader.api import Gradebook

    from cnnviz.course import class_sizing, classgrade
    from cnnviz.course.nbrun import run_nbgrader

    if any(change.structural for change in changes.values()) and graded:
        # nbgrader changes a notebook's cells only when it has no submissions; their
        # automatic scores come back from the regrade, their manual work from the backup.
        with Gradebook(url) as gradebook:
            for student in graded:
                gradebook.remove_submission(assignment, student)
    run_nbgrader("generate_assignment", assignment, "--force", root=root, quiet=True)
    if solutions:
        run_nbgrader("generate_solution", assignment, "--force", root=root, quiet=True)

    students = class_sizing.submitted_students(root) if (root / "submitted").is_dir() else []
    regraded, failed = [], []
    if any(change.regrade for change in changes.values()) and students:
        outcomes = classgrade.autograde_class(root, workers=workers, students=students, db_url=url)
        regraded = [o.student for o in outcomes if o.ok]
        failed = [o.student for o in outcomes if not o.ok]
    with Gradebook(url) as gradebook:
        kept, dropped = restore_manual_work(gradebook, assignment, saved)

    return regraded, failed, students, kept, dropped
