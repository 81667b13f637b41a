"""How long the assignment notebook takes to run, as nbgrader would run it.

Copies source/cnn_visualization/ to a temporary folder and executes the source
notebook (solutions and hidden tests included) RUNS times, each in a fresh
python3 kernel with nbclient. For each run it prints the wall time from kernel
start to kernel end, the time spent in cells, and the five slowest cells (from
the timestamps nbclient records in ``cell.metadata.execution``); then the
medians. The floor is a one-cell notebook that only imports TensorFlow and
Keras and loads the checkpoint, run the same way: no notebook can be faster.

    .venv/bin/python benchmarks/notebook_time.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME  # noqa: E402
from cnnviz.course.nbrun import nbgrader_env  # noqa: E402

FLOOR_CODE = f"import tensorflow, keras; keras.models.load_model({CHECKPOINT_NAME!r})"
SLOWEST = 5


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _cell_seconds(cell) -> float | None:
    timing = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return None
    return (_stamp(timing["shell.execute_reply"]) - _stamp(timing["iopub.execute_input"])).total_seconds()


def _label(index: int, cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"


def run_once(folder: Path, nb_name: str, timeout: int) -> dict:
    """Execute ``folder/nb_name`` in a fresh kernel; return total, in-cell and per-cell seconds."""
    nb = nbformat.read(folder / nb_name, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            record_timing=True, resources={"metadata": {"path": str(folder)}})
    started = time.perf_counter()
    client.execute(env=nbgrader_env())  # starts the kernel, runs every cell, shuts the kernel down
    total = time.perf_counter() - started
    cells = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            seconds = _cell_seconds(cell)
            if seconds is not None:
                cells[_label(index, cell)] = seconds
    return {"total": total, "in_cells": sum(cells.values()), "cells": cells}


def _slowest(cells: dict[str, float], n: int = SLOWEST) -> str:
    top = sorted(cells.items(), key=lambda item: item[1], reverse=True)[:n]
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in top)


def _row(label: str, total: float, in_cells: float, kernel: float, slowest: str) -> str:
    return f"{label:<14} {total:>8.2f} {in_cells:>8.2f} {kernel:>9.2f}   {slowest}"


def _median_cells(runs: list[dict]) -> dict[str, float]:
    names = runs[0]["cells"]
    return {name: statistics.median(run["cells"].get(name, 0.0) for run in runs) for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each notebook (default 3)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (default 120, as nbgrader)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-") as tmp:
        folder = Path(tmp) / ASSIGNMENT
        shutil.copytree(ROOT / "source" / ASSIGNMENT, folder)
        floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_CODE)])
        floor_nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(floor_nb, folder / "floor.ipynb")

        print(f"[bench] {args.runs} run(s) each, fresh python3 kernel per run, in {folder}", flush=True)
        results = {"source": [], "floor": []}
        for kind, name in (("source", f"{ASSIGNMENT}.ipynb"), ("floor", "floor.ipynb")):
            for number in range(1, args.runs + 1):
                run = run_once(folder, name, args.timeout)
                results[kind].append(run)
                print(f"[bench] {kind} run {number}: {run['total']:.2f} s", flush=True)

    print()
    print(f"{'run':<14} {'total s':>8} {'cells s':>8} {'kernel s':>9}   slowest {SLOWEST} cells (s)")
    print(f"{'-' * 14} {'-' * 8} {'-' * 8} {'-' * 9}   {'-' * 60}")
    for kind, runs in results.items():
        for number, run in enumerate(runs, 1):
            print(_row(f"{kind} #{number}", run["total"], run["in_cells"], run["total"] - run["in_cells"],
                       _slowest(run["cells"])))
        print(_row(f"{kind} median", statistics.median(r["total"] for r in runs),
                   statistics.median(r["in_cells"] for r in runs),
                   statistics.median(r["total"] - r["in_cells"] for r in runs), _slowest(_median_cells(runs))))
    print()
    source = statistics.median(r["total"] for r in results["source"])
    floor = statistics.median(r["total"] for r in results["floor"])
    print("total   = kernel start to kernel shutdown (nbclient execute), wall time")
    print("cells   = sum over code cells of shell.execute_reply - iopub.execute_input")
    print("kernel  = total - cells: kernel start, shutdown and messaging")
    print(f"floor   = one cell: {FLOOR_CODE}")
    print(f"median source {source:.2f} s, floor {floor:.2f} s: the notebook itself adds {source - floor:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
