"""Tooling for the nbgrader course "Visualizing convolutional neural networks".

The layout is the trust boundary (the README's layout table lists every module):

- this top level is the student side, exactly what the student's kernel may import, and what the
  students' wheel and hand-out folder ship: ``settings`` (names and numbers, environment
  variables), ``lesson`` (what the test cells call: running the steps), ``lesson_steps`` (the 20
  steps), ``step_registry`` and ``carry_forward`` (what a step is; error carried forward), the
  generic checks on facts ``checks``, ``figure_checks`` and ``keras_checks``, a failed check
  (``check_failed``) and its message (``message_layout``, ``korean``), ``facts`` (the records of a
  student's values as plain data), ``introspect`` (live objects read into them) and
  ``fact_codec`` (their text between the kernel and the grader). Nothing here imports from below.
- ``cnnviz.grading``: everything that decides points, outside the student's kernel (references,
  trusted checks, the jail and its kernel template, intake, the review scan, nbgrader's
  preprocessors, exporters and exchange, the warm grader process);
- ``cnnviz.course``: what runs the course (the command line, class grading, the pipeline,
  updates, the demo, data and training, rosters and the LMS);
- ``cnnviz.deploy``: where the course runs (the hub, ``make lab``, the students' package).
"""

from cnnviz.settings import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT  # noqa: F401 - the names every module uses


class CourseError(Exception):
    """A problem the user can fix; the command line prints it as one message."""
