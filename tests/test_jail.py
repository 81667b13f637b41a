"""cnnviz.grading.jail: what a grading kernel can see, write, reach and leave behind."""

import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cnnviz import COURSE_ROOT, CourseError, settings
from cnnviz.grading import jail

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")


def targets(command, kind):
    """The destination of every ``kind`` option (binds: the second argument; --setenv: the name)."""
    offset = {"--tmpfs": 1, "--dir": 1, "--proc": 1, "--dev": 1, "--setenv": 1}.get(kind, 2)
    return [command[k + offset] for k, word in enumerate(command) if word == kind]


def jail_command(tmp_path, files=()):
    identity = jail.Identity(uid=4242, gid=4242, as_root=True, name="cnnviz-jail")
    shared = tmp_path / "kernel"
    shared.mkdir(exist_ok=True)
    return jail.bwrap_command(["python", "-m", "ipykernel_launcher"], identity, jail.Limits(),
                              shared_dir=shared, etc_files={"passwd": tmp_path / "passwd"},
                              files=list(files), data_dir=settings.keras_cache_dir())


def test_only_the_shared_folder_is_bound_writable_and_nothing_of_the_course_is_bound(tmp_path):
    checkpoint = tmp_path / "best-cnn-model.keras"
    checkpoint.write_text("")
    command = jail_command(tmp_path, [checkpoint])
    assert targets(command, "--bind") == [str(tmp_path / "kernel")]
    read_only = targets(command, "--ro-bind")
    assert f"{jail.HOME}/best-cnn-model.keras" in read_only, "the checkpoint must sit read-only in the home folder"
    allowed = {str(jail.kernel_package_path()), str(Path(sys.prefix).absolute()), str(Path(sys.prefix).resolve())}
    course_paths = [p for p in read_only if Path(p).is_relative_to(COURSE_ROOT) and p not in allowed]
    assert not course_paths, f"course paths visible besides the package and the venv: {course_paths}"
    for word in ("source", ".git", "gradebook.db", "autograded", "submitted"):
        assert not any(word in Path(p).parts for p in read_only), f"{word} is bound into the jail"
    assert "/" not in targets(command, "--ro-bind"), "the whole file system must not be bound"


def test_the_kernel_drops_to_the_jail_user_without_capabilities_and_in_its_own_namespaces(tmp_path):
    command = jail_command(tmp_path)
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                 "--new-session", "--clearenv"):
        assert flag in command, flag
    setpriv = command[command.index("setpriv"):]
    assert "--reuid=4242" in setpriv and "--inh-caps=-all" in setpriv and "--bounding-set=-all" in setpriv
    assert setpriv.index("--") < setpriv.index("python"), "setpriv must run the kernel, not the other way round"


