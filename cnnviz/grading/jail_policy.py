"""What every jailed kernel is given, however it starts: its limits, its home, its environment.

Each limit has its one default here (``Limits``: ``nbgrader_config.py`` and the traits of
``c.JailedKernelManager.*`` start from it), and the kernel's environment is built by one
function (``kernel_environment``). Others enforce them: ``cnnviz.grading.cgroups`` (memory,
processes and CPU of the whole tree), ``cnnviz.grading.bubblewrap`` (tmpfs sizes, rlimits, the
environment of a new jail) and ``cnnviz.grading.kernel_template`` (a kernel forked from a
template).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cnnviz import settings

HOME = "/home/student"  # the kernel's home and working folder, inside the jail
MiB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one jailed kernel may use."""

    # The cgroup sits above one process's address space plus both tmpfs: a single runaway
    # allocation then fails its own cell with MemoryError (graded), and only a bomb spread over
    # processes or files meets the cgroup, which kills the kernel (not graded).
    memory_mb: int = 7168  # cgroup: the whole tree, tmpfs included
    address_space_mb: int = 6144  # rlimit per process: a runaway allocation fails its cell
    processes: int = 512  # cgroup pids (threads count: TensorFlow starts dozens)
    cpus: float = 1.0  # cgroup CPU quota, in cores
    home_mb: int = 256  # the writable home folder (tmpfs)
    tmp_mb: int = 256  # the private /tmp (tmpfs)
    file_mb: int = 1024  # rlimit: largest file a kernel may write


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The jailed kernel's whole environment: an allow-list, nothing inherited from the grader.

    The only place it is built, however the kernel starts: a new bubblewrap sets exactly these
    (``bwrap_command``: ``--clearenv``, then ``--setenv``), and a kernel forked from a template
    gets them in its request (``cnnviz.grading.kernel_template``), which ``cnnviz.grading.forkserver`` puts in
    place of its own environment.
    """
    env = {
        "PATH": os.pathsep.join([str(Path(sys.prefix) / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": HOME,
        # bubblewrap sets PWD to its --chdir folder; a forked kernel gets it from here, the same.
        "PWD": HOME,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        # Figures as inline PNGs in the executed notebook (what nbgrader keeps), and no
        # TensorFlow C++ start-up lines in every graded notebook.
        **settings.kernel_env(),
        "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
        "IPYTHONDIR": f"{HOME}/.ipython",
        settings.KERAS_HOME_VARIABLE: f"{HOME}/.keras",
        # ipykernel's debugger warns about frozen modules on every start otherwise.
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    # nbgrader's own flag for "this is autograding"; notebooks may read it.
    if settings.nbgrader_execution():
        env["NBGRADER_EXECUTION"] = settings.nbgrader_execution()
    env.update(extra or {})
    return env


def launcher_environment() -> dict[str, str]:
    """The environment of the processes that start a jail (the launcher, bubblewrap, a template's stub):
    enough to find their programs, nothing else of the grader's. The kernel never sees it
    (bubblewrap clears it; a forked kernel replaces it by ``kernel_environment``)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
