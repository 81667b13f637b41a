"""cnnviz.grading.jail: one kernel's run on the grader, and nothing of it left behind."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnviz.grading import jail, jail_policy

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")


@needs_bwrap
def test_a_jailed_process_cannot_outlive_its_kernel(tmp_path):
    run = jail.JailRun(jail_policy.Limits())
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


def run_jailed(code, limits):
    """Run ``code`` in a jail with ``limits``; its stdout, and the run (closed)."""
    run = jail.JailRun(limits)
    try:
        result = subprocess.run(run.command([sys.executable, "-I", "-c", code], []), cwd="/",
                                capture_output=True, text=True, timeout=120)
    finally:
        run.close()
    return result.stdout, run
