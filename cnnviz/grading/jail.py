"""The grading jail, one kernel's run of it: what the kernel owns on the grader, made and removed.

Every student kernel runs confined, however grading starts (``nbgrader autograde``, the
formgrader's Autograde button, ``python -m cnnviz autograde`` / ``grade``, ``make demo``),
through ``cnnviz.grading.jailed_kernel_manager``. Each kernel gets:

- an unprivileged uid and no capabilities (``cnnviz.grading.jail_user``): as root, the
  system user ``cnnviz-jail``, dropped to with ``setpriv`` inside a privileged bubblewrap
  (it must run as root to bind paths only root may walk into: a Python under
  ``/root/.pyenv``, a course under a 0700 folder; an unprivileged bwrap resolves even
  ``--ro-bind-fd`` sources by path and is refused); as any other user, an unprivileged
  bubblewrap with its own user namespace;
- its own pid, network, IPC, UTS, cgroup and mount namespaces, and a new session
  (``cnnviz.grading.bubblewrap``); it dies with the grader (``--die-with-parent``), and with
  the pid namespace every process it started dies too;
- the grader's sockets as Unix sockets (``transport: ipc``) in a fresh folder on a tmpfs
  (``JailRun.shared``), never TCP; its network namespace has no interface but ``lo``;
- an environment cleared to an allow-list (``cnnviz.grading.jail_policy``: no
  ``NBGRADER_DB_URL``, no secrets);
- read-only binds of only ``/usr``, the Python and the virtual environment, the ``cnnviz``
  package, the files the assignment ships (``assignment_files``: the checkpoint) and Keras'
  Fashion-MNIST cache. Nothing of the course: no ``source/``, ``.git``, other students,
  ``autograded/`` or the gradebook;
- one writable place, its home folder (also its working folder), and a private ``/tmp``:
  both size-capped tmpfs that vanish with the kernel. Only the executed notebook comes
  back, assembled by nbclient from messages;
- a cgroup (v1 or v2, ``cnnviz.grading.cgroups``) capping memory for the whole process tree
  (tmpfs included), the number of processes and CPU; everything in it is killed when the
  notebook is done, and the cgroup removed. Where no cgroup is writable, one log line says
  so and per-process limits (rlimits) remain.

A kernel forked from a warm template (``cnnviz.grading.kernel_template``) builds the same
jail around itself. ``python -m cnnviz jail-check`` (``cnnviz.grading.jail_probe``) starts a
jailed probe and prints what is isolated.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from cnnviz import CourseError, settings
from cnnviz.grading.bubblewrap import bwrap_command, launcher_command, missing_tools
from cnnviz.grading.cgroups import KernelCgroup, find_cgroups, remove_stale_cgroups
from cnnviz.grading.jail_policy import HOME, Limits
from cnnviz.grading.jail_user import JAIL_USER, jail_identity


def remove_stale_folders(base: Path) -> None:
    """Remove kernels' shared folders whose grader process is gone."""
    for folder in base.glob("cnnviz-jail-*-*"):
        owner = folder.name.split("-")[2]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def folder_base() -> Path:
    """Where kernels' shared folders are made: a tmpfs when there is one (memory charged to the kernel's cgroup)."""
    return Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())


def remove_leftovers(cgroup_parent: str = "") -> None:
    """Remove the folders and cgroups of every kernel and template whose grader process is gone.

    A grader killed with SIGKILL (its thread ended, out of memory, an
    interrupt) cannot clean up after itself; whoever started it calls this.
    """
    remove_stale_folders(folder_base())
    plan = find_cgroups(cgroup_parent)
    if plan is not None:
        remove_stale_cgroups(plan)


class KernelPlace:
    """What one kernel owns on the grader: its folder (``root``) and its cgroup (or None)."""

    root: Path
    cgroup: KernelCgroup | None = None

    def stop(self) -> None:
        """Kill everything the kernel started (a restart keeps the folder and the cgroup)."""
        if self.cgroup is not None:
            self.cgroup.kill()

    def close(self) -> None:
        """Kill everything, remove the cgroup and the folder."""
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.root, ignore_errors=True)


class JailRun(KernelPlace):
    """Everything one jailed kernel owns on the grader: its shared folder, its cgroup."""

    def __init__(self, limits: Limits, user: str = JAIL_USER, cgroup_parent: str = "", log=None):
        self.limits = limits
        self.identity = jail_identity(user)
        missing = missing_tools(self.identity)
        if missing:
            raise CourseError("the grading jail needs " + ", ".join(missing))
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        base = folder_base()
        remove_stale_folders(base)
        self.root = Path(tempfile.mkdtemp(prefix=f"cnnviz-jail-{os.getpid()}-", dir=base))
        self.shared = self.root / "kernel"
        self.shared.mkdir(mode=0o700)
        if self.identity.as_root:
            os.chown(self.shared, self.identity.uid, self.identity.gid)
        os.chmod(self.root, 0o755)
        self.etc = self._write_etc()
        self.cgroup = None
        plan = find_cgroups(cgroup_parent)
        if plan is None:
            if log:
                log.warning("[jail] no writable cgroup (v1 memory/pids/cpu, or v2) on this machine: "
                            "kernels are limited per process only (address space, file size, processes "
                            "per user), and their memory as a whole is not capped")
        else:
            remove_stale_cgroups(plan)
            self.cgroup = KernelCgroup(plan, self.name, limits)

    def _write_etc(self) -> dict[str, Path]:
        """passwd and group with only the jail's user: nothing about the grader's users."""
        name = self.identity.name if self.identity.as_root else "student"
        passwd = self.root / "passwd"
        passwd.write_text(f"{name}:x:{self.identity.uid}:{self.identity.gid}::{HOME}:/usr/sbin/nologin\n")
        group = self.root / "group"
        group.write_text(f"{name}:x:{self.identity.gid}:\n")
        for path in (passwd, group):
            path.chmod(0o644)
        return {"passwd": passwd, "group": group}

    def command(self, kernel_argv: list[str], files: list[Path], template: bool = False) -> list[str]:
        """The full command: launcher, bubblewrap, setpriv (as root), the kernel (or a kernel template)."""
        jail = bwrap_command(kernel_argv, self.identity, self.limits, shared_dir=self.shared,
                             etc_files=self.etc, files=files, data_dir=settings.keras_cache_dir(),
                             template=template)
        return launcher_command(jail, self.cgroup, self.limits)

    def give_to_kernel(self, path: Path) -> None:
        """Let the kernel's uid read ``path`` (the connection file, written 0600 by the grader)."""
        if self.identity.as_root:
            os.chown(path, self.identity.uid, self.identity.gid)


def assignment_files(workdir: Path) -> list[Path]:
    """The files a kernel gets read-only in its home: the assignment's non-notebook files.

    nbgrader has just copied them into ``workdir`` from ``source/`` (overwriting
    whatever a student sent under those names); intake (``cnnviz.grading.intake``) has
    removed everything else a student sent. Links and notebooks are never passed.
    """
    if not workdir.is_dir():
        return []
    files = []
    for path in sorted(workdir.iterdir()):
        if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb" or path.name == "timestamp.txt":
            continue
        files.append(path)
    return files
