"""Warm kernel templates, the grader's side: one per grading process, reused student after student.

Starting a kernel in the jail and importing TensorFlow, Keras, matplotlib and
IPython's kernel takes a few seconds, the same for every submission. A
``KernelTemplate`` pays that once per grading process: it starts
``cnnviz.grading.forkserver`` in a jail of its own, which does those imports and then
forks one kernel per student. Each kernel builds a new jail around itself
before it runs anything of the student's (see ``cnnviz.grading.forkserver``): new
namespaces, fresh tmpfs, its own cgroup (created here, joined before it
starts), no capabilities, the jail's uid. The template never runs student code
and no kernel can reach it, so nothing one student leaves behind reaches the
next.

For jupyter_client the kernel's process is a small launcher (``STUB``): it
asks the template for a kernel, moves it into the kernel's cgroup, and lives
exactly as long as the kernel. Killing the launcher kills the kernel.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from cnnviz import CourseError, settings
from cnnviz.grading.cgroups import KernelCgroup
from cnnviz.grading.jail import JailRun, KernelPlace
from cnnviz.grading.jail_policy import HOME, MiB, Limits, kernel_environment, launcher_environment

# How long a template may take to import everything (a loaded 2-core grader needs ~10 s).
READY_TIMEOUT = 180.0

# The kernel's process for jupyter_client: started as `python -I -S -c` from "/", standard library only.
STUB = r"""
import json, os, socket, struct, sys
control, request, *procs = sys.argv[1:]
hello = json.loads(request).get("hello")
if hello:
    if os.path.exists(hello):  # left by this kernel's previous start (a restart)
        os.unlink(hello)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(hello)
    listener.listen(1)
    listener.settimeout(60)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.connect(control)
socket.send_fds(server, [request.encode()], [0, 1, 2])
replies = server.makefile("rb")
first = json.loads(replies.readline() or b'{"error": "the template closed the request"}')
if "error" in first:
    sys.stderr.write("[template] no kernel: " + first["error"] + "\n")
    sys.exit(70)
