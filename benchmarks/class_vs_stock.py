"""A class graded side by side in one run: stock nbgrader 0.9.6 against `python -m cnnviz autograde` (issue 20).

    .venv/bin/python benchmarks/class_vs_stock.py                      # 10 students, every variant (~8 min)
    .venv/bin/python benchmarks/class_vs_stock.py --students 4 --skip-levers
    .venv/bin/python benchmarks/class_vs_stock.py --students 20 --repeats 2 --keep

It measures wall time, so run it on a quiet machine: anything else running on
the two cores shows up in every figure (the machine's noise is about ±15 %).

The class is N copies (--students, default 10) of the instructor's solution
answers filled into the release, the same notebook for every variant, each
variant graded in a fresh scratch course of its own (under a temporary folder;
--keep keeps it). In this order, --repeats times:

1. stock nbgrader: ``nbgrader autograde cnn_visualization`` in a course whose
   ``nbgrader_config.py`` holds only the course id, ``max_file_size = 10000`` and
   ``Execute.timeout = 120``: serial, one process, no jail, the hidden tests run
   in the kernel (they call ``cnnviz.lesson.check_hidden``, so the kernel gets
   this repository on PYTHONPATH, and this environment's bin/ on PATH);
2. ``python -m cnnviz autograde --workers 1`` with the course's own config;
3. ``python -m cnnviz autograde`` with the default workers
   (``cnnviz.course.class_sizing.default_workers()``, or --workers);
4. unless --skip-levers, each speed lever switched off alone, default workers:
   ``--one-process-per-student`` (one nbgrader process per student again), and
   ``c.JailedKernelManager.kernel_template = False`` appended to the course's
   config. A lever this tree does not have yet (no such flag in
   ``cnnviz autograde --help``, no such trait on ``cnnviz.grading.jailed_kernel_manager.kernel_manager_class()``)
   is skipped with one line.

Every variant's wall time runs from starting its command to its exit (the
command's own start-up and gradebook set-up included). Before the first variant,
one untimed warm-up computes the grader's references into a cache all variants
share and brings TensorFlow's files into the OS's cache.

Prints, per variant: wall time (median over repeats), seconds per student,
whether every student scored full marks (read from its gradebook with
``nbgrader.api.Gradebook``; a variant that misses says so loudly and the script
exits 1); the speed-up against stock with 1 worker and with the default workers,
beside the issue's targets (>= 2x, >= 4x); the per-student breakdown, medians over
students of the latest attempt in ``autograded/.journal/<student>/*.json``:
started -> ended, and every numeric entry of its ``phases`` dict, whatever their
names (text entries are counted); peak memory; and the time for 300 students
projected from the measured per-round time.

Peak memory is PSS (``Pss:`` of ``/proc/<pid>/smaps_rollup``, so pages shared by
several processes, a kernel and the template it was forked from, are counted once
in a sum), sampled every 0.2 s in separate runs of --memory-students of stock, one
and the default workers: reading TensorFlow processes' page tables that often costs
CPU on the same two cores, so the timed runs are never sampled. A worker's tree
is found from the variant's command process: every process below it is walked up
its parent links to the command's direct child it descends from; that child is a
grading process (a worker's warm grader, or one ``nbgrader autograde --student=X``
per student) and the tree is it and everything below it: the kernel template,
the kernels' launchers, the kernels (the command's short helpers, such
as its gradebook check, are small trees of their own while they live). For stock
nbgrader the command itself is the one grading process, so its tree is everything.
Printed: the largest tree seen at any sample, the whole run (the command and all
below it) and the most trees seen at once. A process that leaves the tree
(reparented to init) is not counted.

The projection: rounds of ceil(n / workers) students; the fixed cost is what the
journal shows outside the grading (command start to the first attempt's start, plus
the last attempt's end to the command's exit; taken as 0 for stock nbgrader, which
keeps no journal), and PERF-NOTES' "time is linear in rounds" gives

    T(300) = fixed + ceil(300 / workers) * (T(n) - fixed) / ceil(n / workers)
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.common import PeriodicSampler, course, solution_submission, submit_copies  # noqa: E402
from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, settings  # noqa: E402
from cnnviz.course import class_sizing, grade_journal
from cnnviz.grading.plaintext import terminal_safe  # noqa: E402

PROJECTED_CLASS = 300
PROJECTED_TARGET_MIN = 13  # the issue: "a class of 300 in about 13 min on two cores"
TARGET_ONE_WORKER = 2.0
TARGET_DEFAULT_WORKERS = 4.0
ONE_PROCESS_FLAG = "--one-process-per-student"
TEMPLATE_TRAIT = "kernel_template"
SAMPLE_SECONDS = 0.2
MIB = 2**20

STOCK_CONFIG = f"""\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {settings.COURSE_ID!r}
c.CourseDirectory.max_file_size = 10000
c.Execute.timeout = 120
"""


# --------------------------------------------------------------------------- pure helpers

def pss_bytes(smaps_rollup: str) -> int | None:
    """The ``Pss:`` figure of a ``/proc/<pid>/smaps_rollup`` text, in bytes (None if it has none)."""
    for line in smaps_rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return None


def worker_trees(parents: dict[int, int], top: int, top_is_grader: bool = False) -> dict[int, set[int]]:
    """Group processes into worker trees: {grading process: it and every process below it}.

    ``parents`` maps each pid to its parent's pid. A grading process is a direct
    child of ``top`` (the benchmarked command); with ``top_is_grader`` the command
    itself is the only one. A process whose chain of parents never reaches ``top``
    (it was reparented, or ``top`` is not among its ancestors) belongs to no tree.
    """
    if top_is_grader:
        below = {pid for pid in parents if pid == top or _root_below(pid, parents, top) is not None}
        return {top: below} if below else {}
    trees: dict[int, set[int]] = defaultdict(set)
    for pid in parents:
        root = _root_below(pid, parents, top) if pid != top else None
        if root is not None:
            trees[root].add(pid)
    return dict(trees)


def _root_below(pid: int, parents: dict[int, int], top: int) -> int | None:
    """The ancestor of ``pid`` (or ``pid`` itself) whose parent is ``top``; None if there is none."""
    seen = set()
    while pid in parents and pid not in seen:
        seen.add(pid)
        if parents[pid] == top:
            return pid
        pid = parents[pid]
    return None


@dataclass
class Breakdown:
    """Where a student's time went: medians over students, from the journal."""

    students: int = 0
    medians: dict[str, float] = field(default_factory=dict)  # phase -> median seconds
    texts: dict[str, Counter] = field(default_factory=dict)  # phase -> how often each text value was seen


