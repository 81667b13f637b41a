"""JupyterHub's configuration for the course: ``hub/jupyterhub_config.py`` calls ``configure``.

The hub listens on 127.0.0.1 only, logs the course's accounts in with PAM, and
starts each account's server from the users' environment, in its own folder
(the instructor's in the course), with nothing of root's environment. Students'
servers search the student config first (``cnnviz.deploy.hub_jupyterlab``).
Every server sends the course's Content-Security-Policy.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from cnnviz import settings
from cnnviz.deploy import hub_jupyterlab, hub_process, hub_site


def _pre_spawn(spawner) -> None:
    """Each account's server: its folder, its environment; students without the course's internals."""
    name = spawner.user.name
    home = Path(pwd.getpwnam(name).pw_dir)
    env = hub_site.account_env(name)
    if name == hub_site.INSTRUCTOR:
        spawner.notebook_dir = str(hub_site.instructor_course())
    else:
        spawner.notebook_dir = str(home)
        # Before the environment's own config in Jupyter's search path; their settings and
        # workspaces stay in their own ~/.jupyter.
        env["JUPYTER_CONFIG_PATH"] = str(hub_jupyterlab.STUDENT_CONFIG)
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
    state = hub_site.STATE
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = hub_site.port()
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = hub_site.ports()["hub"]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub_site.ports()['proxy API']}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True  # `make hub-stop` stops every user's server too
    c.ConfigurableHTTPProxy.command = [str(hub_process.PROXY_COMMAND)]
    c.ConfigurableHTTPProxy.pid_file = str(hub_process.PROXY_PID_FILE)
    c.JupyterHub.authenticator_class = "pam"
    c.Authenticator.allowed_users = set(hub_site.users())
    c.JupyterHub.spawner_class = course_spawner_class()
    c.Spawner.cmd = [str(hub_site.ENV / "bin" / "python"), "-m", "jupyterhub.singleuser"]
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
