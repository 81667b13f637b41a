"""`make lab` (cnnviz/deploy/lab.py): inline figures whatever the Makefile exports, --allow-root only as root."""

from __future__ import annotations

import subprocess
import sys

from cnnviz import COURSE_ROOT
from cnnviz.deploy import lab


def test_root_gets_allow_root_and_a_normal_user_does_not(tmp_path):
    as_root = lab.lab_command(tmp_path, euid=0)
    as_user = lab.lab_command(tmp_path, euid=1000)
    assert "--allow-root" in as_root
    assert "--allow-root" not in as_user
    for command in (as_root, as_user):
        assert "--ip=127.0.0.1" in command and f"--ServerApp.root_dir={tmp_path}" in command


def test_extra_options_come_last_so_they_win(tmp_path):
    command = lab.lab_command(tmp_path, ["--port=8899"], euid=1000)
    assert command[-1] == "--port=8899"


def test_kernels_get_the_inline_backend_even_when_the_makefile_exports_agg(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = lab.lab_env()
    assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
    # A kernel started with that environment really draws inline (no display needed).
    code = "import matplotlib; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "inline" in out.stdout.lower()


def test_make_lab_goes_through_the_lab_command():
    """The Makefile's recipe is this module's command, not a `jupyter lab` of its own."""
    dry = subprocess.run(["make", "-n", "-C", str(COURSE_ROOT), "lab"], capture_output=True, text=True, check=True)
    lines = [line for line in dry.stdout.splitlines() if "jupyter lab" in line or "cnnviz lab" in line]
    assert lines and all("-m cnnviz lab" in line for line in lines), dry.stdout


def test_a_folder_without_nbgrader_config_is_one_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cnnviz", "lab", "--course-dir", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nbgrader_config.py" in result.stderr
