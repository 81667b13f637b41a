"""The users' environment on the hub, ``/srv/cnnviz-hub/env``: the course's packages for every account.

A virtual environment of the users' interpreter (``cnnviz.deploy.hub_python``)
holding ``requirements.lock``: hard links to ``.venv``'s files, which must be
the lock (no download, no extra disk), minus the course's own package, plus the
``cnnviz-student`` wheel (the visible checks only,
``cnnviz.deploy.student_package``); ``pip check`` clean. Its fingerprint (lock
digest, interpreter, recipe, wheel) makes a later ``make hub`` rebuild it,
saying why in one line. Its IPython kernel config keeps TensorFlow's C++ log
lines out of notebooks, and its nbgrader config names the course and the
exchange for every account.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from cnnviz import CourseError
from cnnviz.course import lock
from cnnviz.deploy import hub_python, hub_site

ENV_RECIPE = 4  # bump when ensure_environment changes: the next `make hub` rebuilds the environment
# Console scripts the users' servers run from PATH (nbgrader starts `alembic` for a new gradebook).
REQUIRED_SCRIPTS = ("alembic", "nbgrader", "jupyter", "jupyterhub-singleuser")


def _env_fingerprint(wheel: Path, python: Path) -> dict:
    """What the environment is built from: the lock, the interpreter, the recipe, the student wheel."""
    return {"recipe": ENV_RECIPE, "lock": lock.digest(), "python": str(python),
            "interpreter": hub_python.interpreter_identity(),
            "wheel": hashlib.sha256(wheel.read_bytes()).hexdigest()}


def _rebuild_reason(old: dict, new: dict) -> str:
    """Why an existing users' environment is built again, in words (one line)."""
    reasons = []
    if old.get("lock") != new["lock"]:
        reasons.append("from an older requirements.lock" if old.get("lock") else "before requirements.lock")
    if (old.get("python"), old.get("interpreter")) != (new["python"], new["interpreter"]):
        reasons.append(f"with another Python ({old.get('python', 'unknown')}), "
                       f"not the course's {platform.python_version()}")
    if reasons:
        return "it was made " + " and ".join(reasons)
    if old.get("recipe") != new["recipe"]:
        return "it was made by an older `make hub`"
    return "the student package changed"


def ensure_environment() -> Path:
    """``/srv/cnnviz-hub/env``: the course's packages for every user, the visible checks, no course internals."""
    from cnnviz.deploy import student_package

    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        raise CourseError("JupyterHub is not installed: `make install` (requirements.lock holds it)") from None
    env = hub_site.ENV
    hub_site.SYSTEM.mkdir(parents=True, exist_ok=True)
    os.chmod(hub_site.SYSTEM, 0o755)
    stale = lock.differences()
    if stale:
        raise CourseError(f"{sys.prefix} is not requirements.lock ({', '.join(stale[:3])}"
                          f"{', ...' if len(stale) > 3 else ''}): `make install` first; the users' environment "
                          "is made of its files")
    python = hub_python.ensure_interpreter()
    wheel = student_package.build_wheel(hub_site.STATE / "dist")
    fingerprint = _env_fingerprint(wheel, python)
    stamp = env / ".cnnviz-env"
    old = _read_stamp(stamp)
    if old == fingerprint:
        return env
    if old is None:
        print(f"[hub] building the users' environment {env} from requirements.lock (hard links to .venv's "
              f"files) with the course's Python {python}", flush=True)
    else:
        print(f"[hub] rebuilding the users' environment {env}: {_rebuild_reason(old, fingerprint)}", flush=True)
    if env.exists():
        shutil.rmtree(env)
    hub_site.run(str(python), "-m", "venv", "--without-pip", str(env))
    source = Path(sys.prefix) / "lib" / hub_python.python_name() / "site-packages"
    target = env / "lib" / hub_python.python_name() / "site-packages"

    def course_package(folder, names):
        # The course's own package (an editable install pointing into this repository) stays out.
        return [n for n in names if n.startswith(("__editable__", "cnnviz-", "cnnviz.", "_cnnviz"))
                or (n == "cnnviz" and folder == str(source))]

    shutil.copytree(source, target, symlinks=True, copy_function=hub_site.link_or_copy, ignore=course_package,
                    dirs_exist_ok=True)
    for folder in ("share/jupyter", "etc/jupyter", "etc/ipython"):
        if (Path(sys.prefix) / folder).is_dir():
            shutil.copytree(Path(sys.prefix) / folder, env / folder, symlinks=True,
                            copy_function=hub_site.link_or_copy, dirs_exist_ok=True)
    # Console scripts (nbgrader runs `alembic` from PATH), pointed at this environment's Python.
    for script in (Path(sys.prefix) / "bin").iterdir():
        if not script.is_file() or script.is_symlink() or script.name == "cnnviz":  # the course's own CLI
            continue
        head = script.read_bytes()[:200]
        # pip wrote .venv's path as it was given (a symlinked .venv keeps its target's path).
        if any(head.startswith(f"#!{prefix}/bin/python".encode())
               for prefix in {sys.prefix, os.path.realpath(sys.prefix)}):
            body = script.read_text().split("\n", 1)[1]
            (env / "bin" / script.name).write_text(f"#!{env / 'bin' / 'python'}\n{body}")
            os.chmod(env / "bin" / script.name, 0o755)
    missing = [name for name in REQUIRED_SCRIPTS if not (env / "bin" / name).is_file()]
    if missing:
        raise CourseError(f"the users' environment {env} lacks {', '.join(missing)} (from {sys.prefix}/bin): "
                          "`make install` again")
    # TensorFlow's C++ start-up lines bypass Python; without this ipykernel copies them into notebooks.
    (env / "etc" / "ipython").mkdir(parents=True, exist_ok=True)
    (env / "etc" / "ipython" / "ipython_kernel_config.py").write_text("c.IPKernelApp.capture_fd_output = False\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    # Every user's nbgrader: the course and the exchange.
    (env / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/deploy/hub_environment.py): every account's nbgrader finds the "
        "course's exchange.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {hub_site.COURSE_ID!r}\n"
        f"c.Exchange.root = {str(hub_site.EXCHANGE)!r}\n")
    hub_site.run("chmod", "-R", "a+rX", str(env))
    problems = pip_check(env / "bin" / "python")
    if problems:
        raise CourseError(f"`pip check` in the users' environment {env}: {problems}")
    stamp.write_text(json.dumps(fingerprint))
    return env


def _read_stamp(stamp: Path) -> dict | None:
    """The fingerprint an existing environment was built from ({} for one too old to say)."""
    if not stamp.is_file():
        return None
    try:
        found = json.loads(stamp.read_text())
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def pip_check(python: Path) -> str:
    """``pip check`` of the environment of ``python`` (with .venv's pip: the users' one has none); "" if clean."""
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "check"], capture_output=True,
                            text=True)
    return "" if result.returncode == 0 else " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
