"""The grading jail: every student kernel runs confined, however grading starts.

``JailedKernelManager`` is a jupyter_client kernel manager; nbgrader's
``Execute`` step gets it through ``cnnviz.grading.jailed_execute.JailedExecute``,
named in ``nbgrader_config.py``. So ``nbgrader autograde``, the formgrader's
Autograde button, ``python -m cnnviz autograde`` / ``grade`` and ``make demo``
all run student code the same way. Each kernel gets:

- an unprivileged uid and no capabilities. As root, the kernel drops to the
  system user ``cnnviz-jail`` (created on first use; it owns no file), with
  ``setpriv`` inside a privileged bubblewrap: bubblewrap must run as root to
  bind paths that only root may walk into (a Python under ``/root/.pyenv``, a
  course under a 0700 folder; an unprivileged bwrap resolves even
  ``--ro-bind-fd`` sources by path and is refused). As any other user, an
  unprivileged bubblewrap with its own user namespace;
- its own pid, network, IPC, UTS, cgroup and mount namespaces, and a new
  session; it dies with the grader (``--die-with-parent``), and with the pid
  namespace every process it started dies too;
- the grader's sockets as Unix sockets (``transport: ipc``) in a fresh folder
  on a tmpfs, never TCP; its network namespace has no interface but ``lo``;
- an environment cleared to an allow-list (no ``NBGRADER_DB_URL``, no secrets);
- read-only binds of only ``/usr``, the Python and the virtual environment,
  the ``cnnviz`` package, the files the assignment ships (the checkpoint) and
  Keras' Fashion-MNIST cache. Nothing of the course: no ``source/``, ``.git``,
  other students, ``autograded/`` or the gradebook;
- one writable place, its home folder (also its working folder), and a
  private ``/tmp``: both size-capped tmpfs that vanish with the kernel. Only
  the executed notebook comes back, assembled by nbclient from messages;
- a cgroup (v1 or v2) capping memory for the whole process tree (tmpfs
  included), the number of processes and CPU; everything in it is killed when
  the notebook is done, and the cgroup removed. Where no cgroup is writable,
  one log line says so and per-process limits (rlimits) remain.

``python -m cnnviz jail-check`` starts a jailed probe and prints what is isolated.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz import CourseError, settings
from cnnviz.grading import forkserver

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the whole cnnviz package, bound into each kernel
JAIL_USER = "cnnviz-jail"
HOME = "/home/student"  # the kernel's home and working folder, inside the jail
# What a kernel template (cnnviz.grading.forkserver) keeps inside its own jail, only to build each
# kernel's jail: namespaces and mounts (SYS_ADMIN), lo (NET_ADMIN), the jail's uid (SETUID,
# SETGID), an empty bounding set (SETPCAP), killing a kernel of another uid (KILL). Every
# kernel drops all of them before it starts.
TEMPLATE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")
CGROUP_GROUP = "cnnviz-jail"  # the folder under which each kernel's cgroup is made
MiB = 2**20

# The first process of every jail: joins the kernel's cgroups and sets the
# rlimits, then becomes bubblewrap. Started as `python -I -S -c` from "/" so
# that nothing of a student's folder (a planted `cnnviz/`, a `sitecustomize.py`)
# can be imported outside the jail; it imports only `os`, `resource` and `sys`.
LAUNCHER = r"""
import os, resource, sys
args = sys.argv[1:]
cut = args.index("--")
for option in args[:cut]:
    kind, _, value = option.partition("=")
    if kind == "cgroup":
        fd = os.open(value, os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    else:
        limit = int(value)
        resource.setrlimit(getattr(resource, kind), (limit, limit))
os.execv(args[cut + 1], args[cut + 1:])
"""


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


@dataclass
class Identity:
    """Who the kernel runs as, and how bubblewrap is started."""

    uid: int
    gid: int
    as_root: bool  # privileged bwrap + setpriv inside, or an unprivileged user namespace
    name: str = ""


def jail_identity(user: str = JAIL_USER) -> Identity:
    """The uid/gid the kernel gets: ``user`` (created if missing) as root, else the grader's own."""
    if os.geteuid() != 0:
        return Identity(os.getuid(), os.getgid(), as_root=False, name=pwd.getpwuid(os.getuid()).pw_name
                        if _has_passwd_entry(os.getuid()) else str(os.getuid()))
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        entry = create_system_user(user)
    if entry.pw_uid == 0:
        raise CourseError(f"the jail user `{user}` has uid 0; give the jail an unprivileged user")
    return Identity(entry.pw_uid, entry.pw_gid, as_root=True, name=user)


# Graders that start at the same time (pytest workers, parallel `cnnviz autograde`
# processes, Dask workers on one machine) may all find the jail user missing. They take
# turns on this lock, in a folder only root writes, so that one runs `useradd` and the
# others find its user; without it the second `useradd` can fail on /etc/passwd's own lock
# while the first has not written the user yet.
USERADD_LOCK = Path("/run/cnnviz-jail-useradd.lock")
USERADD_NAME_IN_USE = 9  # useradd's exit status when the user (or a group of its name) exists


def _useradd(user: str) -> subprocess.CompletedProcess:
    # A system user of its own: it owns no file, so a kernel running as it can
    # read only what is world-readable and write only its own tmpfs.
    return subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                           "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user],
                          capture_output=True, text=True)


