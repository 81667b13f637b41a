"""The warm kernel template: runs inside its own grading jail, never runs student code.

A grading worker starts one template (``cnnviz.grading.kernel_template``). It imports
what every submission's first cell imports (NumPy, matplotlib, TensorFlow,
Keras, IPython's kernel), then waits. For each student it forks a child that
builds a jail of its own around itself before any student code exists in it:

1. new mount, pid, network, IPC and UTS namespaces (``unshare``); every mount
   private, so nothing propagates back to the template;
2. the template's spool (every kernel's folder) hidden under an empty tmpfs,
   with only this kernel's own folder bound back; fresh size-capped tmpfs on
   the home folder, ``/tmp`` and ``/dev/shm``; ``/dev`` read-only; the
   assignment's files and Keras' data bound read-only into the new home;
3. a grandchild, pid 1 of the new pid namespace, mounts its own ``/proc``,
   brings up ``lo``, waits until the grader has moved it into the student's
   own cgroup, enters a cgroup namespace, sets the rlimits, drops to the jail's
   uid with no capabilities at all (``no_new_privs``, empty bounding set) and
   only then becomes the IPython kernel.

The child of step 1 stays outside the student's namespaces and waits: when the
grader's end of the request closes it kills the kernel (and with it its pid
namespace), and when the kernel ends it reports the status. The template
itself only accepts requests on a socket in its spool, which no kernel sees.

Nothing here imports anything but the standard library before the template's
imports: this module is started as ``python -I -c`` inside the jail.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import time

# The modules a fresh kernel would import for this course's notebook, done once in the template.
WARM_IMPORTS = (
    # pyplot, but not the inline backend: pyplot picks its backend at the first figure, so the
    # backend's module (matplotlib_inline) is imported in the kernel, once its shell exists, and
    # hooks itself into that shell. Imported here, it would find no shell and no figure would
    # reach the notebook. What that module imports is imported here.
    "numpy", "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg", "tensorflow", "keras",
    "IPython.core.pylabtools", "IPython.display",
    "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "cnnviz.lesson",
)

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x20, 0x400, 0x800, 0x1000
MS_REC, MS_PRIVATE, MS_RELATIME = 0x4000, 0x40000, 0x200000
MNT_DETACH = 0x2
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
SYS_CAPSET = 126  # x86-64
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

# Inside the template's jail: where a kernel's own things are staged while the spool is hidden.
STAGE = "/run/cnnviz/stage"
FILES = "/run/cnnviz/files"
DATA = "/run/cnnviz/data"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def _remount_read_only(target: str) -> None:
    """``target``'s mount read-only, keeping its other flags (in a user namespace they are locked)."""
    flags = os.statvfs(target).f_flag
    kept = [(os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
            (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME)]
    extra = 0
    for statvfs_flag, mount_flag in kept:
        if flags & statvfs_flag:
            extra |= mount_flag
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra)


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    _remount_read_only(target)


def _tmpfs(target: str, size_bytes: int, mode: str = "1777") -> None:
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size_bytes},mode={mode}")


def _drop_everything(uid: int | None, gid: int | None) -> None:
    """No capability left in any set, no way to gain one, and the jail's uid when given."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap} from the bounding set")
    if gid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
    if uid is not None:
        os.setresuid(uid, uid, uid)
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)  # two empty {effective, permitted, inheritable} sets
    _check(_libc.syscall(SYS_CAPSET, header, data), "clear capabilities")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _close_other_fds(keep: set[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


# --------------------------------------------------------------------------- the kernel's own jail

def _isolate(request: dict) -> None:
    """In the request's child: namespaces and mounts of its own (step 1 and 2 above)."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    spool, own, home = request["spool"], request["folder"], request["home"]
    _mount(own, STAGE, None, MS_BIND)
    if request.get("files_folder"):
        _bind_read_only(request["files_folder"], FILES)
    # Every other kernel's folder and the template's control socket disappear under empty
    # tmpfs (the spool lives under /dev/shm or /tmp, which get fresh ones too); this kernel's
    # own folder comes back at its own path, where the grader's sockets are.
    _tmpfs(spool, 64 * 1024, "0755")
    _tmpfs(home, request["home_bytes"])
    _tmpfs("/tmp", request["tmp_bytes"])
    _tmpfs("/dev/shm", request["tmp_bytes"])
    os.makedirs(own, 0o755)
    _mount(STAGE, own, None, MS_BIND)
    _check(_libc.umount2(STAGE.encode(), MNT_DETACH), "umount the stage")
    # bwrap's /dev is one tmpfs for the template and all its kernels: nobody writes there.
    _remount_read_only("/dev")
    for name in request.get("files", []):
        target = os.path.join(home, name)
        open(target, "w").close()
        _bind_read_only(os.path.join(FILES, name), target)
    os.makedirs(os.path.join(home, ".keras", "datasets"), mode=0o777, exist_ok=True)
    if os.path.isdir(DATA):
        data_target = os.path.join(home, ".keras", "datasets", "fashion-mnist")
        os.mkdir(data_target)
        _bind_read_only(DATA, data_target)
    for folder in (os.path.join(home, ".keras"), os.path.join(home, ".keras", "datasets")):
        os.chmod(folder, 0o1777 if folder.endswith(".keras") else 0o755)
    os.chmod(home, 0o1777)


