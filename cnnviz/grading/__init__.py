"""Everything that decides points, in the grader's own process, on plain data.

Student code runs only in the jailed kernel these modules start (``jail``,
``kernel_template``, ``forkserver``, which runs inside the template's jail); what
comes back from it is facts, judged here (``trusted``, against ``reference``).
nbgrader finds its preprocessors, exporters and exchange here through the
course's ``nbgrader_config.py``.
"""