def create_system_user(user: str) -> pwd.struct_passwd:
    """Create the system user ``user`` (as root) and return its entry, once however many graders ask."""
    try:
        lock = os.open(USERADD_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        lock = None  # no /run: useradd's own exit status still tells a lost race (below)
    try:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return pwd.getpwnam(user)  # made by the grader that held the lock before this one
        except KeyError:
            pass
        result = _useradd(user)
        try:
            # Exit status 9 is success too when the user is there: another grader made it.
            return pwd.getpwnam(user)
        except KeyError:
            why = result.stderr.strip() or f"useradd exited with status {result.returncode}"
            # 9 without the user: a group of its name is there, and --user-group refuses to reuse it.
            group = f"--gid {user}" if result.returncode == USERADD_NAME_IN_USE else "--user-group"
            raise CourseError(f"cannot create the jail's system user `{user}` ({why}); create it with "
                              f"`useradd --system {group} --no-create-home {user}`") from None
    finally:
        if lock is not None:
            os.close(lock)  # releases the flock


def _has_passwd_entry(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def missing_tools(identity: Identity) -> list[str]:
    """System commands the jail needs that are not installed, each with its Debian package."""
    needed = {"bwrap": "bubblewrap"}
    if identity.as_root:
        needed["setpriv"] = "util-linux"
    return [f"{tool} (apt-get install {package})" for tool, package in needed.items() if not shutil.which(tool)]


# --------------------------------------------------------------------------- cgroups

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


# --------------------------------------------------------------------------- the jail

def _root_links() -> list[str]:
    """Top-level folders that are links into /usr on merged-/usr systems (bin, lib, ...), as bwrap options."""
    options = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            options += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            options += ["--ro-bind", str(path), str(path)]
    return options


def kernel_package_path() -> Path:
    """Where the kernel's Python finds ``cnnviz``: the folder an editable install points at.

    The grader's own copy is bound there, so that the kernel runs exactly the
    package the grader runs (a checkout on PYTHONPATH, a clone in CI).
    """
    from importlib import metadata

    try:
        info = json.loads(metadata.distribution("cnnviz").read_text("direct_url.json") or "{}")
    except metadata.PackageNotFoundError:
        info = {}
    if info.get("dir_info", {}).get("editable") and info.get("url", "").startswith("file://"):
        return Path(info["url"][len("file://"):]) / "cnnviz"
    return PACKAGE_DIR


def _parent_dirs(destinations: list[str]) -> list[str]:
    """``--perms 0755 --dir`` for every folder above the mount points, outermost first.

    A privileged bubblewrap makes missing parents 0700, root's: the jail's uid
    could not walk through them to the binds below.
    """
    options, made = [], {"/"}
    for destination in destinations:
        for parent in reversed(Path(destination).parents):
            if str(parent) not in made:
                made.add(str(parent))
                options += ["--perms", "0755", "--dir", str(parent)]
    return options


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
    if os.environ.get("NBGRADER_EXECUTION"):
        env["NBGRADER_EXECUTION"] = os.environ["NBGRADER_EXECUTION"]
    env.update(extra or {})
    return env


def launcher_environment() -> dict[str, str]:
    """The environment of the processes that start a jail (the launcher, bubblewrap, a template's stub):
    enough to find their programs, nothing else of the grader's. The kernel never sees it
    (bubblewrap clears it; a forked kernel replaces it by ``kernel_environment``)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}


def bwrap_command(command: list[str], identity: Identity, limits: Limits, *,
                  shared_dir: Path | None, etc_files: dict[str, Path], files: list[Path],
                  data_dir: Path | None, template: bool = False) -> list[str]:
    """The bubblewrap command line that runs ``command`` in the jail.

    ``shared_dir`` (connection file and sockets) is bound read-write at its own
    path; ``files`` are bound read-only into the home folder under their own
    names; ``data_dir`` (Keras' Fashion-MNIST cache) read-only where Keras looks.
    With ``template``, the jail of a kernel template (``cnnviz.grading.forkserver``):
    ``shared_dir`` is its spool, the data waits in a staging folder for each
    kernel's own home, and it keeps the capabilities it needs to build each
    kernel's jail (it runs no student code; every kernel drops them all).
    """
    argv = ["bwrap", "--die-with-parent", "--new-session",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "jail"]
    if not identity.as_root:
        # A user namespace of its own, in which it may not make another.
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--ro-bind", "/usr", "/usr", *_root_links()]
    binds = [(str(source), f"/etc/{name}") for name, source in sorted(etc_files.items())]
    binds += [(shared, shared) for shared in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
              if Path(shared).exists()]
    # Python and the venv, read-only at their own paths; this package where the
    # venv's import system looks for it.
    needed = {Path(sys.base_prefix).resolve(), Path(sys.prefix).absolute(), Path(sys.prefix).resolve()}
    binds += [(str(path), str(path)) for path in sorted(needed, key=lambda p: (len(p.parts), str(p)))
              if not path.is_relative_to("/usr")]
    binds.append((str(PACKAGE_DIR), str(kernel_package_path())))
    argv += ["--proc", "/proc", "--dev", "/dev"]
    # The private /tmp and home come before the binds: a clone and its venv under /tmp (as a
    # CI checkout or a scratch course may be) are bound on top of the tmpfs, not hidden by it.
    argv += _parent_dirs([HOME])
    argv += ["--perms", "1777", "--size", str(limits.tmp_mb * MiB), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(limits.home_mb * MiB), "--tmpfs", HOME,
             "--perms", "1777", "--dir", f"{HOME}/.keras", "--perms", "0755", "--dir", f"{HOME}/.keras/datasets"]
    argv += _parent_dirs([target for _, target in binds] + ([str(shared_dir)] if shared_dir else []))
    for source, target in binds:
        argv += ["--ro-bind", source, target]
    for path in files:
        argv += ["--ro-bind", str(path), f"{HOME}/{path.name}"]
    if template:
        argv += _parent_dirs([forkserver.STAGE])
        for folder in (forkserver.STAGE, forkserver.FILES, forkserver.DATA):
            argv += ["--perms", "0755", "--dir", folder]
    data_target = forkserver.DATA if template else f"{HOME}/.keras/datasets/fashion-mnist"
    if data_dir is not None and data_dir.is_dir():
        argv += ["--ro-bind", str(data_dir), data_target]
    if shared_dir is not None:
        argv += ["--bind", str(shared_dir), str(shared_dir)]
    # The new root is a tmpfs the kernel's user would own without a user of its own: read-only.
    argv += ["--remount-ro", "/", "--chdir", HOME, "--clearenv"]
    for key, value in kernel_environment().items():
        argv += ["--setenv", key, value]
    if template:
        for capability in TEMPLATE_CAPABILITIES:
            argv += ["--cap-add", capability]
        return argv + ["--", *command]
    argv.append("--")
    if identity.as_root:
        argv += ["setpriv", f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
    return argv + command


def launcher_command(jail_argv: list[str], cgroup: KernelCgroup | None, limits: Limits) -> list[str]:
    """``python -I -S -c LAUNCHER``: join the cgroup, set rlimits, exec bubblewrap."""
    options = [f"cgroup={path}" for path in (cgroup.procs_files() if cgroup else [])]
    options += [f"RLIMIT_AS={limits.address_space_mb * MiB}", f"RLIMIT_FSIZE={limits.file_mb * MiB}",
                "RLIMIT_CORE=0"]
    if cgroup is None or "pids" not in cgroup.folders:
        # Without a pids cgroup: a cap per user (per user namespace, for an unprivileged grader).
        options.append(f"RLIMIT_NPROC={limits.processes}")
    bwrap = shutil.which("bwrap") or "bwrap"
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, *options, "--", bwrap, *jail_argv[1:]]


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


# --------------------------------------------------------------------------- jupyter_client

def _kernel_manager_class():
    """Built on first use: importing jupyter_client costs time the command line does not need."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Bool, Float, Integer, Unicode

    class JailedKernelManager(AsyncKernelManager):
        """An IPython kernel in the grading jail (``cnnviz.grading.jail``), over Unix sockets.

        Limits are set in ``nbgrader_config.py``, e.g.
        ``c.JailedKernelManager.memory_limit_mb = 4096``.
        """

        memory_limit_mb = Integer(Limits.memory_mb, help="Memory of the kernel's whole process tree "
                                  "(tmpfs included), MiB; needs a cgroup").tag(config=True)
        address_space_limit_mb = Integer(Limits.address_space_mb, help="Address space per process, MiB "
                                         "(TensorFlow reserves several GiB)").tag(config=True)
        process_limit = Integer(Limits.processes, help="Processes and threads of one kernel").tag(config=True)
        cpu_limit = Float(Limits.cpus, help="CPU time of one kernel, in cores").tag(config=True)
        home_size_mb = Integer(Limits.home_mb, help="The kernel's writable home folder, MiB").tag(config=True)
        tmp_size_mb = Integer(Limits.tmp_mb, help="The kernel's private /tmp, MiB").tag(config=True)
        file_size_limit_mb = Integer(Limits.file_mb, help="Largest file a kernel writes, MiB").tag(config=True)
        jail_user = Unicode(JAIL_USER, help="System user the kernel runs as when grading as root "
                            "(created on first use)").tag(config=True)
        cgroup_parent = Unicode("", help="cgroup v2 folder under which kernels' cgroups are made "
                                "(default: <cgroup mount>/cnnviz-jail)").tag(config=True)
        kernel_template = Bool(True, help="Fork each kernel from this process's warm template "
                               "(cnnviz.grading.kernel_template), in a jail of its own, instead of starting "
                               "a new Python in a new bubblewrap").tag(config=True)

        _jail = None  # the kernel's JailRun, or its TemplateKernel
        launched_from = "jail"  # or "template": how the last kernel was made (for the timings)

        def limits(self) -> Limits:
            """The configured limits."""
            limits = Limits(self.memory_limit_mb, self.address_space_limit_mb, self.process_limit,
                            self.cpu_limit, self.home_size_mb, self.tmp_size_mb, self.file_size_limit_mb)
            floor = limits.address_space_mb + limits.home_mb + limits.tmp_mb
            if limits.memory_mb < floor:
                self.log.warning("[jail] memory_limit_mb=%d is below address_space_limit_mb + home + tmp "
                                 "(%d): a runaway allocation will kill the kernel (not graded) instead of "
                                 "failing its cell; raise c.JailedKernelManager.memory_limit_mb to at least %d",
                                 limits.memory_mb, floor, floor)
            return limits

        @property
        def kernel_spec(self):
            # Built here, not found on JUPYTER_PATH: no kernelspec can be swapped in.
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-I", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                          # Inline figures without the "tight" bounding box: that option draws
                          # every figure twice, and grading renders about ten per student.
                          "--InlineBackend.print_figure_kwargs={'bbox_inches': None}"],
                    display_name="Python 3 (grading jail)", language="python",
                    # Signals would reach bubblewrap, not the kernel in its own session.
                    interrupt_mode="message", metadata={"debugger": False})
            return self._kernel_spec

        async def _async_pre_start_kernel(self, **kw):
            if self._jail is None:
                template = None
                if self.kernel_template:
                    from cnnviz.grading import kernel_template

                    template = kernel_template.shared_template(self.limits(), self.jail_user,
                                                               self.cgroup_parent, log=self.log)
                if template is not None:
                    self._jail, self.launched_from = template.new_kernel(), "template"
                else:
                    self._jail = JailRun(self.limits(), self.jail_user, self.cgroup_parent, log=self.log)
                    self.launched_from = "jail"
                self.transport = "ipc"
                self.connection_file = str(self._jail.shared / "kernel.json")
                self.ip = str(self._jail.shared / "kernel")
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            assert self._jail is not None
            workdir = Path(kw.pop("cwd", None) or os.getcwd())
            self._jail.give_to_kernel(Path(self.connection_file))
            command = self._jail.command(kernel_cmd, assignment_files(workdir))
            # The launcher starts from "/" with nothing of the grader's environment.
            kw["cwd"] = "/"
            kw["env"] = launcher_environment()
            return await super()._async_launch_kernel(command, **kw)

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            try:
                await super()._async_cleanup_resources(restart=restart)
            finally:
                if self._jail is not None:
                    if restart:
                        self._jail.stop()
                    else:
                        self._jail.close()
                        self._jail = None

    return JailedKernelManager


_MANAGER = None


def kernel_manager_class():
    """``JailedKernelManager``: the jupyter_client manager of jailed kernels."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = _kernel_manager_class()
    return _MANAGER


def __getattr__(name):
    if name == "JailedKernelManager":
        return kernel_manager_class()
    raise AttributeError(name)


# --------------------------------------------------------------------------- jail-check

PROBE = r"""
import json, os, socket, sys
out = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid()}
try:
    out["uid_map"] = open("/proc/self/uid_map").read().split()
