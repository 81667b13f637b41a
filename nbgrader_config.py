"""nbgrader settings for the course "Visualizing convolutional neural networks".

Each setting is here for a reason given beside it; everything else is
nbgrader's default.
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by nbgrader when it reads this file

# The one side effect of this file: the course's own `cnnviz` package (the folder beside
# this file) comes first on sys.path. nbgrader may run with a Python where it is not
# installed, or where only the students' `cnnviz-student` wheel is (the hub's users'
# Python), which lacks the grading modules named below. A copy of this file in a scratch
# course (`cnnviz grade`, `make demo`, the tests) finds the package through PYTHONPATH.
_course_root = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(_course_root, "cnnviz")) and _course_root not in sys.path:
    sys.path.insert(0, _course_root)

# Fail closed. nbgrader logs an Exception raised by this file and goes on without the file:
# with its stock Execute, the students' code would run outside the jail. So every module of the
# course this file names is imported here first, and if one cannot be, nbgrader stops, with
# one line naming the problem and the fix (SystemExit is no Exception: nbgrader does not catch it).
try:
    import cnnviz.grading.deadlines  # noqa: E402,F401 - each one named below
    import cnnviz.grading.exchange  # noqa: E402,F401
    import cnnviz.grading.export  # noqa: E402,F401
    import cnnviz.grading.feedback  # noqa: E402,F401
    import cnnviz.grading.flag_for_review  # noqa: E402,F401
    import cnnviz.grading.html_allowlist  # noqa: E402,F401
    import cnnviz.grading.inert_markdown  # noqa: E402,F401
    import cnnviz.grading.intake  # noqa: E402,F401
    import cnnviz.grading.jail_policy  # noqa: E402,F401
    import cnnviz.grading.jailed_execute  # noqa: E402,F401
    import cnnviz.grading.jailed_kernel_manager  # noqa: E402,F401 - c.JailedKernelManager
    import cnnviz.grading.match_release  # noqa: E402,F401
    import cnnviz.grading.restore_hidden_tests  # noqa: E402,F401
    import cnnviz.grading.sanitize  # noqa: E402,F401
    import cnnviz.grading.short_tracebacks  # noqa: E402,F401
    import cnnviz.grading.trusted  # noqa: E402,F401
except Exception as _missing:  # noqa: BLE001 - whatever stops the course's package from loading
    raise SystemExit(f"{__file__}: the course's package cannot be imported ({type(_missing).__name__}: "
                     f"{_missing}); nothing is graded without its jail: run nbgrader with the course's "
                     "Python, .venv/bin/python -m nbgrader") from None

from cnnviz import settings  # noqa: E402 - the course's names and numbers (cnnviz/settings.py)

c.CourseDirectory.course_id = settings.COURSE_ID
c.CourseDirectory.solution_directory = "solutions"

# Gradebook: an SQLite file in the course root, as nbgrader's default, but with a
# 60 s busy timeout so that parallel graders (`python -m cnnviz autograde`) wait
# for each other's short writes instead of failing with "database is locked".
# For graders on several machines, use PostgreSQL: set NBGRADER_DB_URL, e.g.
# NBGRADER_DB_URL=postgresql://grader:secret@127.0.0.1/cnnviz (see README).
c.CourseDirectory.db_url = settings.db_url(_course_root)

# The checkpoint students load (about 1 MB) must travel with the release; a
# student's stray 10 MB file should not travel into the gradebook's folders.
c.CourseDirectory.max_file_size = 10000  # kilobytes

# Importing TensorFlow takes ~4 s and the first cell also loads the checkpoint;
# 30 s (the default) leaves no room on a loaded 2-core grader. A cell that never
# finishes is still interrupted after this long, and the other cells are graded.
c.Execute.timeout = 120
# Starting a kernel takes a few seconds, but on a grader busy with parallel
# workers it can pass nbclient's 60 s default and fail a whole submission.
c.Execute.startup_timeout = 180

# TensorFlow writes C++ log lines to stderr (oneDNN, CUDA probing, absl); they are
# noise in graded notebooks and feedback.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?m)(oneDNN custom operations|cuda|absl::InitializeLog|^[IWE]\d{4} )"

# Feedback stays readable if a student prints a whole array or loops forever printing.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 30

# A submission whose graded cells were deleted is graded with the instructor's
# copies put back, instead of failing the whole notebook.
c.OverwriteCells.add_missing_cells = True

# What students see in each answer cell of the release.
c.ClearSolutions.code_stub = {
    "python": "# 여기에 코드를 작성하세요. / YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "여기에 답을 쓰세요. / YOUR ANSWER HERE"

# Feedback: students see each failed check's message, but neither the hidden
# tests' code (ClearHiddenTests) nor tracebacks quoting it (ShortTracebacks).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

from cnnviz.grading.short_tracebacks import ShortTracebacks  # noqa: E402

from cnnviz.grading import feedback  # noqa: E402

# Steps named in the page's summary, messages that wrap, figures that fit, formulas drawn
# without internet (cnnviz/grading/feedback.py).
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ShortTracebacks, feedback.StepTitles,
                                    feedback.MathToMathML, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = feedback.FeedbackExporter
c.FeedbackExporter.template_name = feedback.TEMPLATE_NAME
c.FeedbackExporter.template_file = feedback.TEMPLATE_FILE
c.FeedbackExporter.extra_template_basedirs = [feedback.nbgrader_templates(), str(feedback.TEMPLATES)]

# `nbgrader export` writes grades.csv with nbgrader's columns, but quoted by the csv module and with
# no cell starting a spreadsheet formula (names and ids come from students; cnnviz/grading/export.py).
c.ExportApp.plugin_class = "cnnviz.grading.export.SafeCsvExport"

# Releasing feedback goes on past a student whose feedback folder is incomplete (one line for
# them) instead of stopping the whole class with a traceback (cnnviz/grading/exchange.py).
c.ExchangeFactory.release_feedback = "cnnviz.grading.exchange.ReleaseFeedbackPerStudent"

# Autograding runs each submission's kernel in the grading jail (cnnviz/grading/jail.py): an
# unprivileged uid without capabilities, its own namespaces and no network, nothing of
# the course but the assignment's files, a cgroup for the whole process tree. However
# grading starts (nbgrader, the formgrader, `python -m cnnviz ...`), these limits hold.
# One honest kernel peaks near 800 MB; TensorFlow reserves several GiB of address space.
# The tree's cap stays above one process's address space plus both tmpfs, so a runaway
# allocation is a MemoryError in its own cell; only a bomb over many processes or files is killed.
# The numbers are the jail's defaults, kept once in cnnviz/grading/jail_policy.py (class Limits, with why each is
# what it is); `python -m cnnviz jail-check` prints the ones a kernel gets. To change one for this
# course, put a number here instead, e.g. `c.JailedKernelManager.memory_limit_mb = 4096`.
from cnnviz.grading.jail_policy import Limits  # noqa: E402

_jail = Limits()
c.JailedKernelManager.memory_limit_mb = _jail.memory_mb  # the kernel's whole process tree, tmpfs included
c.JailedKernelManager.address_space_limit_mb = _jail.address_space_mb  # per process: a runaway allocation fails its cell
c.JailedKernelManager.process_limit = _jail.processes  # processes and threads
c.JailedKernelManager.cpu_limit = _jail.cpus  # cores
c.JailedKernelManager.home_size_mb = _jail.home_mb  # its only writable folders: home and /tmp
c.JailedKernelManager.tmp_size_mb = _jail.tmp_mb
c.JailedKernelManager.file_size_limit_mb = _jail.file_mb  # largest file a kernel writes
# Intake (cnnviz/grading/intake.py): before nbgrader copies a submission (following links, as the
# grader), it is reduced to its notebook and the assignment's files; links, devices, FIFOs,
# extra or oversized files go to quarantine/ in the course root, with one line per student.
c.Autograde.pre_convert_hook = "cnnviz.grading.intake.reduce_submission"
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades,
)

from cnnviz.grading.flag_for_review import FlagForReview  # noqa: E402
from cnnviz.grading.jailed_execute import JailedExecute  # noqa: E402

# FlagForReview (cnnviz/grading/guard.py), after the grades are saved: lines of a student's own code
# that reach for the grader (frames, sys.modules, exec, processes, secrets, ...) are named in
# the formgrader for an instructor's review; it never changes a score.
# PrepareJailRun and TrustedChecks (cnnviz/grading/trusted.py): the hidden tests never enter the
# kernel; each test cell hands its values over as plain data, and its points come only from
# the lesson's checks (cnnviz/lesson_steps.py) run here, in nbgrader's own process.
from cnnviz.grading.trusted import PrepareJailRun, TrustedChecks  # noqa: E402

# MatchRelease (cnnviz/grading/match_release.py), before nbgrader's OverwriteCells: a submission made
# against an older release (the assignment changed with `python -m cnnviz update-assignment`)
# is graded against the current one, or refused with one line naming both releases.
from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteKernelspec  # noqa: E402

from cnnviz.grading.match_release import MatchRelease  # noqa: E402

# RestoreHiddenTests (cnnviz/grading/restore_hidden_tests.py) is nbgrader's OverwriteCells, without its
# "checksum has changed!" warning for every test cell that is exactly as released (released
# without its hidden tests, by nbgrader's design); a cell really edited is still reported.
from cnnviz.grading.restore_hidden_tests import RestoreHiddenTests  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, MatchRelease, RestoreHiddenTests, CheckCellMetadata,
]
# SanitizeSubmission (cnnviz/grading/sanitize.py), right after the verdicts: everything the student's
# notebook shows (outputs of every MIME type, markdown and raw cells, error texts, metadata) is
# reduced by an allow-list to text, tables, formulas and PNG/JPEG figures, so no script in it runs
# in the browser of whoever opens it later. The verdicts pass unchanged; scores are untouched.
from cnnviz.grading.sanitize import SanitizeSubmission  # noqa: E402

c.Autograde.autograde_preprocessors = [
    PrepareJailRun, JailedExecute, TrustedChecks, SanitizeSubmission, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, FlagForReview, AssignLatePenalties, CheckCellMetadata,
]

# Deadlines (cnnviz/grading/deadlines.py). The due date lives in the gradebook (`python -m cnnviz duedate
# "2026-12-10 23:59" --timezone Asia/Seoul`), extensions too (`python -m cnnviz extension STUDENT
# --days 2`, nbgrader's own SubmittedAssignment.extension). AssignLatePenalties, in the autograde
# chain above, asks LatePolicy for each late notebook's penalty: 10 % of the points earned per
# started day late, at most 50 %, and nothing from 7 days late on. Change the three numbers here;
# DeadlineNotice shows the due date and this rule at the top of the released notebook (nothing
# without a due date), so regenerate the release after changing either.
from cnnviz.grading.deadlines import DeadlineNotice, LatePolicy  # noqa: E402

c.AssignLatePenalties.plugin_class = LatePolicy
c.LatePolicy.percent_per_day = 10.0
c.LatePolicy.max_percent = 50.0
c.LatePolicy.cutoff_days = 7.0

from nbgrader.preprocessors import (  # noqa: E402
    ClearMarkScheme, ClearSolutions, ComputeChecksums,
    IncludeHeaderFooter, InstantiateTests, LockCells, SaveCells,
)

# nbgrader's own GenerateAssignment chain, with the notice first.
c.GenerateAssignment.preprocessors = [
    DeadlineNotice, IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme, ComputeChecksums,
    CheckCellMetadata,
]

# The same again where HTML is built from a notebook: the formgrader's submission pages (nbgrader
# builds them with nbconvert's HTMLExporter and this configuration) and the feedback pages
# (FeedbackExporter, a subclass). The templates' markdown2html and clean_html filters become
# the allow-list's, so nbgrader's own templates cannot pass a student's markup through either.
c.HTMLExporter.preprocessors = [SanitizeSubmission]
c.HTMLExporter.sanitize_html = True  # nbconvert's templates then leave out JavaScript and widget outputs
c.HTMLExporter.filters = {"clean_html": "cnnviz.grading.html_allowlist.clean_html",
                          "markdown2html": "cnnviz.grading.inert_markdown.markdown_to_html"}
