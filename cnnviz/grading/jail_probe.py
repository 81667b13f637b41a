"""``python -m cnnviz jail-check``: a jailed probe, and one line per isolation property it shows.

The probe starts as grading kernels do (in a new bubblewrap, or forked from a kernel
template), reports from inside what it is and what it sees, and is looked at from outside
meanwhile (its uid as the host sees it, its cgroup).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from cnnviz import settings
from cnnviz.grading.bubblewrap import PACKAGE_DIR, kernel_package_path
from cnnviz.grading.jail import JailRun
from cnnviz.grading.jail_policy import HOME, Limits, kernel_environment, launcher_environment
from cnnviz.grading.jail_user import JAIL_USER, Identity
from cnnviz.grading.jailed_kernel_manager import configured_manager

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
