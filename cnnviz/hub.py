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
2. **The students' environment** ``/srv/cnnviz-hub/env``: a virtual
   environment of the system's Python with the course's pinned packages
   (hard links to ``.venv``'s files, so no download and no extra disk),
   minus the course's own package, plus the ``cnnviz-student`` wheel (the
   visible checks only, ``cnnviz.student_package``). Its IPython kernel
   config keeps TensorFlow's C++ log lines out of notebooks.
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
   formgrader; students' JupyterLab has the Assignments tab and Validate,
   and neither the formgrader nor Create Assignment.

``make hub-stop`` stops the hub, its proxy and every user's server.
"""

from __future__ import annotations

import json
import os
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

from . import ASSIGNMENT, COURSE_ROOT, CourseError, settings

HUB_DIR = COURSE_ROOT / "hub"
STATE = HUB_DIR / "state"
CONFIG_FILE = HUB_DIR / "jupyterhub_config.py"
SYSTEM = Path(os.environ.get("CNNVIZ_HUB_SYSTEM", "/srv/cnnviz-hub"))
ENV = SYSTEM / "env"
KERAS_HOME = SYSTEM / "keras"
STUDENT_CONFIG = SYSTEM / "student-config"
EXCHANGE = Path(os.environ.get("CNNVIZ_HUB_EXCHANGE", "/srv/nbgrader/exchange"))
COURSE_ID = settings.COURSE_ID
INSTRUCTOR = "instructor"
COURSE_DIR_NAME = "course"
ENV_RECIPE = 2  # bump when ensure_environment changes: the next `make hub` rebuilds the environment
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
ACCOUNTS = STATE / "accounts.json"
PID_FILE = STATE / "jupyterhub.pid"
LOG_FILE = STATE / "jupyterhub.log"
START_TIMEOUT = 180  # seconds; the hub starts in ~5 s, but the machine may be busy grading
# Plugins of nbgrader's JupyterLab extension that students must not get.
STUDENT_DISABLED_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                            "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                      "nbgrader.server_extensions.course_list")


def port() -> int:
    """The hub's port on 127.0.0.1 (``CNNVIZ_HUB_PORT``, default 8000)."""
    return int(os.environ.get("CNNVIZ_HUB_PORT", "8000"))


def url() -> str:
    return f"http://127.0.0.1:{port()}"


def ports() -> dict[str, int]:
    """The three ports a hub listens on, all derived from ``port()`` (8000, 8001, 8081 by default), so that
    a second hub on another ``CNNVIZ_HUB_PORT`` (another checkout, a CI job) collides with none of them."""
    return {"public": port(), "proxy API": port() + 1, "hub": port() + 81}


def students() -> list[str]:
    """The student accounts: ``student1`` … ``studentN`` (``CNNVIZ_HUB_STUDENTS``, default 2)."""
    count = os.environ.get("CNNVIZ_HUB_STUDENTS", "2")
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


def _system_python() -> Path:
    """A Python of the course venv's version that every user may run (the venv's own may live under /root)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [Path(sys._base_executable), Path("/usr/bin") / version, Path("/usr/local/bin") / version]
    for candidate in candidates:
        if candidate.is_file() and _readable_by_all(candidate):
            return candidate.resolve()
    raise CourseError(f"no {version} that every user may run (tried {', '.join(map(str, candidates))}); "
                      f"install it with `apt-get install {version}`")


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


def ensure_accounts() -> list[Account]:
    """The instructor's and students' Linux accounts, with their passwords (kept across runs)."""
    STATE.mkdir(parents=True, exist_ok=True)
    os.chmod(STATE, 0o700)
    saved = json.loads(ACCOUNTS.read_text()) if ACCOUNTS.is_file() else {}
    accounts = []
    for name in users():
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run("useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name)
        home = Path(pwd.getpwnam(name).pw_dir)
        home.mkdir(exist_ok=True)
        os.chmod(home, 0o700)  # nobody reads another account's work
        _ensure_shell_path(home, name)
        password = saved.get(name) or secrets.token_urlsafe(9)
        _run("chpasswd", input=f"{name}:{password}\n")
        saved[name] = password
        accounts.append(Account(name, password, "instructor" if name == INSTRUCTOR else "student"))
    ACCOUNTS.write_text(json.dumps(saved, indent=2))
    os.chmod(ACCOUNTS, 0o600)
    return accounts


# --------------------------------------------------------------------------- 2. the users' environment

def _env_fingerprint(wheel: Path) -> str:
    """What the environment was built from: the course venv's packages, the system Python, the student wheel."""
    import hashlib
    from importlib import metadata

    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    return json.dumps({"recipe": ENV_RECIPE, "python": str(_system_python()), "packages": packages,
                       "wheel": hashlib.sha256(wheel.read_bytes()).hexdigest()})


