"""The students' side of the course: the ``cnnviz-student`` wheel and the plain-folder hand-out.

The released notebook's test cells run ``from cnnviz import lesson`` and
``lesson.check(...)`` (the visible checks). Students therefore need these
modules of the package, and only these:

- ``cnnviz/__init__.py``  names (assignment, checkpoint file name), from
- ``cnnviz/settings.py``  the course's names and numbers (standard library only);
- ``cnnviz/lesson.py``    the lesson's steps and ``check`` (visible checks);
- ``cnnviz/checks.py``    value, model and figure checks on facts;
- ``cnnviz/facts.py``     the facts the checks read from the student's values.

Nothing else goes to students: not ``reference.py`` (the references the hidden
tests compare with), ``trusted.py``, the grading, the jail or the course's
``source/`` (the hidden tests). The wheel is pure Python and built here
without any download (a wheel is a zip file with its metadata). Students'
images install the course's lock first, then the wheel, as ``make hub`` does::

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

from . import ASSIGNMENT, COURSE_ROOT, CourseError, lock

PACKAGE_DIR = Path(__file__).resolve().parent
STUDENT_MODULES = ("__init__", "settings", "lesson", "checks", "facts")
DISTRIBUTION = "cnnviz_student"
VERSION = "0.1.0"
# What the student side must never contain (checked on every build).
FORBIDDEN_MODULES = ("reference", "trusted", "grading", "jail", "guard", "classgrade", "nbgrader_plugins", "nbrun",
                     "pipeline", "spotcheck", "catalogue", "notebooks")
REQUIREMENTS = ("numpy", "matplotlib", "keras")


def _imports_of(source: str) -> set[str]:
    """The course modules (``cnnviz.X`` or ``.X``) a module imports at its top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("cnnviz."):
                found.add(node.module.split(".")[1])
            elif node.module == "cnnviz":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("cnnviz."))
    return found


def module_files() -> dict[str, str]:
    """The student modules' sources, by file name inside ``cnnviz/``; checks what they import."""
    sources = {f"{name}.py": (PACKAGE_DIR / f"{name}.py").read_text() for name in STUDENT_MODULES}
    package_modules = {p.stem for p in PACKAGE_DIR.glob("*.py")}
    for file, source in sources.items():
        needed = (_imports_of(source) & package_modules) - set(STUDENT_MODULES)
        # `lesson.check_hidden` imports `reference` for the instructor's own runs of source/;
        # the released notebook never calls it.
        needed -= {"reference"} if file == "lesson.py" else set()
        if needed:
            raise CourseError(f"cnnviz/{file} imports {sorted(needed)}, which the student package does not ship; "
                              "add them to STUDENT_MODULES in cnnviz/student_package.py if students may see them")
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
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: cnnviz.student_package\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
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
