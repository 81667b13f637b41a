"""``requirements.lock``: every package the course installs, with hashes (``make lock`` writes it).

Read as text, without the network: its ``name==version`` entries, its digest
(the hub's users' environment records it), and how an installed environment
differs from it.
"""

from __future__ import annotations

import hashlib
import re
import sysconfig
from importlib import metadata
from pathlib import Path

from cnnviz import COURSE_ROOT

LOCK_FILE = COURSE_ROOT / "requirements.lock"
# "name==version \" at the start of a line; its hashes and "# via" lines follow.
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(text: str | None = None) -> dict[str, str]:
    """The lock's packages, {normalized name: version}."""
    text = LOCK_FILE.read_text() if text is None else text
    return {normalized(name): version for name, version in _ENTRY.findall(text)}


def digest() -> str:
    """sha256 of the lock file."""
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()


def installed() -> dict[str, str]:
    """The distributions installed in the running environment's site-packages, {normalized name: version}.

    Only site-packages: once setuptools is imported, its vendored copies (an older
    importlib-metadata, ...) are on sys.path too, and they are not installed packages.
    """
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    return {normalized(d.metadata["Name"]): d.version for d in metadata.distributions(path=folders)}


def differences(found: dict[str, str] | None = None) -> list[str]:
    """How the running environment (or ``found``) differs from the lock: "name found (lock: version)"."""
    found = installed() if found is None else found
    return [f"{name} {found.get(name, 'missing')} (lock: {version})"
            for name, version in sorted(entries().items()) if found.get(name) != version]
