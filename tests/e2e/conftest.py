"""End-to-end fixtures: a scratch course served by a real JupyterLab, driven by Chromium.

The course is a copy of this one (config, source, release) in a temporary
folder, with nbgrader's gradebook made by ``nbgrader generate_assignment`` and
students' working copies of ``release/cnn_visualization/`` beside it. JupyterLab
runs from ``.venv/bin`` with the course as its root and working directory (so
nbgrader's server extensions find ``nbgrader_config.py``), and Playwright drives
Debian's Chromium (``apt-get install chromium``), never a downloaded browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME
from cnnviz.course import catalogue, nbrun, notebooks, pipeline

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("CNNVIZ_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
TOKEN = "cnnviz-e2e-9c1f4a"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
# Students' working copies inside the served course, relative to its root.
SOLVED = f"students/solved/{ASSIGNMENT}/{NOTEBOOK}"
MISTAKE = f"students/mistake/{ASSIGNMENT}/{NOTEBOOK}"
# A visible mistake in every step after the first (catalogue: a-mistake-in-every-step), once for
# Validate and once for Run All; and the first step left undone (load-model-left-undone).
EVERY_STEP = f"students/every-step/{ASSIGNMENT}/{NOTEBOOK}"
EVERY_STEP_RUN = f"students/every-step-run/{ASSIGNMENT}/{NOTEBOOK}"
FIRST_STEP_UNDONE = f"students/first-step-undone/{ASSIGNMENT}/{NOTEBOOK}"
# The student whose submission the formgrader autogrades in the scratch course.
FORMGRADER_STUDENT = "formgrader-student"
SERVER_START_TIMEOUT = 90  # seconds; JupyterLab starts in ~5 s on 2 cores

# The visible mistake: the histogram cell stores the Axes, not the Figure, in hist_fig.
HIST_AXES_ANSWER = """
hist_fig = plt.subplots()[1]
hist_fig.hist(conv_weights.reshape(-1, 1))
hist_fig.set_xlabel('weight')
hist_fig.set_ylabel('count')
plt.show()
"""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: drives a real JupyterLab in headless Chromium (needs /usr/bin/chromium)")
    config.addinivalue_line(
        "markers", "hub: the class loop on the course's JupyterHub with real Linux users (`make test-hub`, as root)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of JupyterLab's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item._cnnviz_call_report = report
    server = getattr(item.session, "_cnnviz_lab", None)
    if report.failed and server is not None:
        report.sections.append(("jupyter lab log (tail)", server.log_tail()))


# --------------------------------------------------------------------------- course

def _student_copy(course: Path, relpath: str, nb) -> Path:
    """A student's folder as released (notebook and checkpoint), holding notebook ``nb``."""
    target = course / relpath
    shutil.copytree(REPO / "release" / ASSIGNMENT, target.parent)
    nbformat.write(nb, target)
    assert (target.parent / CHECKPOINT_NAME).is_file()
    return target


@dataclass
class Course:
    """The scratch course: its root, the students' notebooks (relative to it), the assignment's points."""

    root: Path
    solved: str
    mistake: str
    every_step: str
    every_step_run: str
    first_step_undone: str
    max_score: float
    formgrader_student: str


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Course:
    """A scratch copy of the course, with a gradebook and two students' working copies."""
    root = tmp_path_factory.mktemp("e2e") / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REPO / "source", root / "source")
    shutil.copytree(REPO / "release", root / "release")
    # The gradebook (gradebook.db in the course root) must know the assignment for the formgrader.
    nbrun.run_nbgrader("generate_assignment", ASSIGNMENT, "--force", root=root, quiet=True)
    assert (root / "gradebook.db").is_file()

    where = pipeline.paths(REPO)
    release_nb = notebooks.read_notebook(where["release"])
    source_nb = notebooks.read_notebook(where["source"])
    entries = catalogue.by_name()
    solution = entries["solution"]
    _student_copy(root, SOLVED, solution.notebook(release_nb, source_nb))
    mistake = catalogue.Submission(name="hist-axes", kind="wrong",
                                 mistake="hist_fig holds the Axes, not the Figure",
                                 answers={"hist": HIST_AXES_ANSWER}, loses=["test_hist"])
    _student_copy(root, MISTAKE, mistake.notebook(release_nb, source_nb))
    every_step = entries["a-mistake-in-every-step"].notebook(release_nb, source_nb)
    _student_copy(root, EVERY_STEP, every_step)
    _student_copy(root, EVERY_STEP_RUN, every_step)
    _student_copy(root, FIRST_STEP_UNDONE, entries["load-model-left-undone"].notebook(release_nb, source_nb))
    # One submission for the formgrader to autograde (as the instructor does from `make lab`).
    pipeline.submit(root, FORMGRADER_STUDENT, solution.notebook(release_nb, source_nb))
    nbrun.run_nbgrader("db", "student", "add", FORMGRADER_STUDENT, root=root, quiet=True)
    return Course(root=root, solved=SOLVED, mistake=MISTAKE, every_step=EVERY_STEP,
                  every_step_run=EVERY_STEP_RUN, first_step_undone=FIRST_STEP_UNDONE,
                  max_score=sum(notebooks.grade_points(source_nb).values()),
                  formgrader_student=FORMGRADER_STUDENT)


