"""The students' side of the course: the ``cnnviz-student`` wheel and the plain-folder hand-out.

The released notebook's test cells run ``from cnnviz import lesson`` and
``lesson.check(...)`` (the visible checks). Students get the top level of the
``cnnviz`` package, every ``cnnviz/*.py`` and nothing below it: the package's
layout is its trust boundary. The top level is what the student's kernel may
import (names and numbers, the lesson's steps and visible checks, the generic
checks, the facts); ``cnnviz/grading/`` (references, trusted checks, the jail),
``cnnviz/course/`` and ``cnnviz/deploy/`` never go to students, nor does the
course's ``source/`` (the hidden tests). Every build checks that no top-level
module imports from below it.

The wheel is pure Python and built here without any download (a wheel is a
zip file with its metadata). Students' images install the course's lock first,
then the wheel, as ``make hub`` does::

    pip install --require-hashes --no-deps -r requirements.lock
    pip install --no-deps cnnviz_student-0.1.0-py3-none-any.whl

``make student-package`` writes ``requirements.lock`` beside the wheel, and the
wheel's own requirements are the lock's versions of NumPy, matplotlib and Keras.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import shutil
import zipfile
from pathlib import Path

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError
from cnnviz.course import lock

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # cnnviz/: its top level is the student side
SUBPACKAGES = ("grading", "course", "deploy")  # below the top level: never shipped to students
DISTRIBUTION = "cnnviz_student"
VERSION = "0.1.0"
REQUIREMENTS = ("numpy", "matplotlib", "keras")
# `lesson.check_hidden` imports the references for the instructor's own runs of source/ (the
# hidden tests); the released notebook never calls it, and graded kernels never run it.
# `python -m cnnviz` starts the course's command line where there is one, and says in one line
# that there is none in the students' copy.
INSTRUCTOR_ONLY_IMPORTS = {"lesson.py": {"cnnviz.grading.reference"}, "__main__.py": {"cnnviz.course.cli"}}


def student_modules(package: Path | None = None) -> list[str]:
    """The file names of the package's top level: what the student side ships."""
    return sorted(path.name for path in (package or PACKAGE_DIR).glob("*.py"))


def _imports_of(source: str) -> set[str]:
    """The ``cnnviz`` modules a module imports (dotted, absolute), at its top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = "cnnviz" if node.level else (node.module or "")
            if node.level and node.module:
                base = f"cnnviz.{node.module}"
            if base == "cnnviz" or base in {f"cnnviz.{sub}" for sub in SUBPACKAGES}:
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif base.startswith("cnnviz."):
                found.add(base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cnnviz."))
    return found


def module_files() -> dict[str, str]:
    """The top level's sources, by file name inside ``cnnviz/``; checks that none imports from below it."""
    sources = {name: (PACKAGE_DIR / name).read_text() for name in student_modules()}
    below = tuple(f"cnnviz.{sub}" for sub in SUBPACKAGES)
    for file, source in sources.items():
        needed = {name for name in _imports_of(source) if name.startswith(below)}
        needed -= INSTRUCTOR_ONLY_IMPORTS.get(file, set())
        if needed:
            raise CourseError(f"cnnviz/{file} imports {sorted(needed)}, which the student package does not ship; "
                              "the top level of cnnviz/ is the student side: move what it needs up to it, "
                              "or the import down into cnnviz/grading/")
    return sources


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path) -> Path:
    """Write ``cnnviz_student-VERSION-py3-none-any.whl`` into ``out_dir``; return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dist_info = f"{DISTRIBUTION}-{VERSION}.dist-info"
    pins = lock.entries()  # the very versions the course grades with
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: cnnviz-student",
        f"Version: {VERSION}",
        f"Summary: The visible checks of the course's '{ASSIGNMENT}' notebook (students' side of cnnviz)",
        "Requires-Python: >=3.11",
        *[f"Requires-Dist: {name}=={pins[name]}" for name in REQUIREMENTS],
        "",
    ])
    files = {f"cnnviz/{name}": source.encode() for name, source in module_files().items()}
    files[f"{dist_info}/METADATA"] = metadata.encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: cnnviz.deploy.student_package\n"
                                  b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/top_level.txt"] = b"cnnviz\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = out_dir / f"{DISTRIBUTION}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # reproducible bytes
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data, zipfile.ZIP_DEFLATED)
    return target


def student_folder(target: Path, release: Path = COURSE_ROOT / "release" / ASSIGNMENT) -> Path:
    """A plain folder to hand out: the release (notebook, checkpoint) with the student modules in ``cnnviz/``.

    A notebook opened there imports the checks from the folder itself (the
    kernel's working folder is on ``sys.path``), so nothing has to be installed
    besides TensorFlow, Keras and matplotlib.
    """
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise CourseError(f"{target} exists and is not empty; name a new folder")
    shutil.copytree(release, target, dirs_exist_ok=True)
    package = target / "cnnviz"
    package.mkdir()
    for name, source in module_files().items():
        (package / name).write_text(source)
    return target
