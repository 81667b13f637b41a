"""JailedExecute, nbgrader's Execute preprocessor with every kernel in the grading jail.

Named in ``nbgrader_config.py`` (``c.Autograde.autograde_preprocessors``); kept
apart from ``cnnviz.course`` so that only nbgrader's process imports nbgrader's
machinery.
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Enum

from cnnviz.course.notebooks import grade_id as grade_id_of
from cnnviz.grading import failures, jailed_kernel_manager


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
        kwargs.setdefault("kernel_manager_class", jailed_kernel_manager.kernel_manager_class())
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
        self._asked = True  # the kernel runs; what fails from here on is its first reply
        try:
            client = super().start_new_kernel_client()
            self._answered = True
            return client
        finally:
            _TIMINGS["kernel_ready"] = time.perf_counter() - started

    def preprocess_cell(self, cell, resources, index):
        self._cell = grade_id_of(cell) or f"#{index + 1}"  # for a failure's record
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources=None, km=None):
        started = time.perf_counter()
        self._asked, self._answered, self._cell = False, False, ""
        try:
            return super().preprocess(nb, resources, km)
        except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:
            # nbclient gives up on the whole notebook: say why as a record, by the exception's type
            # and where it came (a kernel that never answered its first request ran no student code).
            if isinstance(exc, CellTimeoutError):
                kind, reason = failures.TIMEOUT, failures.TIMEOUT_REASON
            elif self._asked and not self._answered:
                kind, reason, self._cell = failures.KERNEL_NEVER_ANSWERED, failures.KERNEL_NEVER_ANSWERED_REASON, ""
            elif isinstance(exc, DeadKernelError):
                kind, reason = failures.KERNEL_DIED, failures.KERNEL_DIED_REASON
            else:
                raise
            student = ((resources or {}).get("nbgrader") or {}).get("student") or ""
            failures.report(failures.Failure(kind, student, self._cell, reason))
            raise
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
