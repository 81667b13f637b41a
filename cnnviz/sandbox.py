"""The grading kernel, confined by bubblewrap.

``python -m cnnviz.sandbox -f CONNECTION_FILE`` is the command of the kernel
spec ``cnnviz-sandbox`` that ``nbgrader autograde`` uses (see
``nbgrader_config.py``). It starts the usual IPython kernel inside a bwrap
sandbox where

- the whole file system is read-only, Keras' data cache included (and shown
  at /tmp/.keras, where Keras looks when its home folder is not writable);
- the student's own autograded folder (the kernel's working folder) is the
  only writable place besides a private /tmp, and the checkpoint in it is
  read-only, so the hidden tests load what the instructor shipped;
- the instructor's and other students' folders (``source/``, ``solutions/``,
  ``submitted/``, ``autograded/``, ``feedback/``, ``tests/``) and the gradebook
  are not there at all.

The network is left alone: the kernel talks to nbgrader over loopback.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from . import CHECKPOINT_NAME, COURSE_ROOT

KERNEL_NAME = "cnnviz-sandbox"
KERNELSPEC_PARENT = Path(__file__).resolve().parent / "jupyter"
HIDDEN_FOLDERS = ("source", "solutions", "submitted", "autograded", "feedback", "tests")


def available() -> bool:
    """Whether bubblewrap is installed (Debian package ``bubblewrap``)."""
    return shutil.which("bwrap") is not None


def bwrap_command(kernel_argv: list[str], workdir: Path, course_root: Path,
                  connection_file: Path | None = None) -> list[str]:
    """The bwrap command line that runs ``kernel_argv`` confined to ``workdir``."""
    workdir, course_root = workdir.resolve(), course_root.resolve()
    # Keras' own rule; cnnviz.data is not imported: this runs at every kernel start.
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    command = [
        # No --unshare-pid: ipykernel takes a parent of pid 1 for "nbgrader has exited".
        "bwrap", "--die-with-parent", "--unshare-ipc",
        "--ro-bind", "/", "/",
        "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    ]
    if keras_home.is_dir():
        # Keras reads its cache from /tmp/.keras when its home is not writable.
        command += ["--ro-bind", str(keras_home), "/tmp/.keras"]
    # The private /tmp above hides whatever lives under the real /tmp; the kernel
    # still needs Python, this package and the course (a clone or a scratch
    # course may well be there). Read-only, like everything else.
    needed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), COURSE_ROOT, course_root}
    for path in sorted(needed, key=lambda p: len(p.parts)):
        if path.is_relative_to("/tmp"):
            command += ["--ro-bind", str(path), str(path)]
    # The graded course and the course this package belongs to (they differ for a
    # scratch course, e.g. `cnnviz grade`): neither's instructor folders are visible.
    for root in {course_root, COURSE_ROOT}:
        for name in HIDDEN_FOLDERS:
            if (root / name).is_dir():
                command += ["--tmpfs", str(root / name)]
        for database in root.glob("gradebook.db*"):
            command += ["--ro-bind", "/dev/null", str(database)]
    command += ["--bind", str(workdir), str(workdir)]
    for protected in (CHECKPOINT_NAME, Path(CHECKPOINT_NAME).with_suffix(".json").name):
        if (workdir / protected).is_file():
            command += ["--ro-bind", str(workdir / protected), str(workdir / protected)]
    if connection_file is not None:
        # It may live under /tmp, which the sandbox replaces; without it the kernel
        # would write a new one and wait forever for a client.
        command += ["--ro-bind", str(connection_file), str(connection_file)]
    command += [
        "--chdir", str(workdir),
        # Caches that would otherwise be written under the read-only home folder.
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--setenv", "IPYTHONDIR", "/tmp/ipython",
        "--",
        *kernel_argv,
    ]
    return command


def main(argv: list[str]) -> None:
    """Replace this process by the sandboxed kernel (``argv``: ``-f CONNECTION_FILE``)."""
    course_root = Path(os.environ.get("CNNVIZ_COURSE_ROOT", COURSE_ROOT))
    connection_file = Path(argv[argv.index("-f") + 1]).resolve() if "-f" in argv else None
    kernel = [sys.executable, "-m", "ipykernel_launcher", *argv,
              # Inline figures without the "tight" bounding box: that option draws every
              # figure twice, and grading renders about ten figures per student.
              "--InlineBackend.print_figure_kwargs={'bbox_inches': None}"]
    command = bwrap_command(kernel, Path.cwd(), course_root, connection_file)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