ATTEMPT = "attempt (started -> ended)"


def latest_attempts(records: list[dict]) -> dict[str, dict]:
    """Each student's latest finished attempt (one with ``ended``), by its start."""
    latest: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r.get("started", 0.0)):
        if "ended" in record and "started" in record:
            latest[record["student"]] = record
    return latest


def breakdown(records: list[dict]) -> Breakdown:
    """Medians over students of their latest attempt's time and of every numeric entry in its ``phases``."""
    latest = latest_attempts(records)
    values: dict[str, list[float]] = defaultdict(list)
    texts: dict[str, Counter] = defaultdict(Counter)
    for record in latest.values():
        values[ATTEMPT].append(record["ended"] - record["started"])
        phases = record.get("phases") or {}
        for name, value in (phases.items() if isinstance(phases, dict) else ()):
            if isinstance(value, bool):
                texts[name][str(value)] += 1
            elif isinstance(value, (int, float)):
                values[name].append(float(value))
            elif isinstance(value, str):
                texts[name][value] += 1
    return Breakdown(len(latest), {name: statistics.median(v) for name, v in values.items()}, dict(texts))


def fixed_seconds(records: list[dict], launched: float, exited: float) -> float:
    """Time the command spent outside grading: before the first attempt started and after the last ended."""
    finished = [r for r in records if "started" in r and "ended" in r]
    if not finished:
        return 0.0
    first = min(r["started"] for r in finished)
    last = max(r["ended"] for r in finished)
    return max(0.0, first - launched) + max(0.0, exited - last)


@dataclass(frozen=True)
class Projection:
    rounds: int  # measured: ceil(students / workers)
    per_round: float  # seconds
    target_rounds: int  # ceil(target / workers)
    seconds: float  # projected


def project(seconds: float, fixed: float, students: int, workers: int,
            target: int = PROJECTED_CLASS) -> Projection:
    """T(target) = fixed + ceil(target / workers) * (seconds - fixed) / ceil(students / workers)."""
    rounds = math.ceil(students / workers)
    per_round = (seconds - fixed) / rounds
    target_rounds = math.ceil(target / workers)
    return Projection(rounds, per_round, target_rounds, fixed + target_rounds * per_round)


