"""The gradebook a class is graded into: made ready to record the assignment's grades before grading.

A new gradebook (SQLite or PostgreSQL) does not know the assignment's notebooks
and grade cells; ``ensure_gradebook`` records them from ``source/``, so that
``release/`` is not touched. Its URL is shown without its password
(``safe_url``) wherever a message names it.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.course import nbrun


def safe_url(url: str) -> str:
    """The gradebook URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def ensure_gradebook(root: Path, db_url: str) -> None:
    """Make sure the gradebook knows the assignment, its notebooks and grade cells.

    A new gradebook (SQLite or PostgreSQL) gets them from ``source/`` with
    ``nbgrader generate_assignment`` into a scratch folder, so ``release/`` is not
    touched. Raises one CourseError when that is impossible.
    """
    sources = {p.stem for p in (Path(root) / "source" / ASSIGNMENT).glob("*.ipynb")}
    # In a child with nbgrader's environment: a new gradebook runs `alembic` from PATH.
    result = nbrun.run(["-c", _KNOWN_NOTEBOOKS, db_url, ASSIGNMENT], root)
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        answer = {"error": (result.stdout.strip().splitlines() or ["no answer"])[-1]}
    if "error" in answer:
        raise CourseError(f"cannot open the gradebook {safe_url(db_url)} ({answer['error'][:200]}); "
                          "check NBGRADER_DB_URL or nbgrader_config.py")
    known = set(answer["known"])
    if known and (not sources or sources <= known):
        return
    if not sources:
        raise CourseError(f"the gradebook {safe_url(db_url)} does not know the assignment {ASSIGNMENT} and "
                          f"there is no source/{ASSIGNMENT}/*.ipynb in {root} to record it from; run "
                          f"`nbgrader generate_assignment {ASSIGNMENT}` where the source is")
    print(f"[autograde] recording {ASSIGNMENT} from source/ in the gradebook {safe_url(db_url)} "
          "(nbgrader generate_assignment; release/ is left as it is)", flush=True)
    with tempfile.TemporaryDirectory(prefix="cnnviz-record-") as scratch:
        nbrun.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", f"--db={db_url}",
                           f"--CourseDirectory.release_directory={scratch}", root=Path(root), quiet=True)


# Prints the assignment's notebooks the gradebook knows, or the first line of why it cannot be opened.
_KNOWN_NOTEBOOKS = """
import json, sys
try:
    from nbgrader.api import Gradebook, MissingEntry
    with Gradebook(sys.argv[1]) as gradebook:
        try:
            known = [nb.name for nb in gradebook.find_assignment(sys.argv[2]).notebooks]
        except MissingEntry:
            known = []
    print(json.dumps({"known": known}))
except Exception as exc:
    print(json.dumps({"error": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}))
"""
