"""Tooling for the nbgrader course "Visualizing convolutional neural networks".

Modules, one concern each (the README's layout table lists the same):

- ``settings``         the course's names, numbers and environment variables, each named once;
- ``data``             places Fashion-MNIST in Keras' cache, offline, and checks it;
- ``training``         trains and measures the course checkpoint ``best-cnn-model.keras``;
- ``facts``            a student's values reduced to plain data (numbers, arrays, figures, models);
- ``checks``           generic checks on facts: values, arrays, image grids, histograms, models;
- ``lesson``           the lesson's 20 graded steps, their visible and hidden checks;
- ``reference``        expected values recomputed from the checkpoint and data files;
- ``notebooks``        notebook files read and checked once, nbgrader cells by grade_id;
- ``nbrun``            running nbgrader: its environment, one subprocess helper, why it failed;
- ``failures``         why a submission was not graded, as a record (kind, student, cell, reason) across processes;
- ``pipeline``         the course folders and nbgrader's steps: release, solutions, feedback, export, scratch courses;
- ``classgrade``       the class driver every command grades with: one nbgrader per student, locks, journal, Dask;
- ``spotcheck``        one notebook graded outside any class (``cnnviz grade``, the catalogue tests);
- ``catalogue``        the right and wrong submissions of ``tests/submissions/catalogue.toml``;
- ``demo``             ``make demo``: the instructor's loop on a demo class in a scratch course;
- ``intake``           a submission reduced to its notebook before nbgrader copies it;
- ``jail``             the grading jail every student kernel runs in;
- ``trusted``          scoring outside the kernel: hidden tests out, facts in, verdicts;
- ``guard``            lines of student code flagged for an instructor's review;
- ``nbgrader_plugins`` the jailed Execute and the review flag as nbgrader preprocessors;
- ``feedback``         the feedback page: steps by name, messages, figures;
- ``export``           grades per step as CSV (an nbgrader export plugin);
- ``exchange``         nbgrader's exchange, feedback released one student at a time;
- ``lab``              ``make lab``: the instructor's JupyterLab;
- ``hub``              ``make hub``: a JupyterHub for the class;
- ``student_package``  the students' wheel and hand-out folder (visible checks only);
- ``cli``              the ``python -m cnnviz`` command line;
- ``grading``          former home of the pipeline, kept only for ``update`` (in progress).
"""

from .settings import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT  # noqa: F401 - the names every module uses


class CourseError(Exception):
    """A problem the user can fix; the command line prints it as one message."""