def not_at_full_marks(totals: dict[str, tuple[float, float]], students: list[str]) -> list[str]:
    """The students without a graded submission at full marks; ``totals`` is student -> (score, max score)."""
    short = []
    for student in students:
        score, most = totals.get(student, (0.0, 0.0))
        if most <= 0 or score < most - 1e-9:
            short.append(student)
    return short


# --------------------------------------------------------------------------- measuring

class TreeSampler(PeriodicSampler):
    """Samples, every ``interval`` seconds, the PSS of each worker tree below ``pid`` and of all of it."""

    def __init__(self, pid: int, top_is_grader: bool, interval: float = SAMPLE_SECONDS):
        super().__init__(interval)
        self.pid, self.top_is_grader = pid, top_is_grader
        self.worker_peak = 0  # bytes: the largest worker tree at any sample
        self.run_peak = 0  # bytes: the command and everything below it
        self.most_trees = 0  # grading processes seen at once
        self.unreadable = 0  # processes whose smaps_rollup could not be read

    def sample(self) -> None:
        try:
            top = psutil.Process(self.pid)
            processes = [top, *top.children(recursive=True)]
        except psutil.Error:
            return  # the command has exited
        parents, pss = {}, {}
        for process in processes:
            try:
                parents[process.pid] = process.ppid()
                text = Path(f"/proc/{process.pid}/smaps_rollup").read_text()
            except PermissionError:
                self.unreadable += 1
                continue
            except (psutil.Error, OSError):
                continue  # it ended between the listing and the reading
            value = pss_bytes(text)
            if value is not None:
                pss[process.pid] = value
        trees = worker_trees(parents, self.pid, self.top_is_grader)
        self.most_trees = max(self.most_trees, len(trees))
        sizes = [sum(pss.get(p, 0) for p in tree) for tree in trees.values()]
        self.worker_peak = max([self.worker_peak, *sizes])
        self.run_peak = max(self.run_peak, sum(pss.values()))


@dataclass
class Variant:
    """One way of grading the class."""

    label: str
    name: str  # its scratch folder
    workers: int
    stock: bool = False
    lever: bool = False  # one speed lever switched off
    flags: tuple[str, ...] = ()
    config: str = ""  # appended to the course's nbgrader_config.py


@dataclass
class Run:
    """One variant graded once."""

    seconds: float
    fixed: float
    returncode: int
    short: list[str]  # students not at full marks
    records: list[dict]
    worker_peak: int
    run_peak: int
    most_trees: int
    unreadable: int
    log: Path


def base_env(cache: Path) -> dict[str, str]:
    """The environment every command gets: this one, the shared reference cache, no foreign gradebook."""
    env = dict(os.environ)
    env.pop(settings.DB_URL_VARIABLE, None)  # each scratch course grades into its own gradebook
    env["CNNVIZ_CACHE"] = str(cache)
    return env


def stock_env(cache: Path) -> dict[str, str]:
    """Stock nbgrader's environment: what it needs to import the course package in the kernel, nothing else."""
    env = base_env(cache)
    env.pop("MPLBACKEND", None)  # the kernel's own default (inline figures), as in a plain install
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    # nbgrader runs `alembic` from PATH when it makes a gradebook: this environment's, as if activated.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def stock_course(parent: Path, name: str, env: dict) -> Path:
    """A scratch course with the course's source and a config of only the course id, file-size limit and timeout."""
    root = parent / name / "course"
    root.mkdir(parents=True)
    shutil.copytree(REPO / "source", root / "source")
    (root / "nbgrader_config.py").write_text(STOCK_CONFIG, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT],
                            cwd=root, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"stock nbgrader could not generate the assignment in {root}:\n{_tail(result.stdout)}")
    return root


def gradebook_totals(url: str, students: list[str]) -> dict[str, tuple[float, float]]:
    """student -> (score, max score) of their submission in the gradebook at ``url``."""
    from nbgrader.api import Gradebook, MissingEntry

    totals = {}
    with Gradebook(url) as gradebook:
        for student in students:
            try:
                submission = gradebook.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                continue
            totals[student] = (float(submission.score), float(submission.max_score))
    return totals


