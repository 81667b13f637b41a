"""``make hub`` / ``make hub-stop``: a real JupyterHub on 127.0.0.1 for the course.

The reference setup is nbgrader's own demo "one class, one grader": one hub,
one instructor account with the formgrader, student accounts with the
Assignments tab, and nbgrader's exchange in a system folder. ``make hub``
(``python -m cnnviz hub start``), run as root, does every step and is
idempotent (a second run changes nothing and says the hub is running):

1. **Accounts.** Local Linux users ``instructor`` and ``student1`` …
   ``studentN`` (``CNNVIZ_HUB_STUDENTS``, default 2), homes 0700; each gets a
   password, printed, kept in ``hub/state/accounts.json`` (root only) and set
   again on every run. JupyterHub logs them in with PAM.
2. **The users' environment** ``/srv/cnnviz-hub/env``: a virtual
   environment of the very interpreter ``.venv`` runs (copied to
   ``/srv/cnnviz-hub/python`` when users cannot run it where it is) with
   ``requirements.lock`` (hard links to ``.venv``'s files, which must be the
   lock: no download and no extra disk), minus the course's own package, plus
   the ``cnnviz-student`` wheel (the visible checks only,
   ``cnnviz.deploy.student_package``); ``pip check`` clean. Its fingerprint (lock
   digest, interpreter, wheel) makes a later run rebuild it, saying why in one
   line. Its IPython kernel config keeps TensorFlow's C++ log lines out of
   notebooks.
3. **Data.** Fashion-MNIST in ``/srv/cnnviz-hub/keras`` (world-readable);
   every account's ``~/.keras/datasets/fashion-mnist`` points there, so
   ``load_data()`` works offline for everybody.
4. **The exchange** ``/srv/nbgrader/exchange``, writable by everyone, as
   nbgrader's documentation sets it up; ``course_id`` and ``Exchange.root``
   in the environment's ``etc/jupyter/nbgrader_config.py``.
5. **The course** for the instructor in ``/home/instructor/course``: this
   course's ``nbgrader_config.py``, ``source/`` and the full ``cnnviz``
   package (grading, jail, references), the assignment generated. The
   course repository itself is made unreadable for other users (its
   ``source/`` holds the hidden tests).
6. **JupyterHub** (``hub/jupyterhub_config.py``) with
   ``configurable-http-proxy`` from npm, its state in ``hub/state/``
   (git-ignored): the instructor's JupyterLab opens the course with the
   formgrader, which JupyterLab may frame (``cnnviz.deploy.hub_formgrader``), and its
   terminals open in the course; students' JupyterLab has the Assignments tab
   ("no feedback yet" in words) and Validate, and neither the formgrader nor
   Create Assignment.

``make hub-stop`` stops the hub, its proxy and every user's server.
"""

from __future__ import annotations

import json
import os
import platform
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings
from cnnviz.course import lock

HUB_DIR = COURSE_ROOT / "hub"
STATE = HUB_DIR / "state"
CONFIG_FILE = HUB_DIR / "jupyterhub_config.py"
SYSTEM = settings.hub_system_dir()
ENV = SYSTEM / "env"
PYTHON_COPY = SYSTEM / "python"  # the course venv's interpreter, for every user (course_python)
KERAS_HOME = SYSTEM / "keras"
STUDENT_CONFIG = SYSTEM / "student-config"
EXCHANGE = settings.hub_exchange_dir()
COURSE_ID = settings.COURSE_ID
INSTRUCTOR = "instructor"
COURSE_DIR_NAME = "course"
ENV_RECIPE = 4  # bump when ensure_environment changes: the next `make hub` rebuilds the environment
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
# Console scripts the users' servers run from PATH (nbgrader starts `alembic` for a new gradebook).
REQUIRED_SCRIPTS = ("alembic", "nbgrader", "jupyter", "jupyterhub-singleuser")
ACCOUNTS = STATE / "accounts.json"
PID_FILE = STATE / "jupyterhub.pid"
LOG_FILE = STATE / "jupyterhub.log"
START_TIMEOUT = 180  # seconds; the hub starts in ~5 s, but the machine may be busy grading
# Plugins of nbgrader's JupyterLab extension that students must not get.
STUDENT_DISABLED_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                            "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSION = "cnnviz.deploy.hub_formgrader"  # the formgrader framed by JupyterLab, its links
STUDENT_DISABLED_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                      "nbgrader.server_extensions.course_list")


