"""The command line (cnnviz/course/cli.py): problems are one line and an exit status, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from cnnviz import COURSE_ROOT
from cnnviz.course import cli


def test_an_unknown_command_is_one_usage_error(capsys):
    try:
        status = cli.main(["no-such-command"])
    except SystemExit as exc:  # argparse's own way out
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_a_course_error_is_printed_as_one_line_with_status_2(tmp_path, capsys):
    missing = tmp_path / "no-roster.csv"
    assert cli.main(["roster", "import", str(missing), "--course-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "no-roster.csv" in err[0], err


def test_python_m_cnnviz_is_this_command_line():
    result = subprocess.run([sys.executable, "-m", "cnnviz", "--help"], cwd=COURSE_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "autograde" in result.stdout and "student-package" in result.stdout
