"""The students' side of the checks: the cnnviz-student wheel and the plain hand-out folder.

Students get the visible checks and nothing of the grader: no references, no
trusted grading, no jail, no source/. What they get must import and run with
the course's own package out of reach.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError
from cnnviz.deploy import student_package

# The package's top level, pinned here so that a module added to it is a decision someone reads.
STUDENT_FILES = {"cnnviz/__init__.py", "cnnviz/__main__.py", "cnnviz/settings.py", "cnnviz/lesson.py",
                 "cnnviz/lesson_steps.py", "cnnviz/step_registry.py", "cnnviz/carry_forward.py",
                 "cnnviz/checks.py", "cnnviz/figure_checks.py", "cnnviz/keras_checks.py", "cnnviz/check_failed.py",
                 "cnnviz/message_layout.py", "cnnviz/korean.py", "cnnviz/facts.py", "cnnviz/introspect.py",
                 "cnnviz/fact_codec.py"}

# Run where only the extracted files (and the venv's third-party packages) are importable:
# `-I` drops the current folder and PYTHONPATH, and the course's editable install is removed from the path.
PROBE = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in type(f).__module__.lower()
                    and 'editable' not in getattr(f, '__name__', '').lower()]
sys.path.insert(0, sys.argv[1])
import cnnviz, cnnviz.lesson as lesson, cnnviz.lesson_steps as lesson_steps
assert cnnviz.__file__.startswith(sys.argv[1]), cnnviz.__file__
try:
    import cnnviz.grading.reference
except ImportError:
    print("no-reference")
print(len(lesson_steps.STEPS))
try:
    lesson.check("test_sample_batch", {})
except AssertionError as exc:
    print("visible-check:", str(exc).splitlines()[0])
"""


def _probe(folder) -> str:
    result = subprocess.run([sys.executable, "-I", "-c", PROBE, str(folder)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_wheel_holds_the_visible_checks_and_nothing_of_the_grader(tmp_path):
    wheel = student_package.build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {n for n in names if n.startswith("cnnviz/")} == STUDENT_FILES
    assert not any(forbidden in n for n in names for forbidden in ("reference", "trusted", "jail", "source/",
                                                                    "grading", "course/", "deploy"))
    out = _probe(tmp_path / "site")
    assert "no-reference" in out
    # The steps of the notebook, and a visible check that runs and answers in both languages.
    assert "20" in out.split()
    assert "visible-check:" in out and " / " in out


def test_the_wheel_is_the_same_bytes_every_build(tmp_path):
    first = student_package.build_wheel(tmp_path / "a").read_bytes()
    assert student_package.build_wheel(tmp_path / "b").read_bytes() == first


def test_the_hand_out_folder_runs_the_checks_from_its_own_folder(tmp_path):
    folder = student_package.student_folder(tmp_path / "hand-out")
    assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
    assert (folder / "best-cnn-model.keras").is_file()
    assert {f"cnnviz/{p.name}" for p in (folder / "cnnviz").iterdir()} == STUDENT_FILES
    assert "no-reference" in _probe(folder)


@pytest.mark.parametrize("line", ["from cnnviz.grading import trusted", "from .grading.trusted import Verdict",
                                  "import cnnviz.course.nbrun", "from cnnviz import grading"])
def test_a_student_module_importing_from_below_the_top_level_stops_the_build(monkeypatch, tmp_path, line):
    real = student_package.PACKAGE_DIR
    fake = tmp_path / "cnnviz"
    fake.mkdir()
    for name in student_package.student_modules():
        (fake / name).write_text((real / name).read_text())
    (fake / "checks.py").write_text((real / "checks.py").read_text() + f"\n{line}\n")
    monkeypatch.setattr(student_package, "PACKAGE_DIR", fake)
    with pytest.raises(CourseError, match="checks.py imports"):
        student_package.build_wheel(tmp_path / "dist")


def test_the_wheel_ships_a_module_added_to_the_top_level(monkeypatch, tmp_path):
    real = student_package.PACKAGE_DIR
    fake = tmp_path / "cnnviz"
    shutil.copytree(real, fake, ignore=shutil.ignore_patterns("__pycache__", "grading", "course", "deploy"))
    (fake / "hints.py").write_text('"""Hints for students."""\n')
    monkeypatch.setattr(student_package, "PACKAGE_DIR", fake)
    with zipfile.ZipFile(student_package.build_wheel(tmp_path / "dist")) as archive:
        assert "cnnviz/hints.py" in archive.namelist()


def test_python_m_cnnviz_in_the_students_copy_says_the_commands_are_not_there(tmp_path):
    folder = student_package.student_folder(tmp_path / "hand-out")
    result = subprocess.run([sys.executable, "-I", "-c", PROBE.split("import cnnviz,")[0] + "import runpy\n"
                             "runpy.run_module('cnnviz', run_name='__main__')", str(folder)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "visible checks" in lines[0], result.stderr[-2000:]


def test_the_command_line_builds_the_wheel(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cnnviz", "student-package", "--dist", str(tmp_path)],
                            cwd=COURSE_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob("cnnviz_student-*-py3-none-any.whl"))


def test_the_wheel_requires_the_locked_versions_and_the_lock_ships_beside_it(tmp_path):
    import subprocess
    import sys
    import zipfile

    from cnnviz import COURSE_ROOT
    from cnnviz.course import lock

    result = subprocess.run([sys.executable, "-m", "cnnviz", "student-package", "--dist", str(tmp_path)],
                            cwd=COURSE_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    wheel = next(tmp_path.glob("cnnviz_student-*.whl"))
    assert (tmp_path / "requirements.lock").read_text() == lock.LOCK_FILE.read_text()
    metadata = zipfile.ZipFile(wheel).read(next(n for n in zipfile.ZipFile(wheel).namelist()
                                               if n.endswith("/METADATA"))).decode()
    pins = lock.entries()
    for name in ("numpy", "matplotlib", "keras"):
        assert f"Requires-Dist: {name}=={pins[name]}" in metadata, metadata
    assert "--require-hashes" in result.stdout