def port() -> int:
    """The hub's port on 127.0.0.1 (``CNNVIZ_HUB_PORT``, default 8000)."""
    text = settings.hub_port_text()
    if not text.isdigit() or not 1 <= int(text) <= 65535 - 81:
        raise CourseError(f"{settings.HUB_PORT_VARIABLE}={text!r}: give a port number from 1 to {65535 - 81} "
                          "(the hub also listens on the next one and on the one 81 above it)")
    return int(text)


def url() -> str:
    return f"http://127.0.0.1:{port()}"


def ports() -> dict[str, int]:
    """The three ports a hub listens on, all derived from ``port()`` (8000, 8001, 8081 by default), so that
    a second hub on another ``CNNVIZ_HUB_PORT`` (another checkout, a CI job) collides with none of them."""
    return {"public": port(), "proxy API": port() + 1, "hub": port() + 81}


def students() -> list[str]:
    """The student accounts: the roster's login ids (``CNNVIZ_HUB_ROSTER=FILE``, else the course's last
    ``roster import``; ``cnnviz.course.roster``), else ``student1`` … ``studentN`` (``CNNVIZ_HUB_STUDENTS``, default 2)."""
    from cnnviz.course import roster

    listed = roster.hub_students(COURSE_ROOT)
    if listed is not None:
        return listed
    count = settings.hub_students_text()
    if not count.isdigit() or not 1 <= int(count) <= 500:
        raise CourseError(f"CNNVIZ_HUB_STUDENTS={count!r}: give a number of students from 1 to 500")
    return [f"student{k}" for k in range(1, int(count) + 1)]


def users() -> list[str]:
    return [INSTRUCTOR, *students()]


def instructor_course() -> Path:
    return Path("/home") / INSTRUCTOR / COURSE_DIR_NAME


# --------------------------------------------------------------------------- helpers

def _run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a setup command; one CourseError line with its output's tail if it fails."""
    result = subprocess.run(command, text=True, capture_output=True, **kwargs)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise CourseError(f"`{' '.join(command)}` failed: {' | '.join(tail)}")
    return result


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _require_root() -> None:
    if os.geteuid() != 0:
        raise CourseError("`make hub` creates Linux accounts and folders under /srv: run it as root "
                          "(sudo make hub)")


def _readable_by_all(path: Path) -> bool:
    """Whether any user can reach and run ``path`` (every parent folder searchable by others)."""
    path = path.resolve()
    if not path.exists() or not os.stat(path).st_mode & 0o005 == 0o005:
        return False
    return all(os.stat(parent).st_mode & 0o001 for parent in path.parents)


def course_python() -> Path:
    """The very interpreter of the course's ``.venv``, where every user may run it.

    Used in place when every user can read it (a Debian Python under /usr); else
    (pyenv's under /root, 0700) its installation, without its own site-packages, is
    copied to ``/srv/cnnviz-hub/python`` (``ensure_interpreter``). Never another
    build of the same version: the lock is proven on this one (the issue's
    soupsieve ran on 3.11.7 and failed on Debian's 3.11.2).
    """
    executable = Path(sys._base_executable).resolve()
    stdlib = Path(sys.base_prefix) / "lib" / _version() / "os.py"
    if _readable_by_all(executable) and _readable_by_all(stdlib):
        return executable
    return PYTHON_COPY / "bin" / _version()


def _version() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _interpreter_identity() -> str:
    """What the users' interpreter is a copy of: its installation and its exact build."""
    return f"{sys.base_prefix} {sys.version} {sys.implementation.cache_tag}"


