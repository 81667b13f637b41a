"""Autograde timing: one submission against the floor, and class throughput with 1 and 2 workers.

    .venv/bin/python benchmarks/autograde_throughput.py [--students 20] [--repeats 3]

Everything runs in scratch courses under a temporary folder, the way
`python -m cnnviz autograde` grades a class (nbgrader autograde per student,
sandboxed kernels). Prints:

- seconds to autograde one complete submission, and the floor: the same
  `nbgrader autograde` of a notebook that only imports TensorFlow and loads the
  checkpoint (median of --repeats); the target is at most 1.5x the floor;
- seconds to autograde --students submissions with 1 and with 2 workers, and
  the speed-up; the target on 2 cores is at least 1.6x.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz import ASSIGNMENT, classgrade, grading  # noqa: E402

FLOOR_CODE = "import tensorflow\nimport keras\nmodel = keras.models.load_model('best-cnn-model.keras')"


def floor_course(parent: Path) -> Path:
    """A course whose assignment only imports TensorFlow and loads the checkpoint."""
    course = grading.scratch_course(parent)
    nbformat.write(floor_notebook(), course / "source" / ASSIGNMENT / grading.NOTEBOOK)
    grading.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=course, quiet=True)
    return course


def floor_notebook():
    cell = new_code_cell(FLOOR_CODE)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "floor", "locked": True, "points": 1,
                                 "schema_version": 3, "solution": False, "task": False}
    nb = new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def time_class(course: Path, notebook, students: int, workers: int) -> float:
    for k in range(students):
        grading.submit(course, f"student{k:03d}", notebook)
    started = time.perf_counter()
    outcomes = classgrade.autograde_class(course, workers=workers)
    elapsed = time.perf_counter() - started
    failed = [o.student for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"not graded: {failed}")
    shutil.rmtree(course / "submitted")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "real").mkdir()
        (tmp / "floor").mkdir()
        real = grading.scratch_course(tmp / "real")
        floor = floor_course(tmp / "floor")
        release = grading.read_notebook(real / "release" / ASSIGNMENT / grading.NOTEBOOK)
        source = grading.read_notebook(real / "source" / ASSIGNMENT / grading.NOTEBOOK)
        solution = grading.load_catalogue()[0].notebook(release, source)
        floor_submission = grading.read_notebook(floor / "release" / ASSIGNMENT / grading.NOTEBOOK)

        one = [time_class(real, solution, 1, 1) for _ in range(args.repeats)]
        base = [time_class(floor, floor_submission, 1, 1) for _ in range(args.repeats)]
        serial = time_class(real, solution, args.students, 1)
        parallel = time_class(real, solution, args.students, 2)

    print()
    print("autograde of one submission (median of %d)" % args.repeats)
    print(f"  complete solution   {statistics.median(one):6.1f} s   runs: {', '.join(f'{t:.1f}' for t in one)}")
    print(f"  floor (import+load) {statistics.median(base):6.1f} s   runs: {', '.join(f'{t:.1f}' for t in base)}")
    print(f"  ratio               {statistics.median(one) / statistics.median(base):6.2f} x   (target <= 1.5)")
    print(f"class of {args.students} submissions")
    print(f"  1 worker            {serial:6.1f} s   ({serial / args.students:.1f} s per student)")
    print(f"  2 workers           {parallel:6.1f} s   ({parallel / args.students:.1f} s per student)")
    print(f"  speed-up            {serial / parallel:6.2f} x   (target >= 1.6)")


if __name__ == "__main__":
    main()
