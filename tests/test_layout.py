"""The package's layout is its trust boundary: the top level is the student side.

``cnnviz/*.py`` is what the student's kernel may import and what the students'
wheel ships; ``cnnviz/grading``, ``cnnviz/course`` and ``cnnviz/deploy`` are
below it, and nothing at the top level may reach them.
"""

from __future__ import annotations

import json
import subprocess
import sys

from cnnviz import COURSE_ROOT

BELOW = ("cnnviz.grading", "cnnviz.course", "cnnviz.deploy")

# A fresh interpreter that sees the repository's cnnviz/ and cannot import anything below its top
# level: each top-level module is imported, and the lesson's visible checks run on a namespace.
PROBE = """
import importlib, json, sys
BELOW = tuple(json.loads(sys.argv[2]))

class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(BELOW):
            raise ImportError(f"{name} is below the student side")
        return None

sys.meta_path.insert(0, Unimportable())
sys.path.insert(0, sys.argv[1])
import cnnviz
assert cnnviz.__file__.startswith(sys.argv[1]), cnnviz.__file__
for name in json.loads(sys.argv[3]):
    importlib.import_module(name)
from cnnviz import lesson, lesson_steps
answers = []
for grade_id in lesson_steps.STEPS:
    try:
        lesson.check(grade_id, {})
    except AssertionError as exc:
        answers.append(str(exc).splitlines()[0][:40])
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("cnnviz")),
                  "failed_steps": len(answers)}))
"""


def top_level_modules() -> list[str]:
    names = sorted(p.stem for p in (COURSE_ROOT / "cnnviz").glob("*.py") if p.stem not in ("__init__", "__main__"))
    return [f"cnnviz.{name}" for name in names]


def test_the_top_level_imports_and_checks_with_everything_below_it_unimportable():
    result = subprocess.run([sys.executable, "-I", "-c", PROBE, str(COURSE_ROOT), json.dumps(BELOW),
                             json.dumps(top_level_modules())], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, ("a top-level module of cnnviz/ (the student side) imports from "
                                    f"cnnviz/grading, course or deploy:\n{result.stderr[-3000:]}")
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert not [m for m in seen["modules"] if m.startswith(BELOW)], seen["modules"]
    assert seen["failed_steps"] > 0, "the visible checks never ran on the empty namespace"


def test_the_probe_sees_a_top_level_module_that_reaches_below(tmp_path):
    # The probe itself: a copy of the package whose checks module reaches the grading side must fail.
    import shutil

    copy = tmp_path / "cnnviz"
    shutil.copytree(COURSE_ROOT / "cnnviz", copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "checks.py").write_text((copy / "checks.py").read_text() + "\nfrom cnnviz.grading import reference\n")
    result = subprocess.run([sys.executable, "-I", "-c", PROBE, str(tmp_path), json.dumps(BELOW),
                             json.dumps(top_level_modules())], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "below the student side" in result.stderr, result.stderr[-2000:]


def test_the_subpackages_are_the_only_folders_of_code_below_the_top_level():
    folders = {p.name for p in (COURSE_ROOT / "cnnviz").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {"grading", "course", "deploy"}, folders
    for folder in folders:
        assert (COURSE_ROOT / "cnnviz" / folder / "__init__.py").is_file(), f"cnnviz/{folder} needs its __init__.py"


def test_every_module_has_a_test_module_of_its_name():
    modules = [p for p in (COURSE_ROOT / "cnnviz").rglob("*.py") if p.stem not in ("__init__", "__main__")]
    stems = [p.stem for p in modules]
    assert len(stems) == len(set(stems)), "two modules share a name: tests/test_<name>.py would not say which"
    missing = [str(p.relative_to(COURSE_ROOT)) for p in modules
               if not (COURSE_ROOT / "tests" / f"test_{p.stem}.py").is_file()]
    assert not missing, f"these modules have no tests/test_<module>.py: {missing}"