def run_variant(variant: Variant, scratch: Path, submission, students: int, cache: Path,
                sample_memory: bool = False) -> Run:
    """Make the variant's course, submit the class, grade it with the variant's command; time it.

    With ``sample_memory`` its memory is sampled instead of its time being kept for the figures:
    reading ``smaps_rollup`` of TensorFlow's processes five times a second costs CPU (the page
    tables are walked) on the same two cores, so timed runs are never sampled.
    """
    if variant.stock:
        env = stock_env(cache)
        root = stock_course(scratch, variant.name, env)
        command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT]
        cwd, url = root, f"sqlite:///{root / settings.GRADEBOOK_FILE}"
    else:
        env = base_env(cache)
        root = course(scratch, variant.name, variant.config)
        command = [sys.executable, "-m", "cnnviz", "autograde", f"--course-dir={root}",
                   f"--workers={variant.workers}", *variant.flags]
        cwd, url = REPO, settings.db_url(root)  # `-m cnnviz` from here imports this tree's package
    names = submit_copies(root, submission, students, "student")
    log = root.parent / "log.txt"
    with open(log, "w") as output:
        launched, started = time.time(), time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            sampler = TreeSampler(process.pid, top_is_grader=variant.stock)
            if sample_memory:
                with sampler:
                    returncode = process.wait()
            else:
                returncode = process.wait()
        finally:
            _stop(process)
        seconds, exited = time.perf_counter() - started, time.time()
    records = [] if variant.stock else grade_journal.read_journal(root)
    short = not_at_full_marks(gradebook_totals(url, names), names)
    return Run(seconds, fixed_seconds(records, launched, exited), returncode, short, records,
               sampler.worker_peak, sampler.run_peak, sampler.most_trees, sampler.unreadable, log)


