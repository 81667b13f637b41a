"""The course's names, numbers and environment variables, each named once.

Everything else reads them from here: ``nbgrader_config.py`` (the course id and
the gradebook), the command line, the class grader, the jail's environment
allow-list, the hub, the tests. Only the standard library is imported, so that
``nbgrader_config.py`` and the students' package (which ships this module) can
read it cheaply.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# --------------------------------------------------------------------------- the course

# The course root: the folder that holds ``nbgrader_config.py``, ``source/`` and this
# package. Every ``python -m cnnviz`` command works on it unless ``--course-dir`` names another.
COURSE_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "cnnviz"
ASSIGNMENT = "cnn_visualization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
# The trained CNN students load, shipped beside the notebook (``source/<assignment>/``).
CHECKPOINT_NAME = "best-cnn-model.keras"

# The time zone due dates are given and shown in (``python -m cnnviz duedate``, the notice in the
# released notebook); the gradebook keeps them in UTC, as nbgrader does.
COURSE_TIMEZONE = "Asia/Seoul"

# --------------------------------------------------------------------------- the checkpoint's bars

# The textbook's own checkpoint scores exactly this on the 10 000 Fashion-MNIST test images.
ACCURACY_BAR = 0.9125
# The lesson's comparison step (test_compare) says a trained first-layer kernel is spread
# clearly wider than an untrained one: its std over the Glorot-uniform std must exceed this.
SPREAD_BAR = 1.5

# --------------------------------------------------------------------------- the gradebook

# nbgrader's own variable for the gradebook's URL (PostgreSQL for several graders).
DB_URL_VARIABLE = "NBGRADER_DB_URL"
GRADEBOOK_FILE = "gradebook.db"
# SQLite's busy timeout, so that parallel graders wait for each other's short writes.
SQLITE_TIMEOUT_SECONDS = 60


def db_url(root: Path = COURSE_ROOT) -> str:
    """The gradebook URL of the course in ``root``: ``$NBGRADER_DB_URL``, else its SQLite file.

    ``nbgrader_config.py`` sets ``CourseDirectory.db_url`` to exactly this.
    """
    return (db_url_override()
            or f"sqlite:///{Path(root) / GRADEBOOK_FILE}?timeout={SQLITE_TIMEOUT_SECONDS}")


# --------------------------------------------------------------------------- class grading

# Memory one grader needs at its peak: the notebook's kernel (TensorFlow, the
# checkpoint, the figures) peaks near 800 MB RSS, nbgrader itself near 150 MB;
# the rest is headroom. `benchmarks/autograde_throughput.py` measures the peak.
MEMORY_PER_WORKER_MB = 1200
# Environment the class grader hands to every task, so that Dask workers started with
# a different environment grade into the same gradebook with the same settings.
PASSED_ENV_PREFIXES = ("CNNVIZ_", "NBGRADER_")
PASSED_ENV_NAMES = ("TF_CPP_MIN_LOG_LEVEL",)
# The file an `nbgrader autograde` child appends its failure records to (cnnviz/grading/failures.py);
# set by the class driver for that child alone.
FAILURES_FILE_VARIABLE = "CNNVIZ_FAILURES_FILE"


def passed_env() -> dict[str, str]:
    """This process's variables named by ``PASSED_ENV_PREFIXES`` / ``PASSED_ENV_NAMES``, read now."""
    return {key: value for key, value in os.environ.items()
            if (key.startswith(PASSED_ENV_PREFIXES) or key in PASSED_ENV_NAMES)
            and key != FAILURES_FILE_VARIABLE}  # each nbgrader child gets a file of its own

# --------------------------------------------------------------------------- environment

# TensorFlow's C++ log lines (oneDNN, CUDA probing, absl) bypass Python's logging.
# The course's commands and tests keep its errors (level 2); kernels whose output
# lands in notebooks and feedback keep nothing (level 3).
TF_LOG_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
TF_LOG_LEVEL_COMMANDS = "2"
TF_LOG_LEVEL_KERNELS = "3"
# matplotlib: batch jobs draw off-screen; notebook kernels draw inline PNGs (what nbgrader keeps).
BATCH_BACKEND = "Agg"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

# Keras' home folder (its Fashion-MNIST cache is ``datasets/fashion-mnist`` inside it).
KERAS_HOME_VARIABLE = "KERAS_HOME"
KERAS_HOME_DEFAULT = os.path.join("~", ".keras")


# jsonschema compiles an RFC 3987 grammar when it is imported (1 to 4 s of every process that
# reads a notebook, on a busy 2-core machine), for its "iri" format checks, which nothing
# nbformat or nbgrader validates asks for. The course's processes (its commands, the nbgrader
# processes they start, the tests) leave it out; jsonschema then skips those checks.
UNUSED_SLOW_MODULES = ("rfc3987_syntax",)


def failures_file() -> str | None:
    """Where this nbgrader process appends its failure records, if its starter reads them."""
    return os.environ.get(FAILURES_FILE_VARIABLE) or None


def skip_unused_slow_modules() -> None:
    """Keep the modules of ``UNUSED_SLOW_MODULES`` out of this process (call before jsonschema is imported)."""
    for name in UNUSED_SLOW_MODULES:
        sys.modules.setdefault(name, None)