# --------------------------------------------------------------------------- server

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1 serving ``root``, with its log in a file."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyter-lab.log"
        # Started exactly as `make lab` starts it (Makefile -> cnnviz/deploy/lab.py), from the
        # Makefile's own environment (MPLBACKEND=Agg exported), not through nbrun.nbgrader_env().
        env = dict(os.environ)
        # A fresh user: no saved workspace, settings or config of whoever runs the tests.
        env["JUPYTER_CONFIG_DIR"] = str(home / "config")
        env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "settings")
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(home / "workspaces")
        env["JUPYTER_RUNTIME_DIR"] = str(home / "runtime")
        # That user has answered JupyterLab's "get notified about Jupyter news?" toast
        # (no internet here, and the toast covers the notebook in screenshots).
        notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        lab_args = " ".join([f"--port={self.port}", "--port-retries=0", f"--IdentityProvider.token={TOKEN}",
                             "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
                             "--LabApp.check_for_updates_class="
                             "jupyterlab.handlers.announcements.NeverCheckForUpdate"])
        command = ["make", "--no-print-directory", "-C", str(REPO), "lab", f"COURSE={root}",
                   f"LAB_ARGS={lab_args}"]
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=root, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def url(self, path: str, **query: str) -> str:
        """Full URL of ``path`` on the server, with the token."""
        params = "&".join([f"token={TOKEN}"] + [f"{k}={v}" for k, v in query.items()])
        return f"{self.base}/{path.lstrip('/')}?{params}"

    def wait_ready(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/api/status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer /api/status within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 80) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to make and JupyterLab (which then shuts its kernels down), SIGKILL after 20 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: see start_new_session
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: see start_new_session
                self.process.wait(timeout=20)
        self._log.close()


@contextlib.contextmanager
def serving(root: Path, home: Path, log_name: str):
    """``make lab`` serving the course ``root`` until the block ends; its log kept with the screenshots."""
    server = LabServer(root, home)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(server.log_path, ARTIFACTS / log_name)


@pytest.fixture(scope="session")
def lab(course, artifacts, tmp_path_factory, request) -> LabServer:
    """A running JupyterLab serving the scratch course; stopped after the session."""
    with serving(course.root, tmp_path_factory.mktemp("lab-home"), "jupyter-lab.log") as server:
        request.session._cnnviz_lab = server
        try:
            yield server
        finally:
            request.session._cnnviz_lab = None


# --------------------------------------------------------------------------- browser

def _chromium_problem() -> str | None:
    """Why the browser cannot start here, or None."""
    if not CHROMIUM.is_file():
        return (f"{CHROMIUM} not found: the end-to-end tests drive Debian's Chromium; "
                "install it with `apt-get install chromium` (as root), never with `playwright install`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing: `.venv/bin/pip install -e '.[test]'` (or `make install`)"
    return None


@pytest.fixture(scope="session")
def chromium_problem() -> str | None:
    """Why the end-to-end tests cannot drive a browser here (None: they can)."""
    return _chromium_problem()


@pytest.fixture(scope="session")
def browser(request):
    """Debian's headless Chromium under Playwright (a failure, not a skip, when it is missing)."""
    problem = _chromium_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        request.session._cnnviz_browser = chromium
        try:
            yield chromium
        finally:
            request.session._cnnviz_browser = None
            chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for the screenshots and the server log (git-ignored), emptied once per session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request):
    """After a failed test, a screenshot of every open page: FAILED-<test>-<n>.png."""
    yield
    report = getattr(request.node, "_cnnviz_call_report", None)
    browser = request.session.__dict__.get("_cnnviz_browser")
    if report is None or not report.failed or browser is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = [page for context in browser.contexts for page in context.pages]
    for n, page in enumerate(pages):
        try:
            page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}-{n}.png", timeout=10_000)
        except Exception:  # the page may be gone; the screenshot is only a help
            pass


@pytest.fixture
def new_page(browser, request):
    """Factory of fresh pages (own context: cookies, storage) closed after the test.

    A failed test leaves a screenshot of each of them first.
    """
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context.new_page()

    yield make
    report = getattr(request.node, "_cnnviz_call_report", None)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for n, context in enumerate(contexts):
        if report is not None and report.failed:
            for page in context.pages:
                try:
                    page.screenshot(path=ARTIFACTS / f"FAILED-{request.node.name}-page{n}.png", timeout=10_000)
                except Exception:
                    pass
        context.close()
