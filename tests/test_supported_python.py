"""`make`'s check of the interpreter (cnnviz/course/supported_python.py): CPython 3.11 only, as the lock."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from cnnviz import COURSE_ROOT
from cnnviz.course import supported_python


def test_the_supported_python_is_pyprojects():
    requires = tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major, minor = supported_python.SUPPORTED
    assert requires == f">={major}.{minor},<{major}.{minor + 1}", requires


def test_make_refuses_another_python_in_one_line(tmp_path):
    """`make` with an unsupported interpreter stops before creating .venv, with one line naming it and the fix."""
    fake = tmp_path / "python3"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c '"
                    "import sys, runpy; sys.version_info = (3, 13, 1, \"final\", 0); "
                    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name=\"__main__\")' \"$@\"\n")
    fake.chmod(0o755)
    result = subprocess.run(["make", "--no-print-directory", "-C", str(COURSE_ROOT), "install", f"PYTHON={fake}",
                             f"VENV={tmp_path / 'venv'}"], capture_output=True, text=True)
    assert result.returncode != 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "3.13.1 found" in lines[0] and "make PYTHON=python3.11" in lines[0], result.stdout
    assert not (tmp_path / "venv").exists()


def test_the_refusal_names_the_version_and_the_fix():
    assert supported_python.problem((3, 11, 2), "CPython") is None
    line = supported_python.problem((3, 12, 1), "CPython")
    assert "3.12.1 found" in line and "python3.11" in line and "\n" not in line
    assert "PyPy 3.11.0 found" in supported_python.problem((3, 11, 0), "PyPy")