def _stop(process: subprocess.Popen) -> None:
    """If the command still runs (this script was interrupted), stop it and what it started."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)  # cnnviz autograde then stops its graders itself
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def warm_up(checkpoint: Path, cache: Path) -> float:
    """Untimed: the grader's references into the shared cache, TensorFlow's files into the OS's cache."""
    started = time.perf_counter()
    code = "import sys\nfrom cnnviz.grading import reference\nreference.for_checkpoint(sys.argv[1])\n"
    result = subprocess.run([sys.executable, "-c", code, str(checkpoint)], cwd=REPO, env=base_env(cache),
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"warm-up failed (computing the references of {checkpoint}):\n{_tail(result.stdout)}")
    return time.perf_counter() - started


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(terminal_safe(line) for line in text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the levers

def autograde_help() -> str:
    """``python -m cnnviz autograde --help`` of this tree."""
    result = subprocess.run([sys.executable, "-m", "cnnviz", "autograde", "--help"], cwd=REPO,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return result.stdout


def has_template_trait() -> bool:
    """Whether this tree's jailed kernel manager has the ``kernel_template`` trait."""
    from cnnviz.grading import jailed_kernel_manager

    return hasattr(jailed_kernel_manager.kernel_manager_class(), TEMPLATE_TRAIT)


def lever_variants(workers: int) -> tuple[list[Variant], list[str]]:
    """The levers this tree has, each switched off alone; and one line for each it has not."""
    variants, skipped = [], []
    if ONE_PROCESS_FLAG in autograde_help():
        variants.append(Variant(f"lever off: {ONE_PROCESS_FLAG}", "one-process", workers, lever=True,
                                flags=(ONE_PROCESS_FLAG,)))
    else:
        skipped.append(f"lever off: {ONE_PROCESS_FLAG}: skipped, `cnnviz autograde` has no such flag on this tree")
    if has_template_trait():
        variants.append(Variant("lever off: kernel template", "no-template", workers, lever=True,
                                config=f"c.JailedKernelManager.{TEMPLATE_TRAIT} = False"))
    else:
        skipped.append(f"lever off: kernel template: skipped, JailedKernelManager has no {TEMPLATE_TRAIT} "
                       "trait on this tree")
    return variants, skipped


# --------------------------------------------------------------------------- report

def _median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


def _all_full(runs: list[Run]) -> bool:
    return all(not run.short and run.returncode == 0 for run in runs)


def print_times(variants: list[Variant], runs: dict[str, list[Run]], skipped: list[str], students: int) -> None:
    print(f"  {'variant':<44} {'workers':>7} {'wall s':>8} {'s/student':>10} {'s/student/worker':>17}  all at 100")
    for variant in variants:
        mine = runs[variant.name]
        seconds = _median(mine, "seconds")
        walls = "" if len(mine) == 1 else "   runs: " + ", ".join(f"{run.seconds:.1f}" for run in mine)
        print(f"  {variant.label:<44} {variant.workers:>7} {seconds:>8.1f} {seconds / students:>10.2f} "
              f"{seconds * variant.workers / students:>17.2f}  {'yes' if _all_full(mine) else 'NO'}{walls}")
    for line in skipped:
        print(f"  {line}")
    for variant in variants:
        for run in runs[variant.name]:
            if not _all_full([run]):
                print(f"!!! {variant.label}: NOT every student at full marks: {len(run.short)} of {students} short "
                      f"({', '.join(run.short[:5]) or '-'}), exit status {run.returncode}; the end of {run.log}:")
                print(_tail(run.log.read_text(errors="replace")))


def print_speedups(variants: list[Variant], runs: dict[str, list[Run]], workers: int) -> None:
    stock = _median(runs["stock"], "seconds")
    print("speed-up against stock nbgrader (its wall time over the variant's)")
    for name, label, target in (("one", "1 worker", TARGET_ONE_WORKER),
                                ("default", f"default workers ({workers})", TARGET_DEFAULT_WORKERS)):
        speedup = stock / _median(runs[name], "seconds")
        print(f"  {label:<44} {speedup:6.2f}x   target >= {target:g}x   {'PASS' if speedup >= target else 'FAIL'}")
    default = _median(runs["default"], "seconds")
    for variant in (v for v in variants if v.lever):
        seconds = _median(runs[variant.name], "seconds")
        print(f"  {variant.label:<44} {stock / seconds:6.2f}x   the lever saves {seconds - default:+.1f} s "
              f"({(seconds - default) / seconds:+.0%} of the run without it)")


def print_breakdown(variants: list[Variant], runs: dict[str, list[Run]], students: int) -> None:
    print("per-student breakdown, seconds (medians over students of the latest attempt in autograded/.journal/)")
    journaled = [v for v in variants if not v.stock]
    parts = {v.name: breakdown([r for run in runs[v.name] for r in run.records]) for v in journaled}
    phases = list(dict.fromkeys(name for b in parts.values() for name in b.medians))
    print(f"  {'phase':<28}" + "".join(f" {v.name:>12}" for v in journaled))
    for phase in phases:
        cells = "".join(f" {parts[v.name].medians[phase]:>12.2f}" if phase in parts[v.name].medians
                        else f" {'-':>12}" for v in journaled)
        print(f"  {phase:<28}{cells}")
    for v in journaled:
        for phase, counts in parts[v.name].texts.items():
            print(f"  {v.name}: {phase}: " + ", ".join(f"{value} x{n}" for value, n in counts.most_common()))
    if not any(len(b.medians) > 1 for b in parts.values()):
        print("  (no `phases` in the journal on this tree: only started/ended)")
    print(f"  stock nbgrader keeps no journal: {_median(runs['stock'], 'seconds') / students:.2f} s per student "
          "overall")


def print_memory(variants: list[Variant], runs: dict[str, list[Run]], students: int) -> None:
    print(f"peak memory, PSS sampled every {SAMPLE_SECONDS} s, in separate runs of {students} students "
          "(sampling slows what it samples)")
    print(f"  {'variant':<44} {'largest worker tree':>20} {'whole run':>10} {'trees at once':>14}")
    for variant in variants:
        mine = runs.get(variant.name)
        if not mine:
            continue
        unreadable = sum(run.unreadable for run in mine)
        note = f"   ({unreadable} process readings refused)" if unreadable else ""
        print(f"  {variant.label:<44} {max(r.worker_peak for r in mine) / MIB:>16.0f} MiB "
              f"{max(r.run_peak for r in mine) / MIB:>6.0f} MiB {max(r.most_trees for r in mine):>14}{note}")
    print(f"  a worker is budgeted {settings.MEMORY_PER_WORKER_MB} MiB (settings.MEMORY_PER_WORKER_MB)")


def print_projection(variants: list[Variant], runs: dict[str, list[Run]], students: int, workers: int) -> None:
    print(f"projection for {PROJECTED_CLASS} students: T = fixed + ceil({PROJECTED_CLASS}/w) x (T(n) - fixed) "
          f"/ ceil(n/w), n = {students}")
    for variant in variants:
        mine = runs[variant.name]
        fixed = _median(mine, "fixed")
        p = project(_median(mine, "seconds"), fixed, students, variant.workers)
        beside = f"   (the issue: about {PROJECTED_TARGET_MIN} min on two cores)" if variant.name == "default" else ""
        print(f"  {variant.label:<44} {p.seconds / 60:6.1f} min   fixed {fixed:4.1f} s + "
              f"{p.target_rounds} rounds of {p.per_round:.1f} s{beside}")
    if students < 2 * workers:
        print("  (fewer than two rounds measured with the default workers: their per-round time is rough)")


def report(variants: list[Variant], runs: dict[str, list[Run]], skipped: list[str], students: int,
           workers: int, warm: float, repeats: int, load: float,
           memory_runs: dict[str, list[Run]] | None = None, memory_students: int = 0) -> bool:
    """Print the figures; True if every variant gave every student full marks.

    ``load`` is the machine's 1-minute load average when the benchmark started;
    ``memory_runs`` are the sampled runs of ``memory_students`` (none: no memory figures).
    """
    print()
    print(f"class of {students} copies of the solution; default workers {workers} "
          f"(class_sizing.default_workers() = {class_sizing.default_workers()}); {repeats} repeat(s), median wall "
          f"times; warm-up {warm:.1f} s (untimed)")
    print(f"machine: {os.cpu_count()} cores; load average (1 min) at the start {load:.2f} "
          "(a quiet machine is near 0; more means others were running and every figure is slower)")
    print_times(variants, runs, skipped, students)
    print_speedups(variants, runs, workers)
    print_breakdown(variants, runs, students)
    if memory_runs:
        print_memory(variants, memory_runs, memory_students)
    print_projection(variants, runs, students, workers)
    return all(_all_full(runs[v.name]) for v in variants) and \
        all(_all_full(mine) for mine in (memory_runs or {}).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10, help="copies of the solution (default 10)")
    parser.add_argument("--workers", type=int, default=None,
                        help="the default-workers variants' workers (default: class_sizing.default_workers())")
    parser.add_argument("--repeats", type=int, default=1, help="times each variant is graded, interleaved (default 1)")
    parser.add_argument("--skip-levers", action="store_true", help="leave out the variants with one lever off")
    parser.add_argument("--keep", action="store_true", help="keep the scratch courses (the path is printed)")
    parser.add_argument("--memory-students", type=int, default=4,
                        help="students in the separate memory-sampled runs of stock, one and the default "
                             "workers (default 4; 0 leaves them out)")
    args = parser.parse_args(argv)
    if args.students < 1 or args.repeats < 1 or (args.workers is not None and args.workers < 1):
        parser.error("--students, --repeats and --workers must be at least 1")
    if args.memory_students < 0:
        parser.error("--memory-students must be 0 or more")
    workers = args.workers or class_sizing.default_workers()

    variants = [
        Variant("stock nbgrader 0.9.6 (serial, no jail)", "stock", 1, stock=True),
        Variant("cnnviz autograde --workers 1", "one", 1),
        Variant(f"cnnviz autograde (default workers, {workers})", "default", workers),
    ]
    skipped = []
    if not args.skip_levers:
        levers, skipped = lever_variants(workers)
        variants += levers

    load = os.getloadavg()[0]  # before this benchmark adds its own
    scratch = Path(tempfile.mkdtemp(prefix="cnnviz-class-bench-"))
    try:
        cache = scratch / "references"
        submission = solution_submission(course(scratch, "submission"))
        warm = warm_up(REPO / "source" / ASSIGNMENT / CHECKPOINT_NAME, cache)
        runs: dict[str, list[Run]] = {v.name: [] for v in variants}
        for repeat in range(args.repeats):
            for variant in variants:  # interleaved: drift in the machine hits every variant alike
                print(f"[bench] {variant.label} ({args.students} students, repeat {repeat + 1})", flush=True)
                folder = scratch / f"r{repeat}"
                folder.mkdir(exist_ok=True)
                run = run_variant(variant, folder, submission, args.students, cache)
                runs[variant.name].append(run)
                print(f"[bench]   {run.seconds:.1f} s", flush=True)
        memory_runs: dict[str, list[Run]] = {}
        if args.memory_students:
            for variant in (v for v in variants if not v.lever):
                print(f"[bench] {variant.label} ({args.memory_students} students, memory sampled)", flush=True)
                folder = scratch / "memory"
                folder.mkdir(exist_ok=True)
                memory_runs[variant.name] = [run_variant(variant, folder, submission, args.memory_students, cache,
                                                         sample_memory=True)]
        all_full = report(variants, runs, skipped, args.students, workers, warm, args.repeats, load,
                          memory_runs, args.memory_students)
    finally:
        if args.keep:
            print(f"scratch courses kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if all_full else 1


if __name__ == "__main__":
    sys.exit(main())
