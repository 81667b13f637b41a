"""Tooling for the nbgrader course "Visualizing convolutional neural networks".

Modules, one concern each:

- ``cnnviz.data``      places Fashion-MNIST in Keras' cache, offline, and checks it;
- ``cnnviz.training``  trains the course checkpoint ``best-cnn-model.keras``;
- ``cnnviz.checks``    value and figure checks called by the notebook's test cells;
- ``cnnviz.grading``   the instructor pipeline on top of nbgrader's commands;
- ``cnnviz.cli``       the ``python -m cnnviz`` command line.
"""

from .settings import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT  # noqa: F401 - the names every module uses


class CourseError(Exception):
    """A problem the user can fix; the command line prints it as one message."""