except OSError:
    out["uid_map"] = []
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
for key in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"):
    out[key] = status.get(key, "").strip()
out["ns"] = {n: os.readlink("/proc/self/ns/" + n) for n in ("pid", "net", "ipc", "uts", "mnt", "user", "cgroup")}
out["interfaces"] = [name for _, name in socket.if_nameindex()]
out["tcp"] = {}
for host, port in [("127.0.0.1", 5432), ("127.0.0.1", 22), ("1.1.1.1", 53)]:
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect((host, port)); out["tcp"][f"{host}:{port}"] = "connected"
    except OSError as e:
        out["tcp"][f"{host}:{port}"] = type(e).__name__
    finally:
        s.close()
out["env"] = sorted(os.environ)
out["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
out["visible"] = {p: os.path.exists(p) for p in sys.argv[2:]}
out["writable"] = {p: os.access(p, os.W_OK) for p in ["/", "/usr", sys.prefix, os.getcwd(), "/tmp"]}
out["cwd"] = os.getcwd()
print(json.dumps(out), flush=True)
sys.stdin.read()  # the checker looks at this process from outside meanwhile
"""


def jail_check(limits: Limits, user: str = JAIL_USER, cgroup_parent: str = "",
               sensitive: list[str] | None = None, log=None, template=None) -> tuple[list[str], bool]:
    """Start a jailed probe; return one line per isolation property and whether all hold.

    With ``template`` (a ``cnnviz.grading.kernel_template.KernelTemplate``) the probe is
    forked from it, as grading kernels are, instead of started in a new bubblewrap.
    """
    run = template.new_kernel() if template is not None else JailRun(limits, user, cgroup_parent, log=log)
    token = f"cnnviz-probe-{uuid.uuid4().hex}"
    try:
        probe = [sys.executable, "-I", "-c", PROBE, token, *(sensitive or [])]
        process = subprocess.Popen(run.command(probe, []), cwd="/", text=True, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=launcher_environment())
        first = process.stdout.readline()
        member = run.cgroup is None or not first or bool(run.cgroup.pids())
        # The probe's uid as the host sees it (inside, a user namespace shows only its own map).
        if not first:
            outer = set()
        elif template is not None:
            outer = _host_uids_below(template.process.pid)
        else:
            outer = _host_uids(token, probe[0])
        try:
            errors = process.communicate(input="", timeout=60)[1]
        except subprocess.TimeoutExpired:
            process.kill()
            errors = process.communicate()[1]
        applied = run.cgroup.read_limits() if run.cgroup else {}
        plan = run.cgroup.plan.describe() if run.cgroup else ""
    finally:
        run.close()
    if not first.strip():
        return [f"FAIL the jailed probe did not run: {(errors.strip() or 'no output')[-300:]}"], False
    facts = json.loads(first)
    facts["outer_uids"] = sorted(outer)
    identity = template.identity if template is not None else run.identity
    lines = describe_probe(facts, identity, applied, plan, forked=template is not None)
    if not member:
        lines.append("FAIL the probe was not in its own cgroup")
    return lines, all_hold(facts, identity) and member


def _host_uids_below(ancestor: int) -> set[int]:
    """Real uids of the processes, below ``ancestor``, that are pid 1 of a namespace of their own
    inside ``ancestor``'s (a kernel forked from a template, seen from the host)."""
    parents, uids = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
            parents[int(entry.name)] = int(status["PPid"])
            if len(status.get("NSpid", "").split()) >= 3 and status["NSpid"].split()[-1] == "1":
                uids[int(entry.name)] = int(status["Uid"].split()[0])
        except (OSError, KeyError, ValueError):
            continue
    found = set()
    for pid, uid in uids.items():
        seen, current = set(), pid
        while current in parents and current not in seen:
            seen.add(current)
            current = parents[current]
            if current == ancestor:
                found.add(uid)
                break
    return found


def _host_uids(token: str, executable: str) -> set[int]:
    """Real uids, seen from the host, of the processes running ``executable`` with ``token`` in their arguments."""
    uids = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if token.encode() in argv and argv[0] == executable.encode():
                uids.add(int((entry / "status").read_text().split("\nUid:")[1].split()[0]))
        except (OSError, IndexError, ValueError):
            continue
    return uids


def _outer_uid(facts: dict) -> int:
    """The probe's uid outside the jail (0 when it could not be seen, which fails the check)."""
    uids = facts.get("outer_uids") or [0]
    return 0 if 0 in uids else uids[0]


def _own_namespaces() -> dict[str, str]:
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "net", "ipc", "uts", "mnt", "user", "cgroup")}


