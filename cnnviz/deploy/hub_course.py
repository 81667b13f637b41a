"""The instructor's course on the hub, ``/home/instructor/course``, and this repository closed to the others.

The course folder holds this course's ``nbgrader_config.py`` (the jail, the
checks), ``source/`` (kept as the instructor left it), the full ``cnnviz``
package (grading, jail, references; refreshed on every run) and the assignment
generated; ``~/.jupyter/nbgrader_config.py`` names it, and the instructor's
server loads the formgrader that JupyterLab may frame
(``cnnviz.deploy.hub_formgrader``). A roster the accounts came from is
imported into the instructor's gradebook. The repository itself is made
unreadable for other accounts: its ``source/`` holds the hidden tests.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
from pathlib import Path

from cnnviz import ASSIGNMENT, COURSE_ROOT, settings
from cnnviz.deploy import hub_site

INSTRUCTOR_SERVER_EXTENSION = "cnnviz.deploy.hub_formgrader"  # the formgrader framed by JupyterLab, its links


def source_differs(course: Path) -> bool:
    """Whether the instructor's ``source/`` assignment notebook is not the repository's."""
    notebook = Path("source") / ASSIGNMENT / settings.NOTEBOOK
    theirs, ours = course / notebook, COURSE_ROOT / notebook
    return not theirs.is_file() or theirs.read_bytes() != ours.read_bytes()


def ensure_course() -> Path:
    """The instructor's course folder: config, source/ (kept if already there) and the full package."""
    course = hub_site.instructor_course()
    entry = pwd.getpwnam(hub_site.INSTRUCTOR)
    course.mkdir(exist_ok=True)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    if not (course / "source").is_dir():
        shutil.copytree(COURSE_ROOT / "source", course / "source")
    elif source_differs(course):
        print(f"[hub] {course / 'source'} is kept as the instructor left it; it differs from this repository's "
              f"source/ (copy {COURSE_ROOT / 'source'} over it to take the repository's version)", flush=True)
    # The tooling is refreshed on every run (the instructor's edits live in source/).
    if (course / "cnnviz").exists():
        shutil.rmtree(course / "cnnviz")
    shutil.copytree(COURSE_ROOT / "cnnviz", course / "cnnviz", ignore=shutil.ignore_patterns("__pycache__"))
    # The instructor's server runs in the home folder, where nbgrader looks for its config: name
    # the course there, and load the course's own config (its jail, its preprocessors) from it.
    jupyter_dir = Path(entry.pw_dir) / ".jupyter"
    jupyter_dir.mkdir(exist_ok=True)
    (jupyter_dir / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/deploy/hub_course.py): the formgrader and every nbgrader command grade "
        "this course.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    # The formgrader inside the instructor's JupyterLab, and its links outside it (cnnviz/deploy/hub_formgrader.py).
    (jupyter_dir / "jupyter_server_config.d").mkdir(exist_ok=True)
    (jupyter_dir / "jupyter_server_config.d" / "cnnviz-hub.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {INSTRUCTOR_SERVER_EXTENSION: True}}}, indent=2))
    hub_site.run("chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(course), str(jupyter_dir))
    _import_roster(course)
    if not (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file():
        print(f"[hub] generating {ASSIGNMENT} in {course} (nbgrader generate_assignment)", flush=True)
        hub_site.as_user(hub_site.INSTRUCTOR, str(hub_site.ENV / "bin" / "python"), "-m", "nbgrader",
                         "generate_assignment", ASSIGNMENT, "--force", cwd=course)
    return course


def _import_roster(course: Path) -> None:
    """The roster the accounts came from, imported into the instructor's gradebook (names, emails, LMS ids)."""
    from cnnviz.course import roster

    source = settings.hub_roster_file() or roster.roster_path(COURSE_ROOT)
    if not source.is_file():
        return
    # A course's roster.json is read back as saved (cnnviz.course.roster.read); an LMS file is parsed again.
    copy = roster.roster_path(course) if source.name == roster.ROSTER_FILE else course / "roster-source.csv"
    shutil.copy(source, copy)
    entry = pwd.getpwnam(hub_site.INSTRUCTOR)
    os.chown(copy, entry.pw_uid, entry.pw_gid)
    result = hub_site.as_user(hub_site.INSTRUCTOR, str(hub_site.ENV / "bin" / "python"), "-m", "cnnviz", "roster",
                              "import", str(copy), cwd=course)
    print(result.stdout.strip().replace("[roster]", "[hub] instructor's gradebook:"), flush=True)


def make_repository_private() -> None:
    """Other accounts must not read this repository: its source/ holds the hidden tests."""
    mode = COURSE_ROOT.stat().st_mode & 0o777
    if mode & 0o007:
        os.chmod(COURSE_ROOT, mode & ~0o007)
        print(f"[hub] {COURSE_ROOT} is now closed to other users (mode {mode & ~0o007:o}): "
              "students must not read source/", flush=True)
