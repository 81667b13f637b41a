"""``python -m cnnviz``: the course's command line (``cnnviz/course/cli.py``)."""

import sys

try:
    from cnnviz.course.cli import main
except ModuleNotFoundError as exc:
    if not (exc.name or "").startswith("cnnviz.course"):
        raise
    # The students' wheel and hand-out folder ship only the top level of the package.
    sys.exit("python -m cnnviz: this copy of cnnviz holds only the lesson's visible checks (the students' side); "
             "the course's commands come with the course's repository (make, or pip install -e .)")

sys.exit(main())