def all_hold(facts: dict, identity: Identity) -> bool:
    """Whether the probe ran unprivileged, without capabilities, in its own namespaces, offline."""
    own = _own_namespaces()
    separate = all(facts["ns"][n] != own[n] for n in ("pid", "net", "ipc", "uts", "mnt"))
    return (_outer_uid(facts) != 0 and int(facts["CapEff"], 16) == 0 and int(facts["CapBnd"] or "0", 16) == 0
            and separate and facts["interfaces"] == ["lo"] and not any(facts["visible"].values())
            and all(v != "connected" for v in facts["tcp"].values())
            and not any(facts["writable"][p] for p in ("/", "/usr"))
            and set(facts["env"]) <= allowed_environment())


def allowed_environment() -> set[str]:
    """Variable names a jailed process may have: the allow-list (PWD included, as bubblewrap sets it)."""
    return set(kernel_environment({"NBGRADER_EXECUTION": "autograde"}))


def describe_probe(facts: dict, identity: Identity, applied: dict[str, str], plan: str,
                   forked: bool = False) -> list[str]:
    """One line per isolation property, ``ok``/``FAIL`` first (``forked``: made by a kernel template)."""
    def line(ok: bool, text: str) -> str:
        return f"{'ok  ' if ok else 'FAIL'} {text}"

    own = _own_namespaces()
    outer = _outer_uid(facts)
    dropper = "by the template's fork, inside a privileged bubblewrap" if forked else \
        "with setpriv in a privileged bubblewrap"
    how = (f"system user {identity.name}, dropped {dropper}" if identity.as_root
           else "the grader's own uid, in an unprivileged user namespace")
    lines = [
        line(outer != 0, f"uid {facts['uid']} inside, {outer} outside ({how})"),
        line(int(facts["CapEff"], 16) == 0 and int(facts["CapBnd"] or "0", 16) == 0,
             f"capabilities: effective {facts['CapEff']}, bounding {facts['CapBnd']}; "
             f"no_new_privs {facts['NoNewPrivs']}"),
    ]
    for name in ("pid", "net", "ipc", "uts", "mnt", "user", "cgroup"):
        separate = facts["ns"][name] != own[name]
        required = name in ("pid", "net", "ipc", "uts", "mnt")
        lines.append(line(separate or not required,
                          f"{name} namespace: {'its own' if separate else 'shared with the grader'}"))
    lines.append(line(facts["interfaces"] == ["lo"] and all(v != "connected" for v in facts["tcp"].values()),
                      f"network: interfaces {facts['interfaces']}; "
                      + ", ".join(f"{k} {v}" for k, v in facts["tcp"].items())))
    lines.append(line(len(facts["pids"]) <= 3, f"processes visible: {facts['pids']}"))
    lines.append(line(set(facts["env"]) <= allowed_environment(),
                      f"environment: {', '.join(facts['env'])}"))
    hidden = [p for p, seen in facts["visible"].items() if not seen]
    seen = [p for p, seen in facts["visible"].items() if seen]
    lines.append(line(not seen, f"not visible: {', '.join(hidden) or '-'}"
                      + (f"; VISIBLE: {', '.join(seen)}" if seen else "")))
    writable = [p for p, w in facts["writable"].items() if w]
    lines.append(line(not facts["writable"]["/"] and not facts["writable"]["/usr"],
                      f"writable: {', '.join(writable)} (tmpfs of {HOME} and /tmp, size-capped)"))
    if applied:
        lines.append(line(True, f"limits: {plan}: " + ", ".join(f"{k} {v}" for k, v in sorted(applied.items()))))
    else:
        lines.append(line(True, "limits: no writable cgroup here; per-process rlimits only "
                                "(address space, file size, processes per user)"))
    return lines


