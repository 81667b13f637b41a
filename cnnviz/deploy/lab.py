"""``make lab``: the instructor's single-user JupyterLab with nbgrader's extensions.

The server gets the very environment the command-line grading gives nbgrader
(``nbrun.nbgrader_env``): matplotlib's inline backend for every kernel it
starts (the course's commands default to ``MPLBACKEND=Agg`` for batch jobs, and a
kernel that inherits it draws no figures), TensorFlow's C++ log level, and the course on
``PYTHONPATH``. So notebooks opened in it show their figures, and so does the
feedback of a submission autograded from its formgrader.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cnnviz import COURSE_ROOT, CourseError


def lab_env() -> dict:
    """Environment of the JupyterLab server, and so of its kernels and of the formgrader's grading."""
    from cnnviz.course.nbrun import nbgrader_env

    return nbgrader_env()


def lab_command(course: Path, extra: list[str] | None = None, euid: int | None = None) -> list[str]:
    """The ``jupyter lab`` command serving ``course`` on 127.0.0.1.

    ``--allow-root`` only when run as root: Jupyter refuses root without it, and a
    normal user does not need it.
    """
    from cnnviz.settings import server_csp_option

    euid = os.geteuid() if euid is None else euid
    # Every page it sends carries the course's Content-Security-Policy (cnnviz/settings.py).
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--ip=127.0.0.1", "--no-browser",
               f"--ServerApp.root_dir={course}", server_csp_option()]
    if euid == 0:
        command.append("--allow-root")
    return command + list(extra or [])


def run(course: Path = COURSE_ROOT, extra: list[str] | None = None) -> None:
    """Replace this process by JupyterLab serving ``course`` (nbgrader finds its config there)."""
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course}: no nbgrader_config.py here; give the course root "
                          "(the folder with source/ and nbgrader_config.py)")
    command = lab_command(course, extra)
    user = "root, so with --allow-root" if "--allow-root" in command else "a normal user"
    print(f"[lab] JupyterLab for {course} as {user}; open the URL with its token below", flush=True)
    os.chdir(course)
    os.execve(command[0], command, lab_env())
