"""JupyterHub's configuration for the course: `make hub` starts JupyterHub with this file.

Every setting, and why, is in cnnviz/deploy/hub_config.py (`configure`); the hub's state
(database, cookie secret, proxy, log, accounts) lives in hub/state/, git-ignored.
"""

from cnnviz.deploy import hub_config

hub_config.configure(get_config())  # noqa: F821 - provided by JupyterHub when it reads this file
