"""Memory limit for the grading kernels.

`cnnviz.grading.nbgrader_env` puts this folder on PYTHONPATH of nbgrader and of
the kernels it starts, so Python imports this file at start-up. A submission
that allocates without bound then gets a MemoryError in its own cell, which
fails that cell only, instead of taking the grading machine down.
"""

import os
import resource

_limit_mb = os.environ.get("CNNVIZ_KERNEL_MEMORY_MB", "")
if _limit_mb.isdigit() and int(_limit_mb) > 0:
    _limit = int(_limit_mb) * 2**20
    # Address space, not resident memory: Linux does not enforce RLIMIT_RSS.
    resource.setrlimit(resource.RLIMIT_AS, (_limit, _limit))