def test_the_environment_is_an_allow_list(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_DB_URL", "postgresql://grader:secret@127.0.0.1/cnnviz")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    command = jail_command(tmp_path)
    names = targets(command, "--setenv")
    assert "NBGRADER_DB_URL" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    assert "secret" not in " ".join(command)
    assert {"PATH", "HOME", "MPLBACKEND"} <= set(names)


def test_the_launcher_starts_isolated_from_the_students_folder(tmp_path):
    command = jail.launcher_command(["bwrap", "--", "python"], None, jail.Limits())
    assert command[:4] == [sys.executable, "-I", "-S", "-c"], "the launcher must ignore cwd and PYTHON* variables"
    assert any(option.startswith("RLIMIT_AS=") for option in command)
    assert any(option.startswith("RLIMIT_NPROC=") for option in command), "without a pids cgroup, cap processes"


def test_cgroup_v2_limits_are_written_where_the_plan_says(tmp_path):
    plan = jail.CgroupPlan(2, {c: tmp_path for c in jail.CONTROLLERS})
    cgroup = jail.KernelCgroup(plan, "123-abc", jail.Limits(memory_mb=100, processes=7, cpus=0.5))
    folder = tmp_path / "123-abc"
    assert (folder / "memory.max").read_text() == str(100 * 2**20)
    assert (folder / "pids.max").read_text() == "7"
    assert (folder / "cpu.max").read_text() == "50000 100000"
    assert cgroup.procs_files() == [str(folder / "cgroup.procs")]


def test_cgroup_v1_limits_go_to_one_folder_per_controller(tmp_path):
    parents = {c: tmp_path / c for c in jail.CONTROLLERS}
    for folder in parents.values():
        folder.mkdir()
    cgroup = jail.KernelCgroup(jail.CgroupPlan(1, parents), "k", jail.Limits(memory_mb=64, processes=9, cpus=2))
    assert (tmp_path / "memory" / "k" / "memory.limit_in_bytes").read_text() == str(64 * 2**20)
    assert (tmp_path / "pids" / "k" / "pids.max").read_text() == "9"
    assert (tmp_path / "cpu" / "k" / "cpu.cfs_quota_us").read_text() == "200000"
    assert len(cgroup.procs_files()) == 3


class FakeAccounts:
    """/etc/passwd and `useradd` as root sees them, in memory: nothing on the machine is created.

    Like the real `useradd`, a second one started while another is still writing fails on
    the password file's lock, and one for a name that exists fails with status 9.
    """

    def __init__(self, monkeypatch, tmp_path, existing_group=False):
        self.users = {}
        self.calls = 0
        self.existing_group = existing_group
        self._busy = threading.Lock()
        monkeypatch.setattr(jail, "USERADD_LOCK", tmp_path / "useradd.lock")
        monkeypatch.setattr(jail, "_useradd", self.useradd)
        monkeypatch.setattr(jail.pwd, "getpwnam", self.getpwnam)
        monkeypatch.setattr(jail.os, "geteuid", lambda: 0)

    def getpwnam(self, name):
        if name not in self.users:
            raise KeyError(f"getpwnam(): name not found: {name!r}")
        return pwd.struct_passwd((name, "x", self.users[name], self.users[name], "", "/nonexistent",
                                  "/usr/sbin/nologin"))

    def useradd(self, user, another_grader_first=False):
        self.calls += 1
        if another_grader_first:  # someone else's useradd wrote the user just before this one
            self.users[user] = 990
        if not self._busy.acquire(blocking=False):
            return subprocess.CompletedProcess([], 1, "", "useradd: cannot lock /etc/passwd; try again later.\n")
        try:
            if user in self.users or self.existing_group:
                return subprocess.CompletedProcess([], 9, "", f"useradd: user '{user}' already exists\n")
            time.sleep(0.2)  # writing the files
            self.users[user] = 999
            return subprocess.CompletedProcess([], 0, "", "")
        finally:
            self._busy.release()


def test_graders_starting_together_create_the_jail_user_once(monkeypatch, tmp_path):
    accounts = FakeAccounts(monkeypatch, tmp_path)
    found, failed = [], []

    def grader():
        try:
            found.append(jail.jail_identity("cnnviz-jail"))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failed.append(error)

    threads = [threading.Thread(target=grader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failed, failed
    assert [(i.uid, i.name, i.as_root) for i in found] == [(999, "cnnviz-jail", True)] * 3
    assert accounts.calls == 1, "the graders must take turns: one useradd, the others find its user"


def test_useradd_losing_the_race_to_another_grader_is_success(monkeypatch, tmp_path):
    accounts = FakeAccounts(monkeypatch, tmp_path)
    monkeypatch.setattr(jail, "_useradd", lambda user: accounts.useradd(user, another_grader_first=True))
    identity = jail.jail_identity("cnnviz-jail")
    assert (identity.uid, identity.gid) == (990, 990)
    assert accounts.calls == 1


def test_a_group_of_the_jail_users_name_is_one_error_line_with_the_fix(monkeypatch, tmp_path):
    FakeAccounts(monkeypatch, tmp_path, existing_group=True)
    with pytest.raises(CourseError) as info:
        jail.jail_identity("cnnviz-jail")
    message = str(info.value)
    assert "\n" not in message and info.value.__suppress_context__
    assert "cnnviz-jail" in message and "already exists" in message
    assert "useradd --system --gid cnnviz-jail --no-create-home cnnviz-jail" in message


@needs_bwrap
def test_a_jailed_process_cannot_outlive_its_kernel(tmp_path):
    run = jail.JailRun(jail.Limits())
    marker = "cnnviz-jail-test-" + os.urandom(4).hex()
    # A child in its own session that ignores SIGTERM and SIGHUP, as a detached attacker would.
    script = (f"import os, subprocess, time\n"
              f"subprocess.Popen(['sh', '-c', 'trap \"\" TERM HUP; exec -a {marker} sleep 300'], start_new_session=True)\n"
              "time.sleep(300)\n")
    process = subprocess.Popen(run.command([sys.executable, "-I", "-c", script], []), cwd="/")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _processes_named(marker):
            time.sleep(0.1)
        assert _processes_named(marker), "the detached child never started"
        process.kill()
        process.wait()
        run.close()
        time.sleep(0.5)
        assert not _processes_named(marker), "a jailed process outlived its kernel"
        if run.cgroup is not None:
            assert not any(folder.exists() for folder in run.cgroup.folders.values()), "the cgroup was left"
        assert not run.root.exists(), "the kernel's shared folder was left"
    finally:
        process.kill()
        run.close()


def _processes_named(marker):
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def _cgroup_has(*controllers):
    plan = jail.find_cgroups() if shutil.which("bwrap") else None
    return plan is not None and all(c in plan.parents for c in controllers)


def run_jailed(code, limits):
    """Run ``code`` in a jail with ``limits``; its stdout, and the run (closed)."""
    run = jail.JailRun(limits)
    try:
        result = subprocess.run(run.command([sys.executable, "-I", "-c", code], []), cwd="/",
                                capture_output=True, text=True, timeout=120)
    finally:
        run.close()
    return result.stdout, run


@pytest.mark.skipif(not _cgroup_has("memory"), reason="needs a writable memory cgroup (root, v1 or v2)")
def test_the_memory_cap_holds_for_the_whole_process_tree():
    # Three children of 100 MiB each under a 128 MiB cap: each alone would fit, together they cannot.
    # Each holds its memory until all three have either said so or died (end of its output).
    code = ("import subprocess, sys\n"
            "hog = (\"open('/proc/self/oom_score_adj', 'w').write('1000')\\n\"\n"
            "       'import sys\\nb = bytearray(100 * 2 ** 20)\\nprint(\"held\", flush=True)\\nsys.stdin.read()')\n"
            "children = [subprocess.Popen([sys.executable, '-c', hog], stdin=subprocess.PIPE,\n"
            "                             stdout=subprocess.PIPE) for _ in range(3)]\n"
            "for child in children:\n"
            "    child.stdout.readline()\n"
            "for child in children:\n"
            "    child.stdin.close()\n"
            "print([child.wait() for child in children])")
    printed, _ = run_jailed(code, jail.Limits(memory_mb=128, home_mb=16, tmp_mb=16))
    # The children ask to be the OOM killer's first choice, so the parent lives to report.
    codes = eval(printed.strip().splitlines()[-1]) if printed.strip() else None
    assert codes is not None and -9 in codes, f"no child was stopped at the cap: exit codes {codes}"


@pytest.mark.skipif(not _cgroup_has("pids"), reason="needs a writable pids cgroup (root, v1 or v2)")
def test_the_process_cap_stops_a_fork_bomb():
    code = ("import os, time\n"
            "count = 0\n"
            "try:\n"
            "    while count < 500:\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(3)\n"
            "            os._exit(0)\n"
            "        count += 1\n"
            "except OSError as error:\n"
            "    print('stopped', count, type(error).__name__)\n")
    printed, _ = run_jailed(code, jail.Limits(processes=20))
    assert printed.startswith("stopped"), printed
    assert int(printed.split()[1]) < 20, printed


@needs_bwrap
def test_the_tmpfs_are_size_capped():
    code = ("import os\n"
            "for folder in ('/tmp', os.environ['HOME']):\n"
            "    written = 0\n"
            "    try:\n"
            "        with open(os.path.join(folder, 'fill'), 'wb') as handle:\n"
            "            while written < 2 ** 30:\n"
            "                handle.write(b'x' * 2 ** 20)\n"
            "                handle.flush()\n"
            "                written += 2 ** 20\n"
            "    except OSError as error:\n"
            "        print(folder, written // 2 ** 20, type(error).__name__)\n")
    printed, _ = run_jailed(code, jail.Limits(home_mb=8, tmp_mb=4))
    assert printed.split() == ["/tmp", "4", "OSError", jail.HOME, "8", "OSError"], printed
