"""What every account on the hub shares: Fashion-MNIST's cache and nbgrader's exchange.

Fashion-MNIST goes in ``/srv/cnnviz-hub/keras`` (world-readable), and every
account's ``~/.keras/datasets/fashion-mnist`` points there, so ``load_data()``
works offline for everybody. The exchange, ``/srv/nbgrader/exchange``, is
writable by everyone, as nbgrader's documentation sets it up (its
``course_id`` and ``Exchange.root`` are in the users' environment's nbgrader
config: ``cnnviz.deploy.hub_environment``).
"""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

from cnnviz import settings
from cnnviz.deploy import hub_site

KERAS_HOME = hub_site.SYSTEM / "keras"


def ensure_data() -> Path:
    """Fashion-MNIST in a cache every user can read, linked from every account's Keras folder."""
    cache = KERAS_HOME / "datasets" / "fashion-mnist"
    env = {**os.environ, settings.KERAS_HOME_VARIABLE: str(KERAS_HOME)}
    hub_site.run(sys.executable, "-m", "cnnviz", "data", env=env)
    hub_site.run("chmod", "-R", "a+rX", str(KERAS_HOME))
    for name in hub_site.users():
        entry = pwd.getpwnam(name)
        datasets = Path(entry.pw_dir) / ".keras" / "datasets"
        datasets.mkdir(parents=True, exist_ok=True)
        link = datasets / "fashion-mnist"
        if link.is_symlink() or not link.exists():
            if link.is_symlink():
                link.unlink()
            link.symlink_to(cache)
        for folder in (datasets.parent, datasets):
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.lchown(link, entry.pw_uid, entry.pw_gid)
    return cache


def ensure_exchange() -> Path:
    """nbgrader's exchange in a system folder, writable by everyone (nbgrader's documented setup)."""
    exchange = hub_site.EXCHANGE
    exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(exchange.parent, 0o755)
    os.chmod(exchange, 0o777)
    return exchange