if hello:
    peer, _ = listener.accept()
    pid = struct.unpack("3i", peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    # Only the kernel the template just forked: pid 1 of its own namespace, forked as `started`.
    nspid = [line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith("NSpid:")][0]
    if nspid[-1] != "1" or nspid[-2] != str(first["started"]) or peer.recv(1) != b"h":
        sys.exit(71)
    for path in procs:
        with open(path, "w") as cgroup:
            cgroup.write(str(pid))
    peer.sendall(b"g")
    peer.close()
    listener.close()
line = replies.readline()
code = json.loads(line).get("exited", 1) if line else 1
sys.exit(code if 0 <= code < 256 else 1)
"""

_SERVE = "import sys; from cnnviz.grading.forkserver import serve; serve(sys.argv[1], float(sys.argv[2]))"

# A template that has served nobody for this long exits (and is started again when needed).
IDLE_SECONDS = 600.0

# Run once in a new template's first kernel: the template is only used when its kernels come out
# jailed on this machine (a container may refuse, say, a new /proc). Prints uid and capabilities.
SELF_TEST = ("import json, os\n"
             "status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
             "print(json.dumps({'uid': os.getuid(), 'pid': os.getpid(), 'caps': [status[k].strip() for k in "
             "('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')], 'home': sorted(os.listdir('.'))}))\n")


def template_limits(limits: Limits) -> Limits:
    """The template's own limits: the kernels', with room for its imports (TensorFlow's address space)."""
    floor = Limits()
    return dataclasses.replace(limits, memory_mb=max(limits.memory_mb, floor.memory_mb),
                               address_space_mb=max(limits.address_space_mb, floor.address_space_mb),
                               processes=max(limits.processes, floor.processes))


class TemplateUnavailable(CourseError):
    """The template could not be started here; kernels are started in a jail of their own instead."""


class KernelTemplate:
    """One running template: its jail (folder, cgroup, process) and the kernels it has made."""

    def __init__(self, limits: Limits, user: str, cgroup_parent: str, log=None, wait: bool = True):
        """Start the template; with ``wait``, also wait until it is ready (else ``wait_ready`` does).

        Call it from a thread that outlives the template: the jail is killed when
        the thread that started it ends (``PR_SET_PDEATHSIG``).
        """
        self.limits, self.log = limits, log  # each kernel's limits
        self.run = JailRun(template_limits(limits), user, cgroup_parent, log=log)
        self.identity = self.run.identity
        self.spool = self.run.shared  # bound read-write into the template only
        if self.identity.as_root:
            os.chown(self.spool, 0, 0)  # the template's, not the kernels' uid
        self.control = self.spool / "control"
        argv = self.run.command([sys.executable, "-I", "-c", _SERVE, str(self.control), str(IDLE_SECONDS)], [],
                                template=True)
        # Its own messages (TensorFlow's start-up lines) go to a file, read only when it fails to start.
        self.errors = self.run.root / "template.log"
        with open(self.errors, "wb") as errors:
            self.process = subprocess.Popen(argv, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=errors, env=launcher_environment())
        self.started = time.monotonic()
        self.ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the template has done its imports and its first kernel proved jailed.

        Raises TemplateUnavailable (the template then is stopped) if it does not
        start, or its kernels do not come out jailed here.
        """
        if self.ready:
            return
        ready = _read_line(self.process.stdout, max(0.0, self.started + READY_TIMEOUT - time.monotonic()))
        if ready != "ready":
            lines = [line for line in self.errors.read_text(errors="replace").splitlines()
                     if line.strip() and "absl" not in line]
            self.close()
            raise TemplateUnavailable(f"the kernel template did not start after "
                                      f"{time.monotonic() - self.started:.0f} s: "
                                      f"{(lines or [ready or 'no answer'])[-1][:300]}")
        why = self._self_test()
        if why:
            self.close()
            raise TemplateUnavailable(f"its first kernel was not jailed as it must be: {why}")
        self.ready = True

    def _self_test(self) -> str:
        """Why the template's kernels are not jailed here, or "" when the first one is."""
        kernel = self.new_kernel()
        try:
            result = subprocess.run(kernel.command([sys.executable, "-I", "-c", SELF_TEST], []), cwd="/",
                                    capture_output=True, text=True, timeout=60,
                                    env=launcher_environment())
        except subprocess.TimeoutExpired:
            return "no answer in 60 s"
        finally:
            kernel.close()
        try:
            facts = json.loads(result.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            return (lines or [f"exit status {result.returncode}"])[-1][:300]
        expected_uid = self.identity.uid if self.identity.as_root else os.getuid()
        if facts["uid"] != expected_uid or facts["pid"] != 1 or any(int(c, 16) for c in facts["caps"]):
            return f"uid {facts['uid']}, pid {facts['pid']}, capabilities {facts['caps']}"
        if facts["home"] != [".keras"]:
            return f"its home is not a fresh one: {facts['home']}"
        # It ran at all only after the launcher had moved it into its cgroup (STUB), when there is one.
        return ""

    def alive(self) -> bool:
        """Whether the template process still runs (an idle one ends by itself, see IDLE_SECONDS)."""
        # Its control socket appears once its imports are done: a template still starting has none yet.
        return self.process.poll() is None and (not self.ready or self.control.exists())

    def new_kernel(self) -> "TemplateKernel":
        """The folder and cgroup of one more kernel (started by ``TemplateKernel.command``)."""
        return TemplateKernel(self)

    def close(self) -> None:
        """Stop the template and every kernel it made, remove its folder and cgroup."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.run.close()


class TemplateKernel(KernelPlace):
    """One kernel made from a template: its folder under the spool and its own cgroup."""

    def __init__(self, template: KernelTemplate):
        self.template = template
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.root = template.spool / self.name
        self.root.mkdir(mode=0o755)
        self.shared = self.root / "kernel"
        self.shared.mkdir(mode=0o700)
        self.files = self.root / "files"
        self.files.mkdir(mode=0o755)
        identity = template.identity
        if identity.as_root:
            os.chown(self.shared, identity.uid, identity.gid)
        self.cgroup = None
        plan = template.run.cgroup.plan if template.run.cgroup else None
        if plan is not None:
            self.cgroup = KernelCgroup(plan, self.name, template.limits)

    def give_to_kernel(self, path: Path) -> None:
        """Let the kernel's uid read ``path`` (the connection file)."""
        if self.template.identity.as_root:
            os.chown(path, self.template.identity.uid, self.template.identity.gid)

    def command(self, kernel_argv: list[str], files: list[Path]) -> list[str]:
        """The launcher that asks the template for this kernel, for ``jupyter_client`` to start.

        ``kernel_argv`` is ``python -I -m ipykernel_launcher ARGS`` (the kernel spec's), or
        ``python -I -c PROBE ARGS`` for ``jail-check``'s probe.
        """
        probe = None
        if kernel_argv[1:3] == ["-I", "-c"] and len(kernel_argv) > 3:
            probe, kernel_argv = kernel_argv[3], [*kernel_argv[:3], "", *kernel_argv[4:]]
        elif kernel_argv[1:4] != ["-I", "-m", "ipykernel_launcher"]:
            raise CourseError(f"a kernel template starts IPython kernels only, not {kernel_argv[:4]}")
        for path in files:
            shutil.copyfile(path, self.files / path.name)  # a copy: the kernel sees it read-only
            (self.files / path.name).chmod(0o644)
        limits, identity = self.template.limits, self.template.identity
        rlimits = {"RLIMIT_AS": limits.address_space_mb * MiB, "RLIMIT_FSIZE": limits.file_mb * MiB,
                   "RLIMIT_CORE": 0}
        if self.cgroup is None or "pids" not in self.cgroup.folders:
            rlimits["RLIMIT_NPROC"] = limits.processes
        request = {
            "spool": str(self.template.spool), "folder": str(self.shared), "files_folder": str(self.files),
            "files": [path.name for path in files], "home": HOME,
            "home_bytes": limits.home_mb * MiB, "tmp_bytes": limits.tmp_mb * MiB, "rlimits": rlimits,
            "uid": identity.uid if identity.as_root else None, "gid": identity.gid if identity.as_root else None,
            "environment": kernel_environment(), "launcher": importlib.util.find_spec("ipykernel_launcher").origin,
            "kernel_args": kernel_argv[4:], "probe": probe,
            "hello": str(self.shared / "hello") if self.cgroup is not None else None,
        }
        procs = self.cgroup.procs_files() if self.cgroup else []
        return [sys.executable, "-I", "-S", "-c", STUB, str(self.template.control), json.dumps(request), *procs]


def _read_line(stream, timeout: float) -> str:
    """One line from ``stream`` within ``timeout`` seconds, or "" (the process then is stopped by the caller)."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline().decode(errors="replace").strip()),
                              daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0] if line else ""


# --------------------------------------------------------------------------- one template per process

_templates: dict[tuple, KernelTemplate] = {}
_refused: set[tuple] = set()
_guard = threading.Lock()


def shared_template(limits: Limits, user: str, cgroup_parent: str, log=None) -> KernelTemplate | None:
    """This process's template for these limits, started on first use; None where it cannot run.

    A template that has died is started again. Where none can start (one
    warning line says why), kernels get a jail of their own as before.
    """
    key = _key(limits, user, cgroup_parent)
    with _guard:
        template = _templates.pop(key, None)
        if template is not None and not template.alive():
            template.close()
            template = None
        if key in _refused:
            return None
        try:
            if template is None:
                template = KernelTemplate(limits, user, cgroup_parent, log=log, wait=False)
            template.wait_ready()  # at once, for a template that `start_early` started
        except (TemplateUnavailable, OSError) as exc:
            _refused.add(key)
            if log:
                log.warning("[jail] no kernel template (%s); each kernel starts in a new jail instead", exc)
            return None
        _templates[key] = template
        return template


def start_early(limits: Limits, user: str, cgroup_parent: str, log=None) -> None:
    """Start this process's template for these limits now, without waiting for it to be ready.

    Its imports then run beside the caller's own work; the first kernel's
    ``shared_template`` waits for it. Call it from the thread the kernels will
    be started from (the process's main thread for nbgrader): the template
    lives only as long as the thread that started it. Where it cannot start,
    nothing is said here: the first kernel tries again and says why.
    """
    key = _key(limits, user, cgroup_parent)
    with _guard:
        if key in _templates or key in _refused:
            return
        try:
            _templates[key] = KernelTemplate(limits, user, cgroup_parent, log=log, wait=False)
        except (TemplateUnavailable, OSError):
            pass


def _key(limits: Limits, user: str, cgroup_parent: str) -> tuple:
    return limits, user, cgroup_parent, str(settings.keras_cache_dir())


@atexit.register
def close_all() -> None:
    """Stop every template of this process."""
    with _guard:
        for template in _templates.values():
            template.close()
        _templates.clear()
