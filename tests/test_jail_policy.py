"""cnnviz.grading.jail_policy: a jailed kernel's environment comes from nothing of the grader's, and its
default limits let a runaway allocation fail its own cell."""

from pathlib import PurePosixPath

from cnnviz.grading import jail_policy

SECRETS = {"NBGRADER_DB_URL": "postgresql://grader:secret@127.0.0.1/cnnviz", "AWS_SECRET_ACCESS_KEY": "secret",
           "PYTHONPATH": "/home/grader/planted", "LD_PRELOAD": "/home/grader/hook.so"}


def test_the_kernels_environment_takes_nothing_from_the_graders_but_nbgraders_flag(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", "/home/grader/bin:/usr/bin")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    env = jail_policy.kernel_environment()
    assert not set(SECRETS) & set(env), f"the grader's variables reached the kernel: {set(SECRETS) & set(env)}"
    assert "secret" not in " ".join(env.values()) and "/home/grader" not in env["PATH"], env
    assert env["NBGRADER_EXECUTION"] == "autograde", "notebooks may read nbgrader's own autograding flag"
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert "NBGRADER_EXECUTION" not in jail_policy.kernel_environment()


def test_every_folder_the_kernel_is_told_to_write_is_inside_its_home_or_tmp():
    # The home folder and /tmp are the kernel's only writable places (size-capped tmpfs).
    env = jail_policy.kernel_environment()
    folders = {name: value for name, value in env.items() if value.startswith("/") and name != "PATH"}
    assert folders["HOME"] == folders["PWD"] == jail_policy.HOME
    outside = {name: value for name, value in folders.items()
               if not PurePosixPath(value).is_relative_to(jail_policy.HOME)
               and not PurePosixPath(value).is_relative_to("/tmp")}
    assert not outside, f"the kernel is sent to write outside its home and /tmp: {outside}"


def test_the_launchers_environment_finds_its_programs_and_carries_no_secret_of_the_graders(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    env = jail_policy.launcher_environment()
    assert not set(SECRETS) & set(env) and "secret" not in " ".join(env.values()), env
    assert "PATH" in env, "the launcher must still find bubblewrap and setpriv"


def test_the_default_memory_cap_is_above_one_process_and_both_tmpfs():
    # Below it, a single runaway allocation would meet the cgroup (the kernel killed, not graded)
    # before its own address-space limit (a MemoryError in its cell, graded).
    limits = jail_policy.Limits()
    assert limits.memory_mb >= limits.address_space_mb + limits.home_mb + limits.tmp_mb, limits
