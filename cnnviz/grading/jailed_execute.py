"""JailedExecute, nbgrader's Execute preprocessor with every kernel in the grading jail.

Named in ``nbgrader_config.py`` (``c.Autograde.autograde_preprocessors``); kept
apart from ``cnnviz.course`` so that only nbgrader's process imports nbgrader's
machinery.
"""

from __future__ import annotations

import time

from nbgrader.preprocessors import Execute
from traitlets import Enum

from cnnviz.grading import jail


class JailedExecute(Execute):
    """nbgrader's Execute, with every kernel started in the grading jail (``cnnviz.grading.jail``).

    nbgrader's ``Execute.__init__`` fixes ``kernel_manager_class`` before any
    configuration is read, so the jail is chosen here, in code. Its limits are
    ``c.JailedKernelManager.*`` in ``nbgrader_config.py``. The kernel is killed
    as soon as the last cell has run: a polite shutdown only costs time, and the
    jail's cgroup is emptied and removed either way.
    """

    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="How the kernel is stopped after the last cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", jail.kernel_manager_class())
        super().__init__(*args, **kwargs)

    # nbclient's synchronous setup_kernel calls these two (bound to its own async versions).
    def start_new_kernel(self, **kwargs):
        started = time.perf_counter()
        try:
            return super().start_new_kernel(**kwargs)
        finally:
            _TIMINGS["kernel_launch"] = time.perf_counter() - started
            # "template" when forked from the worker's warm template, else "jail" (a new bubblewrap).
            _TIMINGS["kernel_kind"] = getattr(self.km, "launched_from", "jail")

    def start_new_kernel_client(self):
        started = time.perf_counter()
        try:
            return super().start_new_kernel_client()
        finally:
            _TIMINGS["kernel_ready"] = time.perf_counter() - started

    def preprocess(self, nb, resources=None, km=None):
        started = time.perf_counter()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            _TIMINGS["execute"] = time.perf_counter() - started


# Where the last execution's time went (seconds), for the class grader's journal and the benchmark.
_TIMINGS: dict = {}


def pop_timings() -> dict:
    """The last jailed execution's timings in this process, then forgets them.

    Keys: ``kernel_launch`` (the kernel process started), ``kernel_ready`` (its
    first reply), ``execute`` (the whole execution, both of those and every
    cell included) and ``kernel_kind`` (how the kernel was made).
    """
    timings = dict(_TIMINGS)
    _TIMINGS.clear()
    return timings
