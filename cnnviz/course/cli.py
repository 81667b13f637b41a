"""``python -m cnnviz``: the course's own commands.

Every subcommand prints what it does; a problem the user can fix ends with one
``error: ...`` line on stderr and exit status 2, never a traceback.

Which course: every command that works on a course works on the folder given by
``--course-dir``, by default this package's own course (the folder above
``cnnviz/``, where ``nbgrader_config.py`` is), wherever it is run from.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cnnviz import ASSIGNMENT, CHECKPOINT_NAME, COURSE_ROOT, CourseError, settings

# TensorFlow's C++ start-up chatter hides what the commands print; figures are drawn off-screen.
for _name, _value in settings.command_env().items():
    os.environ.setdefault(_name, _value)
# nbgrader opens a new gradebook by running `alembic` from PATH (roster, duedate, extension open it in
# this process): this environment's, also when it is not activated, as nbrun gives nbgrader's processes.
if str(Path(sys.executable).parent) not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), os.environ.get("PATH")]))
# Answering a bad notebook path should not wait for jsonschema's unused grammar.
settings.skip_unused_slow_modules()


def cmd_data(args) -> int:
    from cnnviz.course import data

    data.prepare(allow_apt=not args.no_apt)
    return 0


def _checkpoint(args) -> Path:
    """The checkpoint a command names, by default the course's own."""
    return Path(args.checkpoint) if args.checkpoint else args.course_dir / "source" / ASSIGNMENT / CHECKPOINT_NAME


def cmd_train(args) -> int:
    from cnnviz.course import training

    training.train(_checkpoint(args), seed=args.seed, split_seed=args.split_seed, epochs=args.epochs)
    return 0


def cmd_check_checkpoint(args) -> int:
    from cnnviz.course import training

    path = _checkpoint(args)
    if not path.is_file():
        raise CourseError(f"no checkpoint at {path}: run `python -m cnnviz train` to make it")
    print(f"[checkpoint] measuring {path} on the 10 000 Fashion-MNIST test images ...", flush=True)
    accuracy = training.measure_accuracy(path)
    bar = settings.ACCURACY_BAR
    print(f"[checkpoint] test accuracy {accuracy:.4f} (bar: {bar})")
    if accuracy < bar:
        raise CourseError(f"{path} scores {accuracy:.4f} < {bar}: retrain it with `python -m cnnviz train`")
    ratio = training.kernel_spread_ratio(path)
    print(f"[checkpoint] first-layer kernel std is {ratio:.2f} x an untrained layer's "
          f"(the lesson needs > {settings.SPREAD_BAR})")
    if ratio <= settings.SPREAD_BAR:
        raise CourseError(f"{path}: its first-layer kernel is barely wider than an untrained one "
                          f"({ratio:.2f}x), so test_compare would fail every student; retrain it")
    return 0


