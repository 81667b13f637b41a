"""Each jailed kernel's cgroup (v1 or v2): memory, processes and CPU of its whole process tree.

``find_cgroups`` finds where kernels' cgroups can be made (None where no hierarchy is
writable: then only the launcher's rlimits hold, ``cnnviz.grading.bubblewrap``). A
``KernelCgroup`` is made per kernel with its limits written; the kernel's first process
joins it, and at the end every process in it is killed and it is removed.
``remove_stale_cgroups`` removes the cgroups of a grader killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.grading.jail_policy import MiB, Limits

CGROUP_GROUP = "cnnviz-jail"  # the folder under which each kernel's cgroup is made


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            found.append((parts[1], parts[2], set(parts[3].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under "" its v2 path."""
    paths = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


CONTROLLERS = ("memory", "pids", "cpu")


@dataclass
class CgroupPlan:
    """Where kernels' cgroups go: ``version`` 1 (one folder per controller) or 2 (one folder)."""

    version: int
    parents: dict[str, Path]  # controller -> parent folder (v2: every controller -> the same folder)
    missing: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = sorted({str(p) for p in self.parents.values()})
        text = f"cgroup v{self.version} ({', '.join(sorted(self.parents))}) under {', '.join(where)}"
        return text + (f"; not limited: {', '.join(self.missing)}" if self.missing else "")


def find_cgroups(v2_parent: str = "") -> CgroupPlan | None:
    """The writable cgroup hierarchy for kernels' cgroups, or None when there is none.

    v2 (systemd hosts): ``v2_parent`` if given, else ``<mount>/cnnviz-jail``,
    with the memory, pids and cpu controllers enabled for it. v1: a folder
    ``cnnviz-jail`` under this process's own cgroup of each controller, so that
    the grader's own limits (a container's) still hold.
    """
    mounts = _mounts()
    own = _own_cgroups()
    for point, kind, _ in mounts:
        if kind != "cgroup2":
            continue
        available = set((Path(point) / "cgroup.controllers").read_text().split()) \
            if (Path(point) / "cgroup.controllers").is_file() else set()
        usable = [c for c in CONTROLLERS if c in available]
        if not usable:
            continue  # a hybrid host's empty unified hierarchy
        parent = Path(v2_parent) if v2_parent else Path(point) / CGROUP_GROUP
        try:
            _prepare_v2_parent(Path(point), parent, usable)
        except OSError:
            continue
        return CgroupPlan(2, {c: parent for c in usable}, [c for c in CONTROLLERS if c not in usable])
    parents = {}
    for point, kind, options in mounts:
        if kind != "cgroup":
            continue
        for controller in CONTROLLERS:
            if controller in options and controller not in parents:
                own_dir = Path(point) / own.get(controller, "/").lstrip("/")
                parent = own_dir / CGROUP_GROUP
                try:
                    parent.mkdir(exist_ok=True)
                except OSError:
                    continue
                if os.access(parent, os.W_OK):
                    parents[controller] = parent
    if parents:
        return CgroupPlan(1, parents, [c for c in CONTROLLERS if c not in parents])
    return None


def _prepare_v2_parent(mount: Path, parent: Path, controllers: list[str]) -> None:
    """Make ``parent`` and enable ``controllers`` for its children (and on the way down to it)."""
    parent.mkdir(parents=True, exist_ok=True)
    chain = [parent, *parent.parents]
    chain = [p for p in chain if p == mount or mount in p.parents][::-1]  # mount ... parent
    wanted = " ".join("+" + c for c in controllers)
    for folder in chain:
        enabled = set((folder / "cgroup.subtree_control").read_text().split())
        if not set(controllers) <= enabled:
            (folder / "cgroup.subtree_control").write_text(wanted)


class KernelCgroup:
    """One kernel's cgroup: limits written at creation, every process killed at the end."""

    def __init__(self, plan: CgroupPlan, name: str, limits: Limits):
        self.plan = plan
        self.folders = {c: p / name for c, p in plan.parents.items()}
        for folder in set(self.folders.values()):
            folder.mkdir(exist_ok=True)
        self._write_limits(limits)

    def _write(self, controller: str, filename: str, value: str) -> None:
        (self.folders[controller] / filename).write_text(value)

    def _write_limits(self, limits: Limits) -> None:
        memory = str(limits.memory_mb * MiB)
        cpu_period = 100_000
        cpu_quota = max(1000, int(limits.cpus * cpu_period))
        if self.plan.version == 2:
            if "memory" in self.folders:
                self._write("memory", "memory.max", memory)
                if (self.folders["memory"] / "memory.swap.max").exists():
                    self._write("memory", "memory.swap.max", "0")
            if "pids" in self.folders:
                self._write("pids", "pids.max", str(limits.processes))
            if "cpu" in self.folders:
                self._write("cpu", "cpu.max", f"{cpu_quota} {cpu_period}")
            return
        if "memory" in self.folders:
            self._write("memory", "memory.limit_in_bytes", memory)
            if (self.folders["memory"] / "memory.memsw.limit_in_bytes").exists():
                self._write("memory", "memory.memsw.limit_in_bytes", memory)
        if "pids" in self.folders:
            self._write("pids", "pids.max", str(limits.processes))
        if "cpu" in self.folders:
            self._write("cpu", "cpu.cfs_period_us", str(cpu_period))
            self._write("cpu", "cpu.cfs_quota_us", str(cpu_quota))

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files the kernel's first process writes itself into."""
        return [str(folder / "cgroup.procs") for folder in sorted(set(self.folders.values()))]

    def pids(self) -> set[int]:
        """Every process still in the cgroup."""
        found = set()
        for folder in set(self.folders.values()):
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL every process in the cgroup, again and again until it is empty."""
        kill_file = next(iter(self.folders.values())) / "cgroup.kill"
        if self.plan.version == 2 and kill_file.exists():
            kill_file.write_text("1")
        deadline = time.monotonic() + timeout
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left and remove the cgroup folders."""
        self.kill()
        for folder in set(self.folders.values()):
            for _ in range(50):  # a killed process leaves the cgroup a moment after it dies
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)

    def read_limits(self) -> dict[str, str]:
        """The limits as the kernel sees them applied (for jail-check)."""
        names = {1: {"memory": "memory.limit_in_bytes", "pids": "pids.max", "cpu": "cpu.cfs_quota_us"},
                 2: {"memory": "memory.max", "pids": "pids.max", "cpu": "cpu.max"}}[self.plan.version]
        values = {}
        for controller, folder in self.folders.items():
            try:
                values[controller] = (folder / names[controller]).read_text().strip()
            except OSError:
                values[controller] = "?"
        return values


def remove_stale_cgroups(plan: CgroupPlan) -> None:
    """Remove kernel cgroups whose grader process is gone (a grader killed with SIGKILL)."""
    for parent in set(plan.parents.values()):
        for folder in parent.iterdir() if parent.is_dir() else []:
            owner = folder.name.split("-", 1)[0]
            if not folder.is_dir() or not owner.isdigit() or Path(f"/proc/{owner}").exists():
                continue
            stale = KernelCgroup.__new__(KernelCgroup)
            stale.plan, stale.folders = plan, {c: p / folder.name for c, p in plan.parents.items()}
            stale.remove()
