"""The JupyterHub process of `make hub`: its proxy from npm, started in the background, stopped.

JupyterHub runs ``hub/jupyterhub_config.py`` (``cnnviz.deploy.hub_config``)
from this very checkout, in its own session, with its pid and log in
``hub/state/``. A port already in use is refused rather than another hub's
answers taken for this one's; ``make hub-stop`` stops the hub, which stops its
proxy and every user's server first.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cnnviz import COURSE_ROOT, CourseError, settings
from cnnviz.deploy import hub_site

CONFIG_FILE = hub_site.HUB_DIR / "jupyterhub_config.py"
PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
PROXY_COMMAND = hub_site.STATE / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
PROXY_PID_FILE = hub_site.STATE / "proxy.pid"  # JupyterHub writes it (hub_config)
PID_FILE = hub_site.STATE / "jupyterhub.pid"
LOG_FILE = hub_site.STATE / "jupyterhub.log"
START_TIMEOUT = 180  # seconds; the hub starts in ~5 s, but the machine may be busy grading


def ensure_proxy() -> Path:
    """configurable-http-proxy from npm, installed once into hub/state/proxy."""
    if PROXY_COMMAND.exists():
        return PROXY_COMMAND
    if not shutil.which("npm"):
        raise CourseError("npm is missing: `apt-get install nodejs npm` (JupyterHub's proxy is a Node program)")
    print(f"[hub] installing {PROXY_PACKAGE} from npm into {PROXY_COMMAND.parents[2]}", flush=True)
    (hub_site.STATE / "proxy").mkdir(parents=True, exist_ok=True)
    hub_site.run("npm", "install", "--prefix", str(hub_site.STATE / "proxy"), "--no-audit", "--no-fund",
                 "--loglevel=error", PROXY_PACKAGE)
    return PROXY_COMMAND


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
        with urllib.request.urlopen(f"{hub_site.url()}/hub/api/", timeout=5) as response:
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
    taken = [f"{number} ({name})" for name, number in hub_site.ports().items() if _taken(number)]
    if taken:
        where = f"127.0.0.1:{', '.join(taken)} in use"
        if own:
            raise CourseError(f"{where}, and this checkout's hub (pid {own}) does not answer {hub_site.url()}: "
                              "`make hub-stop`, then `make hub` again")
        raise CourseError(f"{where}, not by this checkout's hub ({PID_FILE}): stop the other hub "
                          "(`make hub-stop` in its checkout), or start this one on other ports "
                          "(CNNVIZ_HUB_PORT=8100 make hub)")
    log = open(LOG_FILE, "a")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG_FILE)], cwd=hub_site.STATE,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True,
                               # hub/jupyterhub_config.py imports this very checkout's cnnviz, whichever is installed.
                               env=dict(os.environ, **{settings.HUB_PORT_VARIABLE: str(hub_site.port())},
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
    raise CourseError(f"JupyterHub did not answer {hub_site.url()} within {START_TIMEOUT} s; see {LOG_FILE}")


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
    if PROXY_PID_FILE.is_file():
        try:
            os.kill(int(PROXY_PID_FILE.read_text().strip()), signal.SIGTERM)
        except (ValueError, ProcessLookupError):
            pass
        PROXY_PID_FILE.unlink(missing_ok=True)
    PID_FILE.unlink(missing_ok=True)
    return True