def _patch_runpath(binary: Path, old_prefix: Path) -> None:
    """Point the copied python's RUNPATH at its own lib/ (``$ORIGIN/../lib``), not the unreadable original.

    Without this a non-root user's python, denied /root/.pyenv/.../lib, would load
    another libpython of the same soname (Debian's 3.11.2 in /usr/lib): the same
    mismatch again, silently. The new path is shorter, so it replaces the old one
    in place, padded with NUL bytes (what patchelf does for a shorter path).
    """
    old = str(old_prefix / "lib").encode() + b"\0"
    new = b"$ORIGIN/../lib"
    data = binary.read_bytes()
    if data.count(old) == 0:
        return  # no RUNPATH into its own prefix (a static build): nothing to point elsewhere
    if data.count(old) != 1 or len(new) >= len(old):
        raise CourseError(f"cannot relocate {binary}: its library path {old_prefix / 'lib'} appears "
                          f"{data.count(old)} times; install a Python every user may run (apt-get install {_version()})")
    binary.write_bytes(data.replace(old, new + b"\0" * (len(old) - len(new))))


def ensure_interpreter() -> Path:
    """The users' interpreter: ``course_python()``, copied and checked first when it must be."""
    python = course_python()
    if python.parent.parent != PYTHON_COPY:
        return python
    stamp = PYTHON_COPY / ".cnnviz-python"
    if stamp.is_file() and stamp.read_text() == _interpreter_identity() and python.is_file():
        return python
    base = Path(sys.base_prefix)
    print(f"[hub] copying the course's Python ({platform.python_version()}, {base}) to {PYTHON_COPY}, "
          "without its site-packages, for every user", flush=True)
    if PYTHON_COPY.exists():
        shutil.rmtree(PYTHON_COPY)
    (PYTHON_COPY / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys._base_executable).resolve(), python)  # a real copy: it is patched below
    _patch_runpath(python, base)
    for name in ("python3", "python"):
        (PYTHON_COPY / "bin" / name).symlink_to(python.name)
    (PYTHON_COPY / "lib").mkdir()
    for library in (base / "lib").glob("libpython*"):
        if library.is_symlink():
            (PYTHON_COPY / "lib" / library.name).symlink_to(os.readlink(library))
        elif library.is_file():
            _link_or_copy(str(library), str(PYTHON_COPY / "lib" / library.name))
    stdlib = base / "lib" / _version()

    def not_copied(folder, names):
        # The base installation's own packages (pyenv's pip, aws, pytest, ...) and the stdlib's tests.
        return [n for n in names if folder == str(stdlib) and n in ("site-packages", "test")]

    shutil.copytree(stdlib, PYTHON_COPY / "lib" / _version(), symlinks=True, copy_function=_link_or_copy,
                    ignore=not_copied)
    (PYTHON_COPY / "lib" / _version() / "site-packages").mkdir()
    _run("chmod", "-R", "a+rX", str(PYTHON_COPY))
    _check_interpreter(python)
    stamp.write_text(_interpreter_identity())
    return python


_PROBE = ("import sys; print(sys.version); "
          "print(*sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l}))")


def _check_interpreter(python: Path) -> None:
    """The copy, run by an unprivileged user, is this very build and loads its own libpython."""
    command = [str(python), "-I", "-c", _PROBE]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", *command]
    lines = _run(*command, cwd="/").stdout.splitlines()
    version, libraries = lines[0], lines[1].split() if len(lines) > 1 else []
    foreign = [lib for lib in libraries if not lib.startswith(str(PYTHON_COPY))]
    if version != sys.version or foreign:
        raise CourseError(f"the copied Python {python} is not the course's ({version!r}, loads {foreign}); "
                          f"install a Python every user may run (apt-get install {_version()}) and make .venv with it")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or hard links refused
        shutil.copy2(source, target)


# --------------------------------------------------------------------------- 1. accounts

@dataclass
class Account:
    name: str
    password: str
    role: str


def _ensure_shell_path(home: Path, name: str) -> None:
    """JupyterLab's terminals start login shells, which reset PATH: put the users' environment first again."""
    bashrc = home / ".bashrc"
    line = f'export PATH="{ENV / "bin"}:$PATH"  # make hub: the course\'s Python, nbgrader, jupyter\n'
    text = bashrc.read_text() if bashrc.is_file() else ""
    if line not in text:
        bashrc.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line)
        entry = pwd.getpwnam(name)
        os.chown(bashrc, entry.pw_uid, entry.pw_gid)


