"""cnnviz.sandbox: what the grading kernel can see and write."""

import sys
from pathlib import Path

from cnnviz import COURSE_ROOT, sandbox


def mounts(command, kind):
    """The targets of every `kind` option (--tmpfs takes one path, --bind/--ro-bind two)."""
    found = []
    for k, word in enumerate(command):
        if word == kind:
            found.append(command[k + 1] if kind == "--tmpfs" else command[k + 2])
    return found


def test_instructor_folders_of_both_courses_are_hidden_and_only_the_workdir_is_writable(tmp_path):
    course = tmp_path / "course"
    for name in ("source", "tests", "submitted", "autograded/alice/cnn_visualization"):
        (course / name).mkdir(parents=True)
    (course / "gradebook.db").write_text("")
    workdir = course / "autograded" / "alice" / "cnn_visualization"
    (workdir / "best-cnn-model.keras").write_text("")

    command = sandbox.bwrap_command(["python"], workdir, course, tmp_path / "kernel.json")

    hidden = mounts(command, "--tmpfs")
    for root in (course, COURSE_ROOT):
        for name in ("source", "tests"):
            if (root / name).is_dir():
                assert str(root / name) in hidden, f"{root / name} is visible to student code"
    assert mounts(command, "--bind") == [str(workdir)], "only the student's own folder may be writable"
    read_only = mounts(command, "--ro-bind")
    assert str(workdir / "best-cnn-model.keras") in read_only, "the checkpoint must stay read-only"
    assert str(course / "gradebook.db") in read_only, "the gradebook must be replaced by an empty file"
    # The course lives under /tmp, which the sandbox replaces: it must be bound back, read-only,
    # before its instructor folders are hidden and the workdir is opened.
    assert command.index(str(course)) < command.index(str(course / "source")) < command.index(str(workdir))
    if Path(sys.prefix).resolve().is_relative_to("/tmp"):
        assert str(Path(sys.prefix).resolve()) in read_only, "the kernel's Python must stay visible"
