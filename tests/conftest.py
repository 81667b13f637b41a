"""Settings every test needs, applied before anything imports TensorFlow or matplotlib.

Subprocesses started by the tests inherit them too.
"""

import os

from cnnviz import settings

# TensorFlow's C++ start-up chatter hides what the tests print.
for _name, _value in settings.command_env().items():
    os.environ.setdefault(_name, _value)
# No test may open a window: matplotlib reads MPLBACKEND when it is first imported.
os.environ["MPLBACKEND"] = settings.BATCH_BACKEND
# As in the course's commands: nbformat without jsonschema's unused RFC 3987 grammar.
settings.skip_unused_slow_modules()


import gc  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

# --------------------------------------------------------------------------- garbage collection

# TensorFlow, Keras, matplotlib and nbgrader leave millions of long-lived objects, and every
# full collection walks them all again: about a quarter of the CPU of test_checks and
# test_lesson, and 1.3 s of each process's exit (its last collections). Frozen (gc.freeze),
# they are skipped; they are still freed by reference counting, and nothing a test asserts
# depends on when a cycle is collected.
_modules_when_frozen = 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a test: if libraries were imported since the last freeze, collect, then freeze what is left."""
    global _modules_when_frozen
    if len(sys.modules) > _modules_when_frozen + 100:
        gc.collect()
        gc.freeze()
        _modules_when_frozen = len(sys.modules)


def pytest_unconfigure(config):
    """The run is over: no last collections over everything at exit."""
    gc.freeze()


@pytest.fixture
def toy_course(tmp_path):
    """A course with the real config and a two-step notebook without TensorFlow (tests/toycourse.py)."""
    from toycourse import make_toy_course

    return make_toy_course(tmp_path)


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory):
    """An empty nbgrader gradebook file, made once.

    nbgrader stamps a new gradebook with its newest migration, which it asks a separate
    `alembic heads` process for (about 6 s of CPU: it imports all of nbgrader again); here
    alembic reads the same migration scripts in this process. The slow tests' courses make
    their gradebooks the real way. Under pytest-xdist (`make test`) the workers share one
    file: the first makes it, the others wait on a lock in the run's folder, which they share.
    """
    import fcntl

    from alembic.script import ScriptDirectory
    from nbgrader import api, dbutil

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder; each worker's own is a folder inside it
    path = shared / "empty-gradebook.db"
    with open(shared / "empty-gradebook.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            making = path.with_suffix(".part")
            making.unlink(missing_ok=True)  # left by a worker that died making it
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(api, "get_alembic_version",
                              lambda: ScriptDirectory(dbutil.ALEMBIC_DIR).get_current_head())
                with api.Gradebook(f"sqlite:///{making}"):
                    pass
            making.rename(path)
    return path


@pytest.fixture
def gradebook_url(empty_gradebook, tmp_path):
    """The URL of a new, empty gradebook of this test's own (a copy of the one made once)."""
    import shutil

    copy = tmp_path / "gradebook.db"
    shutil.copy(empty_gradebook, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="module")
def keras():
    """Keras, seeded, for the tests that build small layers and models."""
    import keras

    keras.utils.set_random_seed(0)
    return keras


@pytest.fixture(scope="module")
def cnn(keras):
    """A small CNN shaped like the lesson's: conv, pool, conv, on 28 x 28 x 1 inputs."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
    ])
