"""The grading jail's own cost per kernel: the floor notebook through the jail and without it.

    .venv/bin/python benchmarks/jail_overhead.py [--repeats 7]

Runs, interleaved, with nbclient exactly as nbgrader's Execute does (kernel
start, the cells, immediate shutdown, cleanup):

- an empty notebook: kernel start, ready and stop alone;
- the floor notebook: import TensorFlow and load the checkpoint,

once with jupyter_client's plain kernel manager and once with the jailed one
(``cnnviz.grading.jailed_kernel_manager``: launcher, bubblewrap, setpriv as root, cgroup made, killed
and removed). Prints the medians and the difference, which is the jail's
overhead per submission. Not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT  # noqa: E402
from cnnviz.grading import jailed_kernel_manager  # noqa: E402
from cnnviz.grading.jail_policy import kernel_environment  # noqa: E402

FLOOR_CODE = "import tensorflow\nimport keras\nmodel = keras.models.load_model('best-cnn-model.keras')"


def notebook(code: str | None):
    nb = new_notebook(cells=[new_code_cell(code)] if code else [])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def run_once(code: str | None, jailed: bool, workdir: Path) -> float:
    """Seconds for one notebook run, kernel start to cleanup."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    manager = jailed_kernel_manager.kernel_manager_class() if jailed else AsyncKernelManager
    # The plain kernel gets the jail's environment, with its folders in the working folder.
    env = None if jailed else kernel_environment({
        "HOME": str(workdir), "MPLCONFIGDIR": str(workdir / ".config" / "matplotlib"),
        "IPYTHONDIR": str(workdir / ".ipython"), "KERAS_HOME": str(workdir / ".keras")})
    started = time.perf_counter()
    client = NotebookClient(notebook(code), kernel_manager_class=manager, timeout=300, startup_timeout=300,
                            shutdown_kernel="immediate", resources={"metadata": {"path": str(workdir)}})
    if env is None:
        client.execute()
    else:
        client.execute(env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cnnviz-jail-bench-") as tmp:
        workdir = Path(tmp)
        shutil.copy(COURSE_ROOT / "source" / ASSIGNMENT / CHECKPOINT_NAME, workdir / CHECKPOINT_NAME)
        (workdir / ".keras" / "datasets").mkdir(parents=True)
        times: dict[tuple[str, bool], list[float]] = {}
        run_once(None, True, workdir)  # warm the page cache and create the jail user
        for _ in range(args.repeats):
            for label, code in (("empty notebook", None), ("floor notebook", FLOOR_CODE)):
                for jailed in (False, True):
                    times.setdefault((label, jailed), []).append(run_once(code, jailed, workdir))
    print(f"medians of {args.repeats} interleaved runs (kernel start to cleanup, immediate shutdown):")
    for label in ("empty notebook", "floor notebook"):
        plain, jailed = (statistics.median(times[(label, j)]) for j in (False, True))
        print(f"  {label:<15} plain {plain:6.2f} s   jailed {jailed:6.2f} s   "
              f"jail overhead {jailed - plain:+.2f} s ({jailed / plain:.2f}x)")


if __name__ == "__main__":
    main()