# nbgrader's Assignments tab leaves a submission's feedback column empty when there is no
# feedback to fetch (an empty <span>; "(view feedback)" is a link, "(feedback available to
# fetch)" a span with text): a student who pressed Fetch Feedback too early saw nothing at all.
NO_FEEDBACK_WORDS = "아직 받을 피드백이 없습니다 / no feedback yet"
NO_FEEDBACK_CSS = (
    "/* Written by `make hub` (cnnviz/deploy/hub.py): say in words that there is no feedback yet. */\n"
    "#nbgrader-assignment-list .nested_list_item .item_name > span:empty::after {\n"
    f'  content: " ({NO_FEEDBACK_WORDS})";\n'
    "  color: var(--jp-ui-font-color2);\n"
    "}\n")


def _ensure_no_feedback_words(home: Path, name: str) -> None:
    """The student's JupyterLab custom CSS (``LabApp.custom_css`` in the student config): "no feedback yet"."""
    entry = pwd.getpwnam(name)
    folder = home / ".jupyter" / "custom"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "custom.css").write_text(NO_FEEDBACK_CSS)
    for path in (home / ".jupyter", folder, folder / "custom.css"):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def ensure_accounts() -> list[Account]:
    """The instructor's and students' Linux accounts, with their passwords (kept across runs)."""
    STATE.mkdir(parents=True, exist_ok=True)
    os.chmod(STATE, 0o700)
    from cnnviz.course import roster

    saved = json.loads(ACCOUNTS.read_text()) if ACCOUNTS.is_file() else {}
    names = users()
    # A roster's login id that is already a system account (uid < 1000) is nobody's student account.
    system = [n for n in names[1:] if _uid(n) is not None and _uid(n) < 1000]
    if system:
        raise CourseError(f"the roster's login id(s) {', '.join(system)} are system accounts on this machine: "
                          "give those students other login ids; no account was changed")
    left = sorted(set(saved) - set(names))
    if left:
        print(f"[hub] not on the roster any more (accounts, work and grades kept; they cannot log in): "
              f"{roster.printable(left)}", flush=True)
    accounts = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name)
        home = Path(pwd.getpwnam(name).pw_dir)
        home.mkdir(exist_ok=True)
        os.chmod(home, 0o700)  # nobody reads another account's work
        _ensure_shell_path(home, name)
        if name != INSTRUCTOR:
            _ensure_no_feedback_words(home, name)
        password = saved.get(name) or secrets.token_urlsafe(9)
        _run("chpasswd", input=f"{name}:{password}\n")
        saved[name] = password
        accounts.append(Account(name, password, "instructor" if name == INSTRUCTOR else "student"))
    ACCOUNTS.write_text(json.dumps(saved, indent=2))
    os.chmod(ACCOUNTS, 0o600)
    return accounts


# --------------------------------------------------------------------------- 2. the users' environment

