"""``make hub`` / ``make hub-stop``: a real JupyterHub on 127.0.0.1 for the course.

The reference setup is nbgrader's own demo "one class, one grader": one hub,
one instructor account with the formgrader, student accounts with the
Assignments tab, and nbgrader's exchange in a system folder. ``make hub``
(``python -m cnnviz hub start``), run as root, does every step, each in its own
module of ``cnnviz.deploy``, and is idempotent (a second run changes nothing
and says the hub is running):

1. **Accounts** (``hub_accounts``). Local Linux users ``instructor`` and
   ``student1`` … ``studentN`` (``CNNVIZ_HUB_STUDENTS``, default 2) or the
   roster's, homes 0700; each gets a password, printed, kept in
   ``hub/state/accounts.json`` (root only) and set again on every run.
   JupyterHub logs them in with PAM.
2. **The users' environment** ``/srv/cnnviz-hub/env`` (``hub_environment``): a
   virtual environment of the very interpreter ``.venv`` runs (``hub_python``:
   copied to ``/srv/cnnviz-hub/python`` when users cannot run it where it is)
   with ``requirements.lock``, minus the course's own package, plus the
   ``cnnviz-student`` wheel; ``pip check`` clean. What each account's
   JupyterLab shows (``hub_jupyterlab``): students' has the Assignments tab
   ("no feedback yet" in words) and Validate, and neither the formgrader nor
   Create Assignment.
3. **Data and exchange** (``hub_shared``): Fashion-MNIST in
   ``/srv/cnnviz-hub/keras``, linked from every account's Keras folder; the
   exchange ``/srv/nbgrader/exchange``, writable by everyone.
4. **The course** for the instructor in ``/home/instructor/course``
   (``hub_course``): this course's ``nbgrader_config.py``, ``source/`` and the
   full ``cnnviz`` package, the assignment generated; the course repository
   itself is made unreadable for other users (its ``source/`` holds the
   hidden tests).
5. **JupyterHub** (``hub_process``) with ``configurable-http-proxy`` from
   npm, its state in ``hub/state/`` (git-ignored), configured by
   ``hub/jupyterhub_config.py`` (``hub_config``): the instructor's JupyterLab
   opens the course with the formgrader, which JupyterLab may frame
   (``hub_formgrader``), and its terminals open in the course.

The folders, ports and accounts' names they share are ``hub_site``'s.
``make hub-stop`` stops the hub, its proxy and every user's server.
"""

from __future__ import annotations

import os

from cnnviz import CourseError
from cnnviz.deploy import (hub_accounts, hub_course, hub_environment, hub_jupyterlab, hub_process, hub_shared,
                           hub_site)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise CourseError("`make hub` creates Linux accounts and folders under /srv: run it as root "
                          "(sudo make hub)")


def up() -> list[hub_accounts.Account]:
    """``make hub``: every step above, then the hub; prints the address and the accounts."""
    _require_root()
    hub_site.STATE.mkdir(parents=True, exist_ok=True)
    accounts = hub_accounts.ensure_accounts()
    hub_environment.ensure_environment()
    hub_jupyterlab.ensure_lab_settings()
    hub_jupyterlab.ensure_student_config()
    hub_shared.ensure_data()
    hub_shared.ensure_exchange()
    hub_course.make_repository_private()
    hub_course.ensure_course()
    hub_process.ensure_proxy()
    started = hub_process.start_hub()
    print(f"[hub] JupyterHub {'started' if started else 'already running'} at {hub_site.url()} "
          f"(log: {hub_process.LOG_FILE}; stop it with `make hub-stop`)")
    for account in accounts:
        print(f"[hub]   {account.role:<10} {account.name:<10} password {account.password}")
    print(f"[hub] the passwords are kept in {hub_accounts.ACCOUNTS} (root only); students keep theirs across runs")
    print(f"[hub] exchange {hub_site.EXCHANGE}; the instructor's course {hub_site.instructor_course()}")
    return accounts


def down() -> None:
    """``make hub-stop``."""
    _require_root()
    print("[hub] stopped" if hub_process.stop_hub() else "[hub] not running")
