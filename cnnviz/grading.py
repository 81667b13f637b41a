"""Former home of the instructor's pipeline, split by concern (``nbrun``, ``notebooks``,
``catalogue``, ``pipeline``, ``spotcheck``, ``classgrade``).

Kept only for ``cnnviz/update.py`` and its tests (work in progress), which read these two
names from here; new code imports them from ``cnnviz.nbrun`` and ``cnnviz.settings``.
"""

from .nbrun import run_nbgrader  # noqa: F401
from .settings import db_url  # noqa: F401
