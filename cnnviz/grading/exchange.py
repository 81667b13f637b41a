"""nbgrader's exchange, with feedback released one student at a time.

nbgrader's own ``release_feedback`` stops the whole class at the first student
whose feedback folder lacks ``timestamp.txt`` or ``submission_secret.txt`` (a
submission copied by hand rather than collected, say), with a
``FileNotFoundError`` traceback, in the terminal and in the formgrader alike.
``ReleaseFeedbackPerStudent`` (named in ``nbgrader_config.py``) gives that
student one line and releases everybody else's feedback. When nothing at all
is released (no feedback generated yet, or every student's folder broken) it
fails with one line saying so, in the terminal (exit status 1) and in the
formgrader (an error, not "Successfully released feedback").
"""

from __future__ import annotations

import glob
import os
import re
import shutil

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import notebook_hash


class ReleaseFeedbackPerStudent(ExchangeReleaseFeedback):
    """``nbgrader release_feedback`` that goes on past a broken student, with one line for them."""

    def copy_files(self):
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        pattern = re.escape(os.path.sep).join([
            self.coursedir.format_path(self.coursedir.feedback_directory, "(?P<student_id>.*)",
                                       self.coursedir.assignment_id, escape=True),
            "(?P<notebook_id>.*).html",
        ])
        skipped, released = [], 0
        for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            match = re.match(pattern, html_file)
            if match is None:
                self.log.error("Could not match '%s' with regexp '%s'", html_file, pattern)
                continue
            student_id, notebook_id = match.group("student_id"), match.group("notebook_id")
            if student_id in excluded:
                continue
            folder = os.path.dirname(html_file)
            try:
                with open(os.path.join(folder, "timestamp.txt")) as handle:
                    timestamp = handle.read()
                with open(os.path.join(folder, "submission_secret.txt")) as handle:
                    secret = handle.read()
            except OSError as exc:
                self.log.error("Feedback not released for student '%s': %s is missing %s (the submission "
                               "was not collected with `nbgrader collect`); collect it again, or autograde "
                               "and generate its feedback again", student_id, folder, os.path.basename(exc.filename or ""))
                skipped.append(student_id)
                continue
            checksum = notebook_hash(secret=secret, notebook_id=notebook_id)
            temporary = os.path.join(self.dest_path, f"{checksum}-tmp.html")
            self.log.info("Releasing feedback for student '%s' on assignment '%s/%s/%s' (%s)", student_id,
                          self.coursedir.course_id, self.coursedir.assignment_id, notebook_id, timestamp)
            shutil.copy(html_file, temporary)
            # Copy, then move: a student fetching at this moment never reads half a file.
            shutil.move(temporary, os.path.join(self.dest_path, f"{checksum}.html"))
            released += 1
        if not released:
            who = f" for student '{self.coursedir.student_id}'" if self.coursedir.student_id not in ("", "*") else ""
            self.fail(f"No feedback released for '{self.coursedir.assignment_id}'{who}: "
                      + (f"the feedback of {', '.join(sorted(set(skipped)))} cannot be released (see above)"
                         if skipped else f"none generated in {self.src_path}; generate it first "
                         "(Generate Feedback in the formgrader, or `nbgrader generate_feedback`)"))
        if skipped:
            self.log.warning("Feedback released for everybody but %d student(s): %s",
                             len(set(skipped)), ", ".join(sorted(set(skipped))))
