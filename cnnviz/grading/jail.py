"""The grading jail: every student kernel runs confined, however grading starts.

``JailedKernelManager`` (``cnnviz.grading.jailed_kernel_manager``) is a jupyter_client
kernel manager; nbgrader's ``Execute`` step gets it through
``cnnviz.grading.jailed_execute.JailedExecute``, named in ``nbgrader_config.py``. So ``nbgrader autograde``, the formgrader's
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

``python -m cnnviz jail-check`` (``cnnviz.grading.jail_probe``) starts a jailed probe and prints what is isolated.
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
