"""Autograde timing: one submission against the floor, each speed lever alone, 1 -> 2 workers,
and a class run projected to 300 students, with peak memory.

    .venv/bin/python benchmarks/autograde_throughput.py                 # the README's figures (~15 min)
    .venv/bin/python benchmarks/autograde_throughput.py --students 4 --speedup-students 2 --repeats 1

Everything is graded the way `python -m cnnviz autograde` grades a class
(`cnnviz.course.classgrade`: one `nbgrader autograde --student=X` per student, kernels
in the grading jail), in scratch courses under a temporary folder. Run it on a
quiet machine: it measures wall time. Prints:

1. per submission (median of --repeats, variants interleaved): the complete
   solution, the floor (a notebook that only imports TensorFlow and loads the
   checkpoint, graded the same way) and their ratio (target <= 1.2); then each
   lever switched off on its own, so its worth is the difference:
   - kernel shutdown: graceful instead of immediate (``JailedExecute.shutdown_kernel``);
   - references: computed for each student (an empty ``CNNVIZ_CACHE`` every time)
     instead of once per class and checkpoint;
2. --speedup-students graded with 1 worker and with 2: the speed-up (target >= 1.9);
3. --students graded with --workers (default: ``class_sizing.default_workers()``),
   and the time for 300 students projected from it (target <= 20 min on 2 cores);
4. peak memory: the largest kernel (RSS of the kernel and its children) and the
   whole run (summed RSS of every process the benchmark started), sampled
   every 0.2 s.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PeriodicSampler, course, solution_submission, submit_copies  # noqa: E402
from cnnviz import ASSIGNMENT, settings  # noqa: E402
from cnnviz.course import class_sizing, classgrade, grade_attempt, notebooks, pipeline

FLOOR_CODE = "import tensorflow\nimport keras\nmodel = keras.models.load_model('best-cnn-model.keras')"
PROJECTED_CLASS = 300


class MemorySampler(PeriodicSampler):
    """Samples the RSS of every process below this one; keeps the peaks."""

    def __init__(self, interval: float = 0.2):
        super().__init__(interval)
        self.kernel_peak = 0  # bytes: one kernel and its children
        self.run_peak = 0  # bytes: all processes below this one, summed

    def sample(self) -> None:
        me = psutil.Process()
        rss, kernels = {}, []
        for process in me.children(recursive=True):
            try:
                rss[process.pid] = process.memory_info().rss
                if "ipykernel" in " ".join(process.cmdline()):
                    kernels.append(process)
            except psutil.Error:
                continue  # ended between the listing and the reading
        self.run_peak = max(self.run_peak, sum(rss.values()))
        for kernel in kernels:
            try:
                tree = [kernel.pid] + [p.pid for p in kernel.children(recursive=True)]
            except psutil.Error:
                continue
            self.kernel_peak = max(self.kernel_peak, sum(rss.get(pid, 0) for pid in tree))


def floor_notebook():
    """One graded cell that imports TensorFlow and loads the checkpoint: what any submission costs."""
    cell = new_code_cell(FLOOR_CODE)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "floor", "locked": True, "points": 1,
                                 "schema_version": 3, "solution": False, "task": False}
    nb = new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


class Variant:
    """One way of grading one submission, timed repeatedly in its own course."""

    def __init__(self, label: str, root: Path, submission, cold_references: bool = False):
        self.label, self.root, self.submission = label, root, submission
        self.cold_references = cold_references
        self.db_url = settings.db_url(root)
        self.times: list[float] = []

    def grade_one(self, scratch: Path) -> None:
        student = f"single{len(self.times):03d}"
        pipeline.submit(self.root, student, self.submission)
        saved = os.environ.get("CNNVIZ_CACHE")
        if self.cold_references:
            os.environ["CNNVIZ_CACHE"] = tempfile.mkdtemp(prefix="refs-", dir=scratch)
        try:
            # Exactly what a worker runs for one student (no class set-up around it).
            started = time.perf_counter()
            outcome = grade_attempt.grade_student(str(self.root), student, self.db_url, settings.passed_env())
            self.times.append(time.perf_counter() - started)
            if not outcome.ok:
                raise SystemExit(f"{self.label}: not graded, so no figure: {outcome.message}")
        finally:
            if self.cold_references:
                shutil.rmtree(os.environ["CNNVIZ_CACHE"], ignore_errors=True)
                if saved is None:
                    del os.environ["CNNVIZ_CACHE"]
                else:
                    os.environ["CNNVIZ_CACHE"] = saved

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def time_class(root: Path, students: list[str], workers: int) -> float:
    """Seconds for `autograde_class` to grade ``students`` (the class command's own set-up
    included: the gradebook check); stops if any is not graded."""
    url = settings.db_url(root)
    started = time.perf_counter()
    outcomes = classgrade.autograde_class(root, workers=workers, students=students, db_url=url)
    elapsed = time.perf_counter() - started
    failed = {o.student: o.message for o in outcomes if not o.ok}
    if failed:
        raise SystemExit(f"not graded, so no figure: {failed}")
    return elapsed


def grade_class(root: Path, submission, students: int, workers: int, prefix: str) -> float:
    return time_class(root, submit_copies(root, submission, students, prefix), workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40, help="class run for the projection (default 40)")
    parser.add_argument("--speedup-students", type=int, default=10, help="students for 1 vs 2 workers")
    parser.add_argument("--repeats", type=int, default=5, help="single-submission timings per variant")
    parser.add_argument("--workers", type=int, default=None, help="workers of the class run (default: the rule)")
    args = parser.parse_args()
    workers = args.workers or class_sizing.default_workers()
    # The grader's own reference cache (~/.cache/cnnviz) must not make the first run cheaper.
    os.environ.setdefault("CNNVIZ_CACHE", tempfile.mkdtemp(prefix="cnnviz-bench-refs-"))

    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-") as tmp, MemorySampler() as memory:
        tmp = Path(tmp)
        real = course(tmp, "real")
        solution = solution_submission(real)
        floor = course(tmp, "floor", notebook=floor_notebook())
        floor_submission = notebooks.read_notebook(floor / "release" / ASSIGNMENT / settings.NOTEBOOK)
        variants = [
            Variant("complete solution", real, solution),
            Variant("floor (import TF + load checkpoint)", floor, floor_submission),
            Variant("solution, graceful kernel shutdown",
                    course(tmp, "graceful", 'c.JailedExecute.shutdown_kernel = "graceful"'), solution),
            Variant("solution, references per student", real, solution, cold_references=True),
        ]
        # Warm-up: the first grading fills the reference cache and the OS's file cache.
        time_class_warm = grade_class(real, solution, 1, 1, "warmup")
        for _ in range(args.repeats):
            for variant in variants:  # interleaved, so that drift in the machine hits every variant alike
                variant.grade_one(tmp)

        one = grade_class(real, solution, args.speedup_students, 1, "one")
        two = grade_class(real, solution, args.speedup_students, 2, "two")
        kernel_peak_single = memory.kernel_peak
        run_started_peak = memory.run_peak
        class_time = grade_class(real, solution, args.students, workers, "class")

    solution_v, floor_v, graceful_v, cold_v = variants
    ratio = solution_v.median / floor_v.median
    rounds = math.ceil(args.students / workers)
    projected = class_time / rounds * math.ceil(PROJECTED_CLASS / workers)
    mib = 2**20

    def runs(variant: Variant) -> str:
        return ", ".join(f"{t:.1f}" for t in variant.times)

    print()
    print(f"one submission, median of {args.repeats} (interleaved; warm-up {time_class_warm:.1f} s)")
    for variant in variants:
        print(f"  {variant.label:<38} {variant.median:6.2f} s   runs: {runs(variant)}")
    print(f"  per-submission ratio (solution / floor) {ratio:6.2f} x   (target <= 1.2)")
    print(f"  lever: immediate kernel shutdown saves   {graceful_v.median - solution_v.median:6.2f} s")
    print(f"  lever: references once per class saves   {cold_v.median - solution_v.median:6.2f} s")
    print(f"{args.speedup_students} submissions, 1 worker against 2")
    print(f"  1 worker                                {one:6.1f} s")
    print(f"  2 workers                               {two:6.1f} s")
    print(f"  speed-up 1 -> 2 workers                 {one / two:6.2f} x   (target >= 1.9)")
    print(f"class of {args.students} with {workers} worker(s) (default rule: {class_sizing.default_workers()})")
    print(f"  measured                                {class_time:6.1f} s   ({class_time / args.students:.2f} s "
          "per student)")
    print(f"  projected for {PROJECTED_CLASS} students                {projected / 60:6.1f} min   "
          f"({math.ceil(PROJECTED_CLASS / workers)} rounds of {class_time / rounds:.1f} s; target <= 20 min)")
    if args.students < 40:
        print("  (a figure for the README needs a measured class of at least 40: --students 40)")
    print("peak memory (RSS)")
    print(f"  one kernel                              {memory.kernel_peak / mib:6.0f} MiB   "
          f"(single-submission runs: {kernel_peak_single / mib:.0f} MiB)")
    print(f"  whole run, all processes                {memory.run_peak / mib:6.0f} MiB   "
          f"(before the class run: {run_started_peak / mib:.0f} MiB)")
    print(f"  a worker is budgeted {settings.MEMORY_PER_WORKER_MB} MiB (settings.MEMORY_PER_WORKER_MB)")


if __name__ == "__main__":
    main()
