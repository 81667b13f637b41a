"""Who a class run grades and how many graders it runs at once.

The students are the folders of ``submitted/`` that hold the assignment; the
graders, one per core, but no more than the free memory holds
(``settings.MEMORY_PER_WORKER_MB`` each).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cnnviz import ASSIGNMENT, COURSE_ROOT, settings


def submitted_students(root: Path = COURSE_ROOT) -> list[str]:
    """Students with a submission of the assignment in ``submitted/``."""
    folder = Path(root) / "submitted"
    if not folder.is_dir():
        return []
    # Dot folders are no students (nbgrader's own glob skips them too).
    return sorted(p.name for p in folder.iterdir() if (p / ASSIGNMENT).is_dir() and not p.name.startswith("."))


def default_workers() -> int:
    """Graders to run at once: one per core, but no more than the free memory holds.

    The rule: ``min(cores usable by this process, available memory // settings.MEMORY_PER_WORKER_MB)``,
    at least 1. Available memory is the kernel's MemAvailable, capped by the
    cgroup's limit when the grader runs in a container.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    available = _available_memory_bytes()
    if available is None:
        return max(1, cores)
    return max(1, min(cores, available // (settings.MEMORY_PER_WORKER_MB * 2**20)))


def _available_memory_bytes() -> int | None:
    try:
        meminfo = Path("/proc/meminfo").read_text()
        available = int(re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.M).group(1)) * 1024
    except (OSError, AttributeError):
        return None
    try:  # cgroup v2: what this container may still use
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available