def _env_fingerprint(wheel: Path, python: Path) -> dict:
    """What the environment is built from: the lock, the interpreter, the recipe, the student wheel."""
    import hashlib

    return {"recipe": ENV_RECIPE, "lock": lock.digest(), "python": str(python),
            "interpreter": _interpreter_identity(), "wheel": hashlib.sha256(wheel.read_bytes()).hexdigest()}


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
    SYSTEM.mkdir(parents=True, exist_ok=True)
    os.chmod(SYSTEM, 0o755)
    stale = lock.differences()
    if stale:
        raise CourseError(f"{sys.prefix} is not requirements.lock ({', '.join(stale[:3])}"
                          f"{', ...' if len(stale) > 3 else ''}): `make install` first; the users' environment "
                          "is made of its files")
    python = ensure_interpreter()
    wheel = student_package.build_wheel(STATE / "dist")
    fingerprint = _env_fingerprint(wheel, python)
    stamp = ENV / ".cnnviz-env"
    old = _read_stamp(stamp)
    if old == fingerprint:
        return ENV
    if old is None:
        print(f"[hub] building the users' environment {ENV} from requirements.lock (hard links to .venv's "
              f"files) with the course's Python {python}", flush=True)
    else:
        print(f"[hub] rebuilding the users' environment {ENV}: {_rebuild_reason(old, fingerprint)}", flush=True)
    if ENV.exists():
        shutil.rmtree(ENV)
    _run(str(python), "-m", "venv", "--without-pip", str(ENV))
    source = Path(sys.prefix) / "lib" / _version() / "site-packages"
    target = ENV / "lib" / _version() / "site-packages"

    def course_package(folder, names):
        # The course's own package (an editable install pointing into this repository) stays out.
        return [n for n in names if n.startswith(("__editable__", "cnnviz-", "cnnviz.", "_cnnviz"))
                or (n == "cnnviz" and folder == str(source))]

    shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy, ignore=course_package,
                    dirs_exist_ok=True)
    for folder in ("share/jupyter", "etc/jupyter", "etc/ipython"):
        if (Path(sys.prefix) / folder).is_dir():
            shutil.copytree(Path(sys.prefix) / folder, ENV / folder, symlinks=True, copy_function=_link_or_copy,
                            dirs_exist_ok=True)
    # Console scripts (nbgrader runs `alembic` from PATH), pointed at this environment's Python.
    for script in (Path(sys.prefix) / "bin").iterdir():
        if not script.is_file() or script.is_symlink() or script.name == "cnnviz":  # the course's own CLI
            continue
        head = script.read_bytes()[:200]
        # pip wrote .venv's path as it was given (a symlinked .venv keeps its target's path).
        if any(head.startswith(f"#!{prefix}/bin/python".encode())
               for prefix in {sys.prefix, os.path.realpath(sys.prefix)}):
            body = script.read_text().split("\n", 1)[1]
            (ENV / "bin" / script.name).write_text(f"#!{ENV / 'bin' / 'python'}\n{body}")
            os.chmod(ENV / "bin" / script.name, 0o755)
    missing = [name for name in REQUIRED_SCRIPTS if not (ENV / "bin" / name).is_file()]
    if missing:
        raise CourseError(f"the users' environment {ENV} lacks {', '.join(missing)} (from {sys.prefix}/bin): "
                          "`make install` again")
    # TensorFlow's C++ start-up lines bypass Python; without this ipykernel copies them into notebooks.
    (ENV / "etc" / "ipython").mkdir(parents=True, exist_ok=True)
    (ENV / "etc" / "ipython" / "ipython_kernel_config.py").write_text("c.IPKernelApp.capture_fd_output = False\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    # Every user's nbgrader: the course and the exchange.
    (ENV / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/deploy/hub.py): every account's nbgrader finds the course's exchange.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(EXCHANGE)!r}\n")
    _run("chmod", "-R", "a+rX", str(ENV))
    problems = pip_check(ENV / "bin" / "python")
    if problems:
        raise CourseError(f"`pip check` in the users' environment {ENV}: {problems}")
    stamp.write_text(json.dumps(fingerprint))
    return ENV


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


def ensure_lab_settings() -> None:
    """Every account's JupyterLab: no "Jupyter news?" question and no update checks (the hub is offline)."""
    folder = ENV / "share" / "jupyter" / "lab" / "settings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}},
        indent=2))
    os.chmod(folder / "overrides.json", 0o644)


def ensure_student_config() -> Path:
    """Config folder searched first by students' servers: no formgrader, no Create Assignment, no course list."""
    (STUDENT_CONFIG / "labconfig").mkdir(parents=True, exist_ok=True)
    (STUDENT_CONFIG / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {plugin: True for plugin in STUDENT_DISABLED_PLUGINS}}, indent=2))
    (STUDENT_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_DISABLED_SERVER_EXTENSIONS}},
         "LabApp": {"custom_css": True}},  # NO_FEEDBACK_CSS, in each student's ~/.jupyter/custom
        indent=2))
    _run("chmod", "-R", "a+rX", str(STUDENT_CONFIG))
    return STUDENT_CONFIG


# --------------------------------------------------------------------------- 3. data, 4. exchange

