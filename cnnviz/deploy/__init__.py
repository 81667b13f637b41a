"""Where the course runs: the class's JupyterHub, the instructor's ``make lab``, the students' package."""