def cmd_info(args) -> int:
    import json

    from cnnviz.course import training

    root = args.course_dir
    print(f"[course] {root}")
    print(f"[course] assignment: {ASSIGNMENT}")
    for folder in ("source", "release", "solutions", "submitted", "autograded", "feedback"):
        path = root / folder
        files = sorted(p.relative_to(root) for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        print(f"  {folder + '/':12} {len(files)} file(s)")
        for name in files[:6]:
            print(f"      {name}")
        if len(files) > 6:
            print(f"      ... and {len(files) - 6} more")
    meta = training.metadata_path(root / "source" / ASSIGNMENT / CHECKPOINT_NAME)
    if meta.is_file():
        info = json.loads(meta.read_text())
        print(f"[course] checkpoint {CHECKPOINT_NAME}: test accuracy {info['test_accuracy']}, "
              f"validation accuracy {info['validation_accuracy']}, {info['epochs_run']} epochs, "
              f"{info['training_seconds']} s of training")
    return 0


def cmd_grade(args) -> int:
    import json

    from cnnviz.course import notebooks

    # Answer a wrong path or file at once, before the slow imports below.
    path = Path(args.notebook)
    notebooks.read_notebook(path)

    from cnnviz.course import spotcheck

    report = spotcheck.grade_notebook(path, args.course_dir)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        spotcheck.print_report(report)
    # 1: nbgrader could not grade the notebook at all (the report says why).
    return 1 if report["error"] else 0


def cmd_demo(args) -> int:
    from cnnviz.course import demo

    demo.demo(args.course_dir / "demo", args.course_dir)
    return 0


def cmd_lab(args) -> int:
    from cnnviz.deploy import lab

    extra = [a for a in args.jupyter_args if a != "--"]
    lab.run(args.course_dir, extra)
    return 0


def cmd_hub(args) -> int:
    from cnnviz.deploy import hub

    if args.action == "start":
        hub.up()
    else:
        hub.down()
    return 0


def cmd_student_package(args) -> int:
    from cnnviz.deploy import student_package

    if args.folder:
        print(f"[student] a folder to hand out: {student_package.student_folder(Path(args.folder))}")
    else:
        import shutil

        from cnnviz.course import lock

        wheel = student_package.build_wheel(Path(args.dist))
        shutil.copy(lock.LOCK_FILE, wheel.parent / lock.LOCK_FILE.name)
        print(f"[student] wrote {wheel} and {wheel.parent / lock.LOCK_FILE.name}; the students' image installs "
              f"`pip install --require-hashes --no-deps -r {lock.LOCK_FILE.name}`, then "
              f"`pip install --no-deps {wheel.name}`")
    return 0


def cmd_update_assignment(args) -> int:
    from cnnviz.course import update

    print(update.update_assignment(Path(args.course_dir), workers=args.workers,
                                   solutions=not args.no_solutions,
                                   restore=Path(args.restore) if args.restore else None))
    return 0


def cmd_autograde(args) -> int:
    from cnnviz.course import classgrade

    try:
        outcomes = classgrade.autograde_class(args.course_dir, workers=args.workers,
                                              scheduler=args.scheduler, missing=args.missing,
                                              one_process_per_student=args.one_process_per_student)
    except classgrade.SchedulerLost as lost:
        print(f"error: {lost}", file=sys.stderr)
        return 3
    # 1: the class was graded, but some students could not be (each got its line above).
    return 1 if any(not o.ok for o in outcomes) else 0


def cmd_jail_check(args) -> int:
    from cnnviz.grading import jail_probe, sanitize

    jailed = jail_probe.print_jail_check(args.course_dir)
    # The other half of the trust boundary: what the kernel wrote is made inert before anyone sees it.
    lines, sanitised = sanitize.chain_report(args.course_dir)
    for line in lines:
        print(line)
    print("[sanitize] active: submissions are made inert in the autograde chain and in the HTML pages"
          if sanitised else "[sanitize] NOT active: see the FAIL lines above")
    return 0 if jailed and sanitised else 1


def cmd_release(args) -> int:
    from cnnviz.course import pipeline

    print(f"[release] wrote {pipeline.generate_release(args.course_dir)}")
    print(f"[solutions] wrote {pipeline.generate_solutions(args.course_dir)}")
    return 0


def cmd_roster(args) -> int:
    from cnnviz.course import roster

    print(roster.import_roster(Path(args.file), args.course_dir))
    return 0


def cmd_duedate(args) -> int:
    import datetime

    from cnnviz.grading import deadlines

    if args.clear:
        deadlines.set_duedate(None, args.course_dir)
        print(f"[duedate] {ASSIGNMENT}: no due date")
        return 0
    if not args.when:
        raise CourseError("give the due date, e.g. `python -m cnnviz duedate \"2026-12-10 23:59\" "
                          "--timezone Asia/Seoul`, or --clear")
    when = deadlines.parse_due(args.when, args.timezone)
    deadlines.set_duedate(when, args.course_dir)
    due = deadlines.describe_due(when.astimezone(datetime.timezone.utc), args.timezone)
    print(f"[duedate] {ASSIGNMENT} is due {due}; `make release` (and `nbgrader release_assignment --force` "
          "with the exchange) shows it to students")
    return 0


def cmd_extension(args) -> int:
    from cnnviz.grading import deadlines

    print(deadlines.grant_extension(args.student, args.course_dir, days=args.days, hours=args.hours))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from cnnviz.course import training

    parser = argparse.ArgumentParser(prog="python -m cnnviz", description=__doc__.split("\n\n")[0] + "\n\n"
                                     + __doc__.split("\n\n")[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    # One rule for the course root, in every command that works on a course.
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("--course-dir", type=Path, default=COURSE_ROOT,
                        help=f"the course root, where nbgrader_config.py is (default: this course, {COURSE_ROOT})")

    p = sub.add_parser("data", help="place Fashion-MNIST in Keras' cache (offline) and check it")
    p.add_argument("--no-apt", action="store_true", help="never call apt-get")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", parents=[course], help="train best-cnn-model.keras with the chapter 8-2 recipe")
    p.add_argument("--output", dest="checkpoint", default=None,
                   help=f"where the checkpoint goes (default: the course's source/{ASSIGNMENT}/{CHECKPOINT_NAME})")
    p.add_argument("--seed", type=int, default=training.SEED)
    p.add_argument("--split-seed", type=int, default=training.SPLIT_SEED)
    p.add_argument("--epochs", type=int, default=training.MAX_EPOCHS)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("check-checkpoint", parents=[course],
                       help="measure the checkpoint's test accuracy against the bar")
    p.add_argument("checkpoint", nargs="?", default=None,
                   help=f"the checkpoint (default: the course's source/{ASSIGNMENT}/{CHECKPOINT_NAME})")
    p.set_defaults(func=cmd_check_checkpoint)

    p = sub.add_parser("grade", parents=[course],
                       help="grade one notebook with the hidden tests nbgrader autograde uses")
    p.add_argument("notebook", help="a completed cnn_visualization.ipynb (any file name)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("autograde", parents=[course], help="autograde every submitted student, several at once")
    p.add_argument("--workers", type=int, default=None,
                   help="students graded at once (default: one per core, as many as the free memory holds)")
    p.add_argument("--scheduler", default=None, help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--missing", action="store_true",
                   help="grade only the students without a successful grading of their current submission "
                        "(resumes a run that was cut off)")
    p.add_argument("--one-process-per-student", action="store_true",
                   help="grade each student with a new `nbgrader autograde --student` process (the old way, "
                        "for comparison and debugging) instead of one warm grader process per worker")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("update-assignment",
                       help="after editing source/ mid-course (points, a test cell added or removed, a typo in "
                            "a test): regenerate the release, regrade everyone, keep the manual grades")
    p.add_argument("--workers", type=int, default=None, help="nbgrader processes at once for the regrade")
    p.add_argument("--no-solutions", action="store_true", help="leave solutions/ as it is")
    p.add_argument("--restore", default=None, metavar="BACKUP",
                   help="also put back the manual grades saved by an earlier run that stopped half-way "
                        "(a file in backups/)")
    p.add_argument("--course-dir", default=str(COURSE_ROOT), help="the course root (default: this course)")
    p.set_defaults(func=cmd_update_assignment)

    p = sub.add_parser("jail-check", parents=[course],
                       help="start a jailed probe with the limits the course's nbgrader_config.py sets, and say whether "
                            "its autograde chain and HTML pages sanitise what students wrote")
    p.set_defaults(func=cmd_jail_check)

    p = sub.add_parser("release", parents=[course], help="regenerate release/ and solutions/ from source/ with nbgrader")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("demo", parents=[course],
                       help="the instructor's whole loop on a demo class, in a scratch course under the course's demo/")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("lab", parents=[course],
                       help="JupyterLab with nbgrader's extensions and inline figures (`make lab`)")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                   help="after `--`: more options for `jupyter lab`, e.g. -- --port=8899")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("hub", help="a JupyterHub for the class on 127.0.0.1 (`make hub`, `make hub-stop`; as root)")
    p.add_argument("action", choices=["start", "stop"])
    p.set_defaults(func=cmd_hub)

    p = sub.add_parser("student-package", help="the students' side: the cnnviz-student wheel, or a folder to hand out")
    p.add_argument("--dist", default=str(COURSE_ROOT / "build" / "student"), help="where the wheel goes")
    p.add_argument("--folder", default=None, help="instead: write the release with the checks into this new folder")
    p.set_defaults(func=cmd_student_package)

    p = sub.add_parser("roster", parents=[course],
                       help="the class list from the LMS (Canvas, Moodle, plain CSV) into the gradebook")
    p.add_argument("action", choices=["import"])
    p.add_argument("file", help="the roster: a Canvas gradebook or users export, a Moodle participants export, "
                                "or a CSV of id, first name, last name, email")
    p.set_defaults(func=cmd_roster)

    p = sub.add_parser("duedate", parents=[course], help=f"set {ASSIGNMENT}'s due date (nbgrader's duedate)")
    p.add_argument("when", nargs="?", help="e.g. \"2026-12-10 23:59\" (or ISO 8601 with an offset)")
    p.add_argument("--timezone", default=settings.COURSE_TIMEZONE,
                   help=f"the time zone of WHEN (default {settings.COURSE_TIMEZONE})")
    p.add_argument("--clear", action="store_true", help="remove the due date")
    p.set_defaults(func=cmd_duedate)

    p = sub.add_parser("extension", parents=[course],
                       help="give one student more time (nbgrader's extension field); no time removes it")
    p.add_argument("student", help="the student's login id")
    p.add_argument("--days", type=float, default=0)
    p.add_argument("--hours", type=float, default=0)
    p.set_defaults(func=cmd_extension)

    p = sub.add_parser("info", parents=[course], help="print what the course holds")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m cnnviz`` and of the ``cnnviz`` script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; files written so far are kept", file=sys.stderr)
        return 130