def command_env() -> dict[str, str]:
    """Defaults for the course's own commands and tests (``setdefault`` them)."""
    return {TF_LOG_VARIABLE: TF_LOG_LEVEL_COMMANDS, "MPLBACKEND": BATCH_BACKEND}


def kernel_env() -> dict[str, str]:
    """What every notebook kernel needs (grading, the lab, the hub): quiet TensorFlow, inline figures."""
    return {TF_LOG_VARIABLE: TF_LOG_LEVEL_KERNELS, "MPLBACKEND": INLINE_BACKEND}


def keras_cache_dir() -> Path:
    """The folder where ``keras.datasets.fashion_mnist.load_data()`` looks first."""
    home = os.environ.get(KERAS_HOME_VARIABLE) or KERAS_HOME_DEFAULT
    # Keras expands "~" in KERAS_HOME (keras.utils.get_file), so must we.
    return Path(home).expanduser() / "datasets" / "fashion-mnist"


# --------------------------------------------------------------------------- the course's own variables

# Read at call time, not at import: tests and users set them while a process runs.

CACHE_VARIABLE = "CNNVIZ_CACHE"


def cache_dir() -> Path:
    """Where computed references are kept: ``$CNNVIZ_CACHE`` or ``~/.cache/cnnviz``."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "cnnviz")


FASHION_MNIST_VARIABLE = "FASHION_MNIST_DIR"


def fashion_mnist_dir() -> str | None:
    """``$FASHION_MNIST_DIR`` as given (a folder of the four official .gz files), or None when unset or empty."""
    return os.environ.get(FASHION_MNIST_VARIABLE) or None


# ``make hub``: its system folders, its port, its accounts.
HUB_SYSTEM_VARIABLE = "CNNVIZ_HUB_SYSTEM"
HUB_SYSTEM_DEFAULT = "/srv/cnnviz-hub"
HUB_EXCHANGE_VARIABLE = "CNNVIZ_HUB_EXCHANGE"
HUB_EXCHANGE_DEFAULT = "/srv/nbgrader/exchange"
HUB_PORT_VARIABLE = "CNNVIZ_HUB_PORT"
HUB_PORT_DEFAULT = "8000"
HUB_STUDENTS_VARIABLE = "CNNVIZ_HUB_STUDENTS"
HUB_STUDENTS_DEFAULT = "2"
HUB_ROSTER_VARIABLE = "CNNVIZ_HUB_ROSTER"


def hub_system_dir() -> Path:
    """The hub's system folder (the users' environment, the shared Keras cache): ``$CNNVIZ_HUB_SYSTEM``."""
    return Path(os.environ.get(HUB_SYSTEM_VARIABLE, HUB_SYSTEM_DEFAULT))


def hub_exchange_dir() -> Path:
    """nbgrader's exchange for the hub: ``$CNNVIZ_HUB_EXCHANGE``."""
    return Path(os.environ.get(HUB_EXCHANGE_VARIABLE, HUB_EXCHANGE_DEFAULT))


def hub_port_text() -> str:
    """``$CNNVIZ_HUB_PORT`` as given, else the default (``cnnviz.deploy.hub_site.port`` makes it a number)."""
    return os.environ.get(HUB_PORT_VARIABLE, HUB_PORT_DEFAULT)


def hub_students_text() -> str:
    """``$CNNVIZ_HUB_STUDENTS`` as given, else the default (``cnnviz.deploy.hub_site.students`` checks it)."""
    return os.environ.get(HUB_STUDENTS_VARIABLE, HUB_STUDENTS_DEFAULT)


def hub_roster_file() -> Path | None:
    """The roster file ``$CNNVIZ_HUB_ROSTER`` names, or None when unset or empty."""
    named = os.environ.get(HUB_ROSTER_VARIABLE)
    return Path(named) if named else None


def nbgrader_execution() -> str | None:
    """nbgrader's own "this is autograding" flag (``NBGRADER_EXECUTION``), passed on to the kernel."""
    return os.environ.get("NBGRADER_EXECUTION") or None


def db_url_override() -> str | None:
    """``$NBGRADER_DB_URL`` when set and not empty: a gradebook URL that overrides the course's file."""
    return os.environ.get(DB_URL_VARIABLE) or None


# --------------------------------------------------------------------------- the servers' pages

def server_csp(frame_ancestors: str = "'self'") -> str:
    """The Content-Security-Policy of every page the course's Jupyter servers send (`make lab`, the hub's users).

    Measured in Chromium: JupyterLab needs ``'unsafe-eval'`` (its settings are
    checked with compiled JSON schemas) and blob: workers, and nbgrader's
    formgrader pages have inline scripts, so inline scripts cannot be refused
    here; the sanitiser (``cnnviz.grading.sanitize``) is what keeps students' scripts
    out of those pages. This policy adds what holds anyway: no script, frame,
    plugin, form target or connection from any other origin, so a script that
    ran could not load more code or send anything away.
    """
    return "; ".join([
        "default-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:", "font-src 'self' data:",
        "worker-src 'self' blob:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'",
        "form-action 'self'", f"frame-ancestors {frame_ancestors}",
    ])


def server_csp_option(frame_ancestors: str = "'self'") -> str:
    """``server_csp`` as a ``jupyter lab`` / ``jupyterhub-singleuser`` command-line option."""
    import json

    return "--ServerApp.tornado_settings=" + json.dumps({"headers": {"Content-Security-Policy":
                                                                     server_csp(frame_ancestors)}})