def configured_manager(course_root: Path):
    """A ``JailedKernelManager`` with the limits of ``course_root/nbgrader_config.py``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (Path(course_root) / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    return kernel_manager_class()(config=config)


def print_jail_check(course_root: Path) -> bool:
    """``python -m cnnviz jail-check``: start a jailed probe, print what is isolated, return whether all is."""
    import logging

    manager = configured_manager(course_root)
    # Everything in the course folder but the package and the venv the kernel needs,
    # and a few places with secrets; the probe reports which of them it can see.
    keep = {PACKAGE_DIR, kernel_package_path(), Path(sys.prefix).absolute(), Path(sys.prefix).resolve()}
    sensitive = [str(p) for p in Path(course_root).resolve().iterdir() if p not in keep]
    sensitive += ["/etc/shadow", str(Path.home() / ".bash_history"), str(settings.keras_cache_dir())]
    logging.basicConfig(format="%(message)s")
    log = logging.getLogger("cnnviz.grading.jail")
    lines, ok = jail_check(manager.limits(), manager.jail_user, manager.cgroup_parent,
                           sensitive=sorted(set(sensitive)), log=log)
    print("[jail] a kernel started in a new bubblewrap:")
    for line in lines:
        print(line)
    if manager.kernel_template:
        from cnnviz.grading import kernel_template

        print("[jail] a kernel forked from this grader's warm template (c.JailedKernelManager.kernel_template):")
        try:
            template = kernel_template.KernelTemplate(manager.limits(), manager.jail_user,
                                                      manager.cgroup_parent, log=log)
        except (kernel_template.TemplateUnavailable, OSError) as exc:
            print(f"FAIL the template did not start ({exc}); grading would start every kernel in a new bubblewrap")
            ok = False
        else:
            try:
                for _ in range(2):  # a second kernel from the same template: each builds its own jail
                    lines, ok_template = jail_check(manager.limits(), sensitive=sorted(set(sensitive)),
                                                    log=log, template=template)
                    ok = ok and ok_template
                for line in lines:
                    print(line)
            finally:
                template.close()
    print("[jail] active: every property above holds" if ok else "[jail] NOT active: see the FAIL lines above")
    return ok