def ensure_data() -> Path:
    """Fashion-MNIST in a cache every user can read, linked from every account's Keras folder."""
    cache = KERAS_HOME / "datasets" / "fashion-mnist"
    env = {**os.environ, settings.KERAS_HOME_VARIABLE: str(KERAS_HOME)}
    _run(sys.executable, "-m", "cnnviz", "data", env=env)
    _run("chmod", "-R", "a+rX", str(KERAS_HOME))
    for name in users():
        entry = pwd.getpwnam(name)
        datasets = Path(entry.pw_dir) / ".keras" / "datasets"
        datasets.mkdir(parents=True, exist_ok=True)
        link = datasets / "fashion-mnist"
        if link.is_symlink() or not link.exists():
            if link.is_symlink():
                link.unlink()
            link.symlink_to(cache)
        for folder in (datasets.parent, datasets):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.lchown(link, entry.pw_uid, entry.pw_gid)
    return cache


def ensure_exchange() -> Path:
    """nbgrader's exchange in a system folder, writable by everyone (nbgrader's documented setup)."""
    EXCHANGE.mkdir(parents=True, exist_ok=True)
    os.chmod(EXCHANGE.parent, 0o755)
    os.chmod(EXCHANGE, 0o777)
    return EXCHANGE


# --------------------------------------------------------------------------- 5. the instructor's course

def account_env(name: str) -> dict[str, str]:
    """What the hub gives account ``name``'s server and commands: the users' environment first on PATH,
    what every notebook kernel needs (``settings.kernel_env``; their kernels inherit it), and for the
    instructor the full course package."""
    env = {"PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin", **settings.kernel_env(), "LANG": "C.UTF-8"}
    if name == INSTRUCTOR:
        env["PYTHONPATH"] = str(instructor_course())  # the full package, for the formgrader and source/
    return env


