"""Hostile submissions (tests/submissions/hostile.toml), graded in one class run beside honest students.

For each attack: no point it did not earn (the answers it left alone keep
theirs), no canary outside its jail read or changed, honest classmates scored
exactly as when graded alone, a gradebook that opens with one row per
student, and no process or cgroup left behind. Runs as root (CI) and as an
unprivileged user (``make test-hostile-user``).
"""

import hashlib
import os
import secrets
import shutil
import time
import tomllib
from pathlib import Path

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT, settings
from cnnviz.course import catalogue, classgrade, data, notebooks, pipeline
from cnnviz.grading import cgroups, jail_user

pytestmark = pytest.mark.slow

HOSTILE = COURSE_ROOT / "tests" / "submissions" / "hostile.toml"
EXTRA_FIELDS = ("files", "links", "notebook_link", "graded")
with open(HOSTILE, "rb") as _handle:
    # The "shown" ones attack the pages a submission is shown in, not the jail: tests/e2e/test_shown_submissions.py.
    RAW = [raw for raw in tomllib.load(_handle)["submission"] if raw["kind"] != "shown"]
ENTRIES = [catalogue.Submission(**{k: v for k, v in raw.items() if k not in EXTRA_FIELDS}) for raw in RAW]
EXTRAS = {raw["name"]: {k: raw[k] for k in EXTRA_FIELDS if k in raw} for raw in RAW}
HONEST = {"honest-solution": "solution", "honest-mistake": "no-vmin-vmax"}


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def jail_processes(course: Path) -> list[str]:
    """Jailed processes still alive from this course's grading, or escaped from any jail.

    A jailed process runs as the jail's user (as root) or carries a kernel's
    connection folder in its arguments; it is this course's when one of its
    ancestors is a bubblewrap that binds this course's files, and escaped when
    none of its ancestors is a bubblewrap at all. Other graders' live kernels
    on the same machine are neither.
    """
    try:
        jail_uid = jail_user.jail_identity().uid if os.geteuid() == 0 else None
    except Exception:
        jail_uid = None
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
            uid = int(status.split("\nUid:")[1].split()[1])
            ppid = int(status.split("\nPPid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        table[int(entry.name)] = (ppid, uid, command)
    found = []
    for pid, (ppid, uid, command) in table.items():
        if not (uid == jail_uid or "cnnviz-jail-" in command) or "bwrap" in command.split(" ", 1)[0]:
            continue
        chain, parent = [], ppid
        while parent in table and parent > 1 and len(chain) < 50:
            chain.append(table[parent][2])
            parent = table[parent][0]
        bwraps = [c for c in chain if c.split(" ", 1)[0].endswith("bwrap")]
        if not bwraps or any(str(course) in c for c in bwraps):
            found.append(f"{pid} uid {uid}: {command[:120]}")
    return found


def stale_cgroups() -> list[str]:
    """Kernel cgroups whose grader process has exited."""
    plan = cgroups.find_cgroups()
    if plan is None:
        return []
    stale = []
    for parent in set(plan.parents.values()):
        for folder in parent.iterdir():
            owner = folder.name.split("-", 1)[0]
            if folder.is_dir() and owner.isdigit() and not Path(f"/proc/{owner}").exists():
                stale.append(str(folder))
    return stale


def fill(text: str, places: dict[str, str]) -> str:
    for key, value in places.items():
        text = text.replace(key, value)
    return text


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    assert shutil.which("bwrap"), "the jail needs bubblewrap: apt-get install bubblewrap"
    course = pipeline.scratch_course(tmp_path_factory.mktemp("hostile"))
    release_nb = notebooks.read_notebook(course / "release" / ASSIGNMENT / settings.NOTEBOOK)
    source_nb = notebooks.read_notebook(course / "source" / ASSIGNMENT / settings.NOTEBOOK)
    entries = catalogue.by_name()

    # Canaries: a root-only file in the course root, a secret and the gradebook URL in the grader's environment.
    canary = course / "instructor-canary.txt"
    canary.write_text(f"CANARY-{secrets.token_hex(8)}")
    canary.chmod(0o600)
    marker = tmp_path_factory.mktemp("outside") / "must-never-exist"
    secret = f"SECRET-{secrets.token_hex(8)}"
    db_url = f"sqlite:///{course / 'gradebook.db'}?timeout=60"
    saved_env = {k: os.environ.get(k) for k in ("NBGRADER_DB_URL", "CNNVIZ_HOSTILE_SECRET")}
    os.environ.update(NBGRADER_DB_URL=db_url, CNNVIZ_HOSTILE_SECRET=secret)
    try:
        # The honest students, graded alone first.
        for student, entry in HONEST.items():
            pipeline.submit(course, student, entries[entry].notebook(release_nb, source_nb))
        alone = classgrade.autograde_class(course, workers=2, students=list(HONEST))
        assert all(o.ok for o in alone), [o.message for o in alone if not o.ok]
        alone_scores = {s: pipeline.read_scores(course)[s] for s in HONEST}
        classmate = course / "submitted" / "honest-solution" / ASSIGNMENT / settings.NOTEBOOK
        places = {"@COURSE@": str(course), "@CANARY@": str(canary), "@CLASSMATE@": str(classmate),
                  "@MARKER@": str(marker)}
        before = {
            "source": fingerprint(course / "source"),
            "honest submitted": fingerprint(course / "submitted" / "honest-solution"),
            "keras cache": fingerprint(data.keras_cache_dir()),
            "canary": canary.read_bytes(), "canary mtime": canary.stat().st_mtime_ns,
        }

        for entry in ENTRIES:
            extra = EXTRAS[entry.name]
            folder = course / "submitted" / entry.name / ASSIGNMENT
            if "notebook_link" in extra:
                folder.mkdir(parents=True)
                (folder / settings.NOTEBOOK).symlink_to(fill(extra["notebook_link"], places))
                continue
            entry.answers = {k: fill(v, places) for k, v in entry.answers.items()}
            pipeline.submit(course, entry.name, entry.notebook(release_nb, source_nb))
            for relative, content in extra.get("files", {}).items():
                (folder / relative).parent.mkdir(parents=True, exist_ok=True)
                (folder / relative).write_text(fill(content, places))
            for relative, target in extra.get("links", {}).items():
                (folder / relative).symlink_to(fill(target, places))

        # One class run: the honest students again, beside every attack.
        students = list(HONEST) + [entry.name for entry in ENTRIES]
        started = time.time()
        outcomes = classgrade.autograde_class(course, workers=2, students=students)
        left_processes, left_cgroups = jail_processes(course), stale_cgroups()
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"course": course, "before": before, "alone": alone_scores, "started": started,
            "outcomes": {o.student: o for o in outcomes}, "points": notebooks.grade_points(source_nb),
            "canary": canary, "marker": marker, "secret": secret, "db_url": db_url,
            "processes": left_processes, "cgroups": left_cgroups}


def graded_ones():
    return [entry for entry in ENTRIES if EXTRAS[entry.name].get("graded", True)]


@pytest.mark.parametrize("entry", graded_ones(), ids=[e.name for e in graded_ones()])
def test_a_hostile_submission_earns_only_what_it_answered(graded_class, entry):
    outcome = graded_class["outcomes"][entry.name]
    assert outcome.ok, f"{entry.name} was not graded: {outcome.message}"
    scores = pipeline.read_scores(graded_class["course"])[entry.name]
    expected = entry.expected_scores(graded_class["points"])
    wrong = {cell: (scores.get(cell), want) for cell, want in expected.items() if scores.get(cell) != want}
    assert not wrong, f"{entry.name} ({entry.mistake}): cells with (score, expected): {wrong}"


def test_a_linked_notebook_is_refused_with_one_line_and_no_points(graded_class):
    for entry in ENTRIES:
        if EXTRAS[entry.name].get("graded", True):
            continue
        outcome = graded_class["outcomes"][entry.name]
        assert not outcome.ok, f"{entry.name} must not be graded"
        assert "symbolic link" in outcome.message, f"{entry.name}: the line should say why: {outcome.message}"
        scores = pipeline.read_scores(graded_class["course"]).get(entry.name, {})
        assert not any(scores.values()), f"{entry.name} got points: {scores}"
        assert not (graded_class["course"] / "autograded" / entry.name / ASSIGNMENT / settings.NOTEBOOK).exists()


def test_honest_classmates_score_exactly_as_when_graded_alone(graded_class):
    scores = pipeline.read_scores(graded_class["course"])
    for student in HONEST:
        assert graded_class["outcomes"][student].ok, graded_class["outcomes"][student].message
        assert scores[student] == graded_class["alone"][student], student
    assert sum(scores["honest-solution"].values()) == sum(graded_class["points"].values())


def test_no_canary_outside_the_jails_was_read_or_changed(graded_class):
    course, before = graded_class["course"], graded_class["before"]
    assert fingerprint(course / "source") == before["source"], "source/ changed"
    assert fingerprint(course / "submitted" / "honest-solution") == before["honest submitted"]
    assert fingerprint(data.keras_cache_dir()) == before["keras cache"], "Keras' Fashion-MNIST cache changed"
    canary = graded_class["canary"]
    assert canary.read_bytes() == before["canary"] and canary.stat().st_mtime_ns == before["canary mtime"]
    assert not graded_class["marker"].exists(), "an attack ran code outside its jail (or in a classmate's kernel)"
    secrets_ = [before["canary"].decode(), graded_class["secret"], graded_class["db_url"], "BEGIN HIDDEN TESTS",
                "check_hidden"]
    for notebook in (course / "autograded").rglob("*.ipynb"):
        outputs = "".join(str(cell.get("outputs", "")) for cell in notebooks.read_notebook(notebook).cells)
        leaked = [s for s in secrets_ if s in outputs]
        assert not leaked, f"{notebook.relative_to(course)} shows {leaked}"
    for folder in (course / "autograded").iterdir():
        if not (folder / ASSIGNMENT).is_dir():
            continue  # a student nbgrader could not grade
        names = sorted(p.name for p in (folder / ASSIGNMENT).iterdir())
        assert set(names) <= {settings.NOTEBOOK, "best-cnn-model.keras", "best-cnn-model.json", "timestamp.txt"}, \
            f"{folder.name}: nbgrader copied {names}"


def test_the_gradebook_opens_with_one_row_per_student(graded_class):
    from nbgrader.api import Gradebook

    with Gradebook(graded_class["db_url"]) as gradebook:
        ids = [student.id for student in gradebook.students]
    assert sorted(ids) == sorted(set(ids)), "a student appears twice"
    assert set(ids) == set(HONEST) | {e.name for e in ENTRIES}


def test_no_jailed_process_or_cgroup_is_left(graded_class):
    assert graded_class["processes"] == [], "processes outlived their kernels"
    assert graded_class["cgroups"] == [], "kernel cgroups were left behind"
    # The detached writer would wake 40 s after its kernel started: still nothing, and the gradebook intact.
    time.sleep(max(0.0, graded_class["started"] + 45 - time.time()))
    assert jail_processes(graded_class["course"]) == []
    assert not graded_class["marker"].exists()
    test_the_gradebook_opens_with_one_row_per_student(graded_class)
