"""What the benchmarks share: scratch courses of this course, and a class of copies of the solution."""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import catalogue, nbrun, notebooks, pipeline


def course(parent: Path, name: str, config: str = "", notebook=None) -> Path:
    """A scratch course of this course's assignment (or of ``notebook``), with extra config lines."""
    folder = parent / name
    folder.mkdir()
    root = pipeline.scratch_course(folder)
    if config:
        with open(root / "nbgrader_config.py", "a") as handle:
            handle.write("\n" + config + "\n")
    if notebook is not None:
        nbformat.write(notebook, root / "source" / ASSIGNMENT / settings.NOTEBOOK)
        nbrun.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=root, quiet=True)
    return root


def solution_submission(root: Path):
    """The released notebook of the course in ``root`` filled with the instructor's solution answers."""
    release = notebooks.read_notebook(root / "release" / ASSIGNMENT / settings.NOTEBOOK)
    source = notebooks.read_notebook(root / "source" / ASSIGNMENT / settings.NOTEBOOK)
    return catalogue.by_name()["solution"].notebook(release, source)


def submit_copies(root: Path, submission, students: int, prefix: str) -> list[str]:
    """``students`` copies of ``submission`` in ``root/submitted/``, named ``<prefix>000``...; their names."""
    names = [f"{prefix}{k:03d}" for k in range(students)]
    for name in names:
        pipeline.submit(root, name, submission)
    return names


class PeriodicSampler:
    """Calls ``self.sample()`` every ``interval`` seconds on a thread of its own, inside a ``with`` block."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        raise NotImplementedError
