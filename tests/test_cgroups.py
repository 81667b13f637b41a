"""cnnviz.grading.cgroups: each kernel's limits written where the plan says, and holding for its whole tree."""

import shutil

import pytest
from test_jail import run_jailed

from cnnviz.grading import cgroups, jail_policy


def test_cgroup_v2_limits_are_written_where_the_plan_says(tmp_path):
    plan = cgroups.CgroupPlan(2, {c: tmp_path for c in cgroups.CONTROLLERS})
    cgroup = cgroups.KernelCgroup(plan, "123-abc", jail_policy.Limits(memory_mb=100, processes=7, cpus=0.5))
    folder = tmp_path / "123-abc"
    assert (folder / "memory.max").read_text() == str(100 * 2**20)
    assert (folder / "pids.max").read_text() == "7"
    assert (folder / "cpu.max").read_text() == "50000 100000"
    assert cgroup.procs_files() == [str(folder / "cgroup.procs")]


def test_cgroup_v1_limits_go_to_one_folder_per_controller(tmp_path):
    parents = {c: tmp_path / c for c in cgroups.CONTROLLERS}
    for folder in parents.values():
        folder.mkdir()
    limits = jail_policy.Limits(memory_mb=64, processes=9, cpus=2)
    cgroup = cgroups.KernelCgroup(cgroups.CgroupPlan(1, parents), "k", limits)
    assert (tmp_path / "memory" / "k" / "memory.limit_in_bytes").read_text() == str(64 * 2**20)
    assert (tmp_path / "pids" / "k" / "pids.max").read_text() == "9"
    assert (tmp_path / "cpu" / "k" / "cpu.cfs_quota_us").read_text() == "200000"
    assert len(cgroup.procs_files()) == 3


def _cgroup_has(*controllers):
    plan = cgroups.find_cgroups() if shutil.which("bwrap") else None
    return plan is not None and all(c in plan.parents for c in controllers)


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
    printed, _ = run_jailed(code, jail_policy.Limits(memory_mb=128, home_mb=16, tmp_mb=16))
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
    printed, _ = run_jailed(code, jail_policy.Limits(processes=20))
    assert printed.startswith("stopped"), printed
    assert int(printed.split()[1]) < 20, printed
