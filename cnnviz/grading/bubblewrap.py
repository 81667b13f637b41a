"""The command line that starts a jail: the launcher, then bubblewrap, then (as root) setpriv.

``launcher_command`` wraps ``bwrap_command``. The launcher (``python -I -S``, from ``/``)
joins the kernel's cgroup and sets the rlimits, then becomes bubblewrap; bubblewrap makes
the namespaces and the mounts (read-only ``/usr``, the Python, the venv and this package;
size-capped tmpfs for the home and ``/tmp``; the assignment's files and Keras' data),
clears the environment to ``cnnviz.grading.jail_policy.kernel_environment`` and, as root,
runs the kernel through ``setpriv`` as the jail's user with no capabilities.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from cnnviz.grading import forkserver
from cnnviz.grading.cgroups import KernelCgroup
from cnnviz.grading.jail_policy import HOME, MiB, Limits, kernel_environment
from cnnviz.grading.jail_user import Identity

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the whole cnnviz package, bound into each kernel
# What a kernel template (cnnviz.grading.forkserver) keeps inside its own jail, only to build each
# kernel's jail: namespaces and mounts (SYS_ADMIN), lo (NET_ADMIN), the jail's uid (SETUID,
# SETGID), an empty bounding set (SETPCAP), killing a kernel of another uid (KILL). Every
# kernel drops all of them before it starts.
TEMPLATE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")

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


def missing_tools(identity: Identity) -> list[str]:
    """System commands the jail needs that are not installed, each with its Debian package."""
    needed = {"bwrap": "bubblewrap"}
    if identity.as_root:
        needed["setpriv"] = "util-linux"
    return [f"{tool} (apt-get install {package})" for tool, package in needed.items() if not shutil.which(tool)]


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
