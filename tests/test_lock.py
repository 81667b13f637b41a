"""requirements.lock against pyproject.toml's direct pins, and the installed environment against the lock.

No network: the lock is read as text. When a pin in pyproject.toml changes,
`make lock` writes the lock again; these tests fail until it has.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from cnnviz import COURSE_ROOT
from cnnviz.course import lock
from cnnviz.course.lock import LOCK_FILE as LOCK
from cnnviz.course.lock import entries as lock_entries
from cnnviz.course.lock import normalized


def direct_pins(pyproject: dict) -> dict[str, str]:
    """pyproject.toml's dependencies and the test and hub extras, as {name: version}."""
    project = pyproject["project"]
    requirements = list(project["dependencies"])
    for extra in ("test", "hub"):
        requirements += project["optional-dependencies"][extra]
    pins = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)", requirement.strip())
        assert match, f"pyproject.toml: {requirement!r} is not pinned as name==version"
        pins[normalized(match[1])] = match[2]
    return pins


def stale_pins(pins: dict[str, str], entries: dict[str, str]) -> list[str]:
    return [f"{name}=={version} (lock: {entries.get(name, 'missing')})"
            for name, version in sorted(pins.items()) if entries.get(name) != version]


def test_the_lock_holds_every_direct_pin_of_pyproject():
    pins = direct_pins(tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text()))
    stale = stale_pins(pins, lock_entries(LOCK.read_text()))
    assert not stale, f"requirements.lock is stale against pyproject.toml: {', '.join(stale)}; run `make lock`"


def test_a_changed_pin_is_caught():
    text = LOCK.read_text()
    pins = direct_pins(tomllib.loads((COURSE_ROOT / "pyproject.toml").read_text()))
    bumped = dict(pins, keras="99.0.0")
    assert stale_pins(bumped, lock_entries(text)) == ["keras==99.0.0 (lock: %s)" % pins["keras"]]
    assert stale_pins(dict(pins, **{"not-in-lock": "1.0"}), lock_entries(text)) == ["not-in-lock==1.0 (lock: missing)"]


def test_every_locked_package_has_hashes():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().strip())
    unhashed = [block.split()[0] for block in blocks if "--hash=sha256:" not in block]
    assert not unhashed, f"requirements.lock entries without hashes: {unhashed}; run `make lock`"
    assert len(blocks) == len(lock_entries(LOCK.read_text())) > 100  # transitive packages too


def test_the_installed_environment_is_the_lock():
    """What runs the tests (and what `make hub` links into the users' environment) is exactly the lock."""
    wrong = lock.differences()
    assert not wrong, f"{sys.prefix} differs from requirements.lock: {', '.join(wrong)}; run `make install`"


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