def _become_kernel(request: dict, hello: str | None) -> None:
    """In pid 1 of the new pid namespace: the last steps, then the IPython kernel (step 3)."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    socket.sethostname("jail")
    _loopback_up()
    if hello:
        # The grader reads this process's pid from the connection (SO_PEERCRED) and moves it
        # into the student's cgroup; it answers once that is done.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(hello)
            sock.sendall(b"h")
            if sock.recv(1) != b"g":
                os._exit(71)
        _check(_libc.unshare(CLONE_NEWCGROUP), "unshare the cgroup namespace")
    import resource

    for name, value in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    _close_other_fds({0, 1, 2})
    _drop_everything(request.get("uid"), request.get("gid"))
    os.chdir(request["home"])
    os.environ.clear()
    os.environ.update(request["environment"])
    # A fresh kernel's NumPy draws its seed from the system; the template's copy would repeat it.
    import numpy

    numpy.random.seed()
    if request.get("probe") is not None:
        # `cnnviz jail-check`: the grader's own probe, run where a kernel would run.
        sys.argv = ["-c", *request["kernel_args"]]
        try:
            exec(compile(request["probe"], "<probe>", "exec"), {"__name__": "__main__"})
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(0)
    sys.argv = [request["launcher"], *request["kernel_args"]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    os._exit(0)


def _serve_request(connection: socket.socket, request: dict, fds: list[int]) -> None:
    """The request's child: isolate, fork the kernel, and watch both ends until one closes."""
    code = 70
    try:
        _isolate(request)
        kernel = os.fork()
        if kernel == 0:
            try:
                for target, fd in zip((0, 1, 2), fds):
                    os.dup2(fd, target)
                connection.close()
                _become_kernel(request, request.get("hello"))
            except BaseException as exc:  # before any student code: say why, on the grader's stderr
                import traceback
                os.write(2, ("".join(traceback.format_exception(exc))).encode())
            os._exit(70)
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"started": kernel}).encode() + b"\n")
        watcher = os.pidfd_open(kernel)
        while True:
            readable, _, _ = select.select([connection, watcher], [], [])
            if watcher in readable:
                _, status = os.waitpid(kernel, 0)
                code = os.waitstatus_to_exitcode(status)
                break
            if not connection.recv(1):  # the grader's end closed: the kernel goes too
                os.kill(kernel, signal.SIGKILL)
                os.waitpid(kernel, 0)
                code = -9
                break
        try:
            connection.sendall(json.dumps({"exited": code}).encode() + b"\n")
        except OSError:
            pass
    except BaseException as exc:
        try:
            connection.sendall(json.dumps({"error": repr(exc)[:300]}).encode() + b"\n")
        except OSError:
            pass
    os._exit(0)


def serve(control: str, idle_seconds: float = 0) -> None:
    """The template's loop: import once, then one forked child per request on ``control``.

    With ``idle_seconds``, it exits once it has served nobody for that long (a
    formgrader's template does not hold its memory all day); the grader starts
    a new one on the next request.
    """
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for name in WARM_IMPORTS:
        __import__(name)
    # The imports' objects live as long as any kernel: kept out of the kernels' garbage collections,
    # which would otherwise walk all of them and copy every page they sit on (CPython's advice for
    # a fork server; see gc.freeze).
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control)
    os.chmod(control, 0o600)
    listener.listen(16)
    # The grader waits for this line before it sends the first request.
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    serving, last_seen = set(), time.monotonic()
    while True:
        readable, _, _ = select.select([listener], [], [], 1.0)
        while serving:  # reap the children of finished requests
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                serving.clear()
                break
            if pid == 0:
                break
            serving.discard(pid)
        if serving:
            last_seen = time.monotonic()
        if not readable:
            if idle_seconds and time.monotonic() - last_seen > idle_seconds:
                os.unlink(control)  # the grader sees it gone before it asks again
                return
            continue
        connection, _ = listener.accept()
        last_seen = time.monotonic()
        try:
            message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
            request = json.loads(message)
        except (OSError, ValueError):
            connection.close()
            continue
        child = os.fork()
        if child == 0:
            listener.close()
            _serve_request(connection, request, fds)
        serving.add(child)
        for fd in fds:
            os.close(fd)
        connection.close()


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0)
