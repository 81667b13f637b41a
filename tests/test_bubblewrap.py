"""cnnviz.grading.bubblewrap: what the command line that starts a jail binds, keeps out and caps."""

import sys
from pathlib import Path

from test_jail import needs_bwrap, run_jailed

from cnnviz import COURSE_ROOT, settings
from cnnviz.grading import bubblewrap, jail_policy, jail_user


def targets(command, kind):
    """The destination of every ``kind`` option (binds: the second argument; --setenv: the name)."""
    offset = {"--tmpfs": 1, "--dir": 1, "--proc": 1, "--dev": 1, "--setenv": 1}.get(kind, 2)
    return [command[k + offset] for k, word in enumerate(command) if word == kind]


def jail_command(tmp_path, files=()):
    identity = jail_user.Identity(uid=4242, gid=4242, as_root=True, name="cnnviz-jail")
    shared = tmp_path / "kernel"
    shared.mkdir(exist_ok=True)
    return bubblewrap.bwrap_command(["python", "-m", "ipykernel_launcher"], identity, jail_policy.Limits(),
                                    shared_dir=shared, etc_files={"passwd": tmp_path / "passwd"},
                                    files=list(files), data_dir=settings.keras_cache_dir())


def test_only_the_shared_folder_is_bound_writable_and_nothing_of_the_course_is_bound(tmp_path):
    checkpoint = tmp_path / "best-cnn-model.keras"
    checkpoint.write_text("")
    command = jail_command(tmp_path, [checkpoint])
    assert targets(command, "--bind") == [str(tmp_path / "kernel")]
    read_only = targets(command, "--ro-bind")
    assert f"{jail_policy.HOME}/best-cnn-model.keras" in read_only, "the checkpoint must sit read-only in the home folder"
    allowed = {str(bubblewrap.kernel_package_path()), str(Path(sys.prefix).absolute()), str(Path(sys.prefix).resolve())}
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
    command = bubblewrap.launcher_command(["bwrap", "--", "python"], None, jail_policy.Limits())
    assert command[:4] == [sys.executable, "-I", "-S", "-c"], "the launcher must ignore cwd and PYTHON* variables"
    assert any(option.startswith("RLIMIT_AS=") for option in command)
    assert any(option.startswith("RLIMIT_NPROC=") for option in command), "without a pids cgroup, cap processes"


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
    printed, _ = run_jailed(code, jail_policy.Limits(home_mb=8, tmp_mb=4))
    assert printed.split() == ["/tmp", "4", "OSError", jail_policy.HOME, "8", "OSError"], printed