def as_user(name: str, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` as account ``name`` with the hub's environment for that account."""
    entry = pwd.getpwnam(name)
    env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, **account_env(name)}
    return _run("runuser", "-u", name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command,
                cwd=cwd)


def source_differs(course: Path) -> bool:
    """Whether the instructor's ``source/`` assignment notebook is not the repository's."""
    notebook = Path("source") / ASSIGNMENT / settings.NOTEBOOK
    theirs, ours = course / notebook, COURSE_ROOT / notebook
    return not theirs.is_file() or theirs.read_bytes() != ours.read_bytes()


def ensure_course() -> Path:
    """The instructor's course folder: config, source/ (kept if already there) and the full package."""
    course = instructor_course()
    entry = pwd.getpwnam(INSTRUCTOR)
    course.mkdir(exist_ok=True)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    if not (course / "source").is_dir():
        shutil.copytree(COURSE_ROOT / "source", course / "source")
    elif source_differs(course):
        print(f"[hub] {course / 'source'} is kept as the instructor left it; it differs from this repository's "
              f"source/ (copy {COURSE_ROOT / 'source'} over it to take the repository's version)", flush=True)
    # The tooling is refreshed on every run (the instructor's edits live in source/).
    if (course / "cnnviz").exists():
        shutil.rmtree(course / "cnnviz")
    shutil.copytree(COURSE_ROOT / "cnnviz", course / "cnnviz", ignore=shutil.ignore_patterns("__pycache__"))
    # The instructor's server runs in the home folder, where nbgrader looks for its config: name
    # the course there, and load the course's own config (its jail, its preprocessors) from it.
    jupyter_dir = Path(entry.pw_dir) / ".jupyter"
    jupyter_dir.mkdir(exist_ok=True)
    (jupyter_dir / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/deploy/hub.py): the formgrader and every nbgrader command grade this course.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    # The formgrader inside the instructor's JupyterLab, and its links outside it (cnnviz/deploy/hub_formgrader.py).
    (jupyter_dir / "jupyter_server_config.d").mkdir(exist_ok=True)
    (jupyter_dir / "jupyter_server_config.d" / "cnnviz-hub.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {INSTRUCTOR_SERVER_EXTENSION: True}}}, indent=2))
    _run("chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(course), str(jupyter_dir))
    _import_roster(course)
    if not (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file():
        print(f"[hub] generating {ASSIGNMENT} in {course} (nbgrader generate_assignment)", flush=True)
        as_user(INSTRUCTOR, str(ENV / "bin" / "python"), "-m", "nbgrader", "generate_assignment", ASSIGNMENT,
                "--force", cwd=course)
    return course


def _import_roster(course: Path) -> None:
    """The roster the accounts came from, imported into the instructor's gradebook (names, emails, LMS ids)."""
    from cnnviz.course import roster

    source = settings.hub_roster_file() or roster.roster_path(COURSE_ROOT)
    if not source.is_file():
        return
    # A course's roster.json is read back as saved (cnnviz.course.roster.read); an LMS file is parsed again.
    copy = roster.roster_path(course) if source.name == roster.ROSTER_FILE else course / "roster-source.csv"
    shutil.copy(source, copy)
    entry = pwd.getpwnam(INSTRUCTOR)
    os.chown(copy, entry.pw_uid, entry.pw_gid)
    result = as_user(INSTRUCTOR, str(ENV / "bin" / "python"), "-m", "cnnviz", "roster", "import", str(copy),
                     cwd=course)
    print(result.stdout.strip().replace("[roster]", "[hub] instructor's gradebook:"), flush=True)


def make_repository_private() -> None:
    """Other accounts must not read this repository: its source/ holds the hidden tests."""
    mode = COURSE_ROOT.stat().st_mode & 0o777
    if mode & 0o007:
        os.chmod(COURSE_ROOT, mode & ~0o007)
        print(f"[hub] {COURSE_ROOT} is now closed to other users (mode {mode & ~0o007:o}): "
              "students must not read source/", flush=True)


# --------------------------------------------------------------------------- 6. the hub

def ensure_proxy() -> Path:
    """configurable-http-proxy from npm, installed once into hub/state/proxy."""
    command = STATE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    if command.exists():
        return command
    if not shutil.which("npm"):
        raise CourseError("npm is missing: `apt-get install nodejs npm` (JupyterHub's proxy is a Node program)")
    print(f"[hub] installing {PROXY_PACKAGE} from npm into {command.parents[2]}", flush=True)
    (STATE / "proxy").mkdir(parents=True, exist_ok=True)
    _run("npm", "install", "--prefix", str(STATE / "proxy"), "--no-audit", "--no-fund", "--loglevel=error",
         PROXY_PACKAGE)
    return command


def _pid() -> int | None:
    """The hub's pid if it runs."""
    try:
        pid = int(PID_FILE.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def _answers() -> bool:
    try:
        with urllib.request.urlopen(f"{url()}/hub/api/", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _log_tail(lines: int = 15) -> str:
    text = LOG_FILE.read_text(errors="replace") if LOG_FILE.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _taken(number: int) -> bool:
    """Whether something listens on 127.0.0.1:``number``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", number)) == 0


def start_hub() -> bool:
    """Start JupyterHub in the background unless it runs; wait until it answers. True if started now."""
    own = _pid()
    if own and _answers():
        return False
    # Something else listens there: another checkout's hub (its own state, proxy and users' servers)
    # or another program. Its answers must not pass for this hub's.
    taken = [f"{number} ({name})" for name, number in ports().items() if _taken(number)]
    if taken:
        where = f"127.0.0.1:{', '.join(taken)} in use"
        if own:
            raise CourseError(f"{where}, and this checkout's hub (pid {own}) does not answer {url()}: "
                              "`make hub-stop`, then `make hub` again")
        raise CourseError(f"{where}, not by this checkout's hub ({PID_FILE}): stop the other hub "
                          "(`make hub-stop` in its checkout), or start this one on other ports "
                          "(CNNVIZ_HUB_PORT=8100 make hub)")
    log = open(LOG_FILE, "a")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG_FILE)], cwd=STATE,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True,
                               # hub/jupyterhub_config.py imports this very checkout's cnnviz, whichever is installed.
                               env=dict(os.environ, **{settings.HUB_PORT_VARIABLE: str(port())},
                                        PYTHONPATH=os.pathsep.join(filter(None, [str(COURSE_ROOT),
                                                                                 os.environ.get("PYTHONPATH")]))))
    PID_FILE.write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CourseError(f"JupyterHub exited with status {process.returncode}; its log ({LOG_FILE}) ends:\n"
                              f"{_log_tail()}")
        if _answers() and process.poll() is None:
            return True
        time.sleep(0.5)
    raise CourseError(f"JupyterHub did not answer {url()} within {START_TIMEOUT} s; see {LOG_FILE}")


def stop_hub() -> bool:
    """Stop the hub (it stops its proxy and every user's server first). True if it was running."""
    pid = _pid()
    if pid is None:
        PID_FILE.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.3)
    else:
        os.killpg(pid, signal.SIGKILL)  # its own session (start_new_session)
    # A proxy left behind by a hub that was killed.
    proxy_pid = STATE / "proxy.pid"
    if proxy_pid.is_file():
        try:
            os.kill(int(proxy_pid.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
        proxy_pid.unlink(missing_ok=True)
    PID_FILE.unlink(missing_ok=True)
    return True


# --------------------------------------------------------------------------- commands

def up() -> list[Account]:
    """``make hub``: every step above, then the hub; prints the address and the accounts."""
    _require_root()
    STATE.mkdir(parents=True, exist_ok=True)
    accounts = ensure_accounts()
    ensure_environment()
    ensure_lab_settings()
    ensure_student_config()
    ensure_data()
    ensure_exchange()
    make_repository_private()
    ensure_course()
    ensure_proxy()
    started = start_hub()
    print(f"[hub] JupyterHub {'started' if started else 'already running'} at {url()} "
          f"(log: {LOG_FILE}; stop it with `make hub-stop`)")
    for account in accounts:
        print(f"[hub]   {account.role:<10} {account.name:<10} password {account.password}")
    print(f"[hub] the passwords are kept in {ACCOUNTS} (root only); students keep theirs across runs")
    print(f"[hub] exchange {EXCHANGE}; the instructor's course {instructor_course()}")
    return accounts


def down() -> None:
    """``make hub-stop``."""
    _require_root()
    print("[hub] stopped" if stop_hub() else "[hub] not running")


# --------------------------------------------------------------------------- JupyterHub's configuration

def _pre_spawn(spawner) -> None:
    """Each account's server: its folder, its environment; students without the course's internals."""
    name = spawner.user.name
    home = Path(pwd.getpwnam(name).pw_dir)
    env = account_env(name)
    if name == INSTRUCTOR:
        spawner.notebook_dir = str(instructor_course())
    else:
        spawner.notebook_dir = str(home)
        # Before the environment's own config in Jupyter's search path; their settings and
        # workspaces stay in their own ~/.jupyter.
        env["JUPYTER_CONFIG_PATH"] = str(STUDENT_CONFIG)
    spawner.environment.update(env)


def course_spawner_class():
    """JupyterHub's local-process spawner, with each server started in its own folder, not the home folder.

    JupyterLab's terminals open in the server's working folder: the instructor's
    in the course, so ``nbgrader export`` writes ``grades.csv`` where the file
    browser (rooted at the course) shows it.
    """
    from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid

    class CourseSpawner(LocalProcessSpawner):
        def make_preexec_fn(self, name):
            become_user = set_user_setuid(name)  # uid, gid, groups, then the home folder
            folder = self.notebook_dir

            def preexec():
                become_user()
                if folder:
                    os.chdir(folder)

            return preexec

    return CourseSpawner


def configure(c) -> None:
    """Fill JupyterHub's config object ``c`` (``hub/jupyterhub_config.py`` calls this)."""
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = port()
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = ports()["hub"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports()['proxy API']}"
    c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True  # `make hub-stop` stops every user's server too
    c.ConfigurableHTTPProxy.command = [str(STATE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")]
    c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
    c.JupyterHub.authenticator_class = "pam"
    c.Authenticator.allowed_users = set(users())
    c.JupyterHub.spawner_class = course_spawner_class()
    c.Spawner.cmd = [str(ENV / "bin" / "python"), "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.env_keep = []  # nothing of root's environment (NBGRADER_DB_URL, PYTHONPATH, ...)
    c.Spawner.pre_spawn_hook = _pre_spawn
    # Every user's server sends the course's Content-Security-Policy (cnnviz/settings.py; JupyterHub's
    # own default is only frame-ancestors 'none'): no script or connection from another origin, and
    # no page framed, as JupyterHub's default; cnnviz.deploy.hub_formgrader lets the instructor's JupyterLab
    # frame the formgrader's pages only.
    c.Spawner.args = [settings.server_csp_option(frame_ancestors="'none'")]
    # TensorFlow makes the first server start slow on a busy machine.
    c.Spawner.http_timeout = 180
    c.Spawner.start_timeout = 300