def ensure_environment() -> Path:
    """``/srv/cnnviz-hub/env``: the course's packages for every user, the visible checks, no course internals."""
    from . import student_package

    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        raise CourseError("JupyterHub is not installed: `.venv/bin/pip install -e '.[hub]'` "
                          "(`make hub` does it)") from None
    SYSTEM.mkdir(parents=True, exist_ok=True)
    os.chmod(SYSTEM, 0o755)
    wheel = student_package.build_wheel(STATE / "dist")
    fingerprint = _env_fingerprint(wheel)
    stamp = ENV / ".cnnviz-env"
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return ENV
    print(f"[hub] building the users' environment {ENV} (hard links to .venv's packages)", flush=True)
    if ENV.exists():
        shutil.rmtree(ENV)
    _run(str(_system_python()), "-m", "venv", "--without-pip", str(ENV))
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    source = Path(sys.prefix) / "lib" / version / "site-packages"
    target = ENV / "lib" / version / "site-packages"

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
        if head.startswith(f"#!{sys.prefix}/bin/python".encode()):
            body = script.read_text().split("\n", 1)[1]
            (ENV / "bin" / script.name).write_text(f"#!{ENV / 'bin' / 'python'}\n{body}")
            os.chmod(ENV / "bin" / script.name, 0o755)
    # TensorFlow's C++ start-up lines bypass Python; without this ipykernel copies them into notebooks.
    (ENV / "etc" / "ipython").mkdir(parents=True, exist_ok=True)
    (ENV / "etc" / "ipython" / "ipython_kernel_config.py").write_text("c.IPKernelApp.capture_fd_output = False\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    # Every user's nbgrader: the course and the exchange.
    (ENV / "etc" / "jupyter" / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/hub.py): every account's nbgrader finds the course's exchange.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(EXCHANGE)!r}\n")
    _run("chmod", "-R", "a+rX", str(ENV))
    stamp.write_text(fingerprint)
    return ENV


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
        {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_DISABLED_SERVER_EXTENSIONS}}},
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

def as_user(name: str, *command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` as account ``name`` with the hub's environment for that account."""
    entry = pwd.getpwnam(name)
    env = {"HOME": entry.pw_dir, "USER": name, "LOGNAME": name, "PATH": f"{ENV / 'bin'}:/usr/bin:/bin",
           settings.TF_LOG_VARIABLE: settings.TF_LOG_LEVEL_KERNELS, "LANG": "C.UTF-8"}
    if name == INSTRUCTOR:
        env["PYTHONPATH"] = str(instructor_course())
    return _run("runuser", "-u", name, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *command,
                cwd=cwd)


def ensure_course() -> Path:
    """The instructor's course folder: config, source/ (kept if already there) and the full package."""
    course = instructor_course()
    entry = pwd.getpwnam(INSTRUCTOR)
    course.mkdir(exist_ok=True)
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    if not (course / "source").is_dir():
        shutil.copytree(COURSE_ROOT / "source", course / "source")
    # The tooling is refreshed on every run (the instructor's edits live in source/).
    if (course / "cnnviz").exists():
        shutil.rmtree(course / "cnnviz")
    shutil.copytree(COURSE_ROOT / "cnnviz", course / "cnnviz", ignore=shutil.ignore_patterns("__pycache__"))
    # The instructor's server runs in the home folder, where nbgrader looks for its config: name
    # the course there, and load the course's own config (its jail, its preprocessors) from it.
    jupyter_dir = Path(entry.pw_dir) / ".jupyter"
    jupyter_dir.mkdir(exist_ok=True)
    (jupyter_dir / "nbgrader_config.py").write_text(
        "# Written by `make hub` (cnnviz/hub.py): the formgrader and every nbgrader command grade this course.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    _run("chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(course), str(jupyter_dir))
    if not (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file():
        print(f"[hub] generating {ASSIGNMENT} in {course} (nbgrader generate_assignment)", flush=True)
        as_user(INSTRUCTOR, str(ENV / "bin" / "python"), "-m", "nbgrader", "generate_assignment", ASSIGNMENT,
                "--force", cwd=course)
    return course


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
                               start_new_session=True, env=dict(os.environ, CNNVIZ_HUB_PORT=str(port())))
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
    env = {"PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           settings.TF_LOG_VARIABLE: settings.TF_LOG_LEVEL_KERNELS, "LANG": "C.UTF-8"}
    if name == INSTRUCTOR:
        spawner.notebook_dir = str(instructor_course())
        env["PYTHONPATH"] = str(instructor_course())  # the full package, for the formgrader and source/
    else:
        spawner.notebook_dir = str(home)
        # Before the environment's own config in Jupyter's search path; their settings and
        # workspaces stay in their own ~/.jupyter.
        env["JUPYTER_CONFIG_PATH"] = str(STUDENT_CONFIG)
    spawner.environment.update(env)


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
    c.Spawner.cmd = [str(ENV / "bin" / "python"), "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.env_keep = []  # nothing of root's environment (NBGRADER_DB_URL, PYTHONPATH, ...)
    c.Spawner.pre_spawn_hook = _pre_spawn
    # Every user's server sends the course's Content-Security-Policy (cnnviz/settings.py; JupyterHub's
    # own default is only frame-ancestors 'none'): no script or connection from another origin.
    c.Spawner.args = [settings.server_csp_option()]
    # TensorFlow makes the first server start slow on a busy machine.
    c.Spawner.http_timeout = 180
    c.Spawner.start_timeout = 300
