"""Whether this Python may run the course: ``make`` runs this file before it creates ``.venv``.

The lock (``requirements.lock``) is resolved for CPython 3.11 on x86-64 Linux,
and ``pyproject.toml``'s ``requires-python`` says the same. Run as a script with
any Python (standard library only, old syntax on purpose): it exits 0 on a
supported one, else prints one line naming the version found and the fix, and
exits 2.
"""

import platform
import sys

SUPPORTED = (3, 11)  # pyproject.toml: requires-python = ">=3.11,<3.12" (tests/test_lock.py compares them)


def problem(version_info, implementation):
    """The one line that refuses this interpreter, or None when it is supported."""
    found = ".".join(str(part) for part in version_info[:3])
    if tuple(version_info[:2]) == SUPPORTED and implementation == "CPython":
        return None
    wanted = "{0}.{1}".format(*SUPPORTED)
    return ("error: {impl} {found} found ({exe}); the course runs on CPython {wanted}.x only "
            "(its lock is resolved for it): install python{wanted} (apt-get install python{wanted} "
            "python{wanted}-venv) and run `make PYTHON=python{wanted}` (remove .venv first if it was made "
            "with another Python)").format(impl=implementation, found=found, exe=sys.executable, wanted=wanted)


if __name__ == "__main__":
    line = problem(sys.version_info, platform.python_implementation())
    if line:
        print(line)
        sys.exit(2)
