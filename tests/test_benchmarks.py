"""The class benchmark's own arithmetic (benchmarks/class_vs_stock.py), on small inputs; nothing is graded."""

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# benchmarks/ is no installed package: import this tree's, wherever pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import class_vs_stock as bench  # noqa: E402

SMAPS_ROLLUP = """\
558945782000-7ffd7e80e000 ---p 00000000 00:00 0                          [rollup]
Rss:                1648 kB
Pss:                 304 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
"""


def test_pss_is_read_from_its_own_line_in_bytes():
    assert bench.pss_bytes(SMAPS_ROLLUP) == 304 * 1024


def test_a_rollup_without_pss_gives_none():
    assert bench.pss_bytes("Rss:  1648 kB\nPss_Anon:  112 kB\n") is None


# The benchmarked command is 100. It started two graders (10, 20) and a short helper (30);
# 10's kernel runs under bwrap (11 -> 12 -> 13); 40 was reparented to init (1) and 50's
# parent is unknown: neither belongs to any tree.
PROCESSES = {100: 7, 10: 100, 11: 10, 12: 11, 13: 12, 20: 100, 21: 20, 30: 100, 40: 1, 50: 55}


def test_each_grading_process_heads_the_tree_of_everything_below_it():
    trees = bench.worker_trees(PROCESSES, top=100)
    assert trees == {10: {10, 11, 12, 13}, 20: {20, 21}, 30: {30}}


def test_the_command_is_the_one_tree_when_it_grades_itself():
    assert bench.worker_trees(PROCESSES, top=100, top_is_grader=True) == {
        100: {100, 10, 11, 12, 13, 20, 21, 30}}


def test_a_parent_loop_ends_the_walk_instead_of_hanging():
    assert bench.worker_trees({1: 2, 2: 1, 3: 100}, top=100) == {3: {3}}


def test_no_processes_no_trees():
    assert bench.worker_trees({}, top=100) == {}
    assert bench.worker_trees({}, top=100, top_is_grader=True) == {}


def record(student, started, ended=None, ok=True, phases=None):
    r = {"student": student, "started": started, "ok": ok}
    if ended is not None:
        r["ended"] = ended
    if phases is not None:
        r["phases"] = phases
    return r


def test_breakdown_takes_medians_of_each_students_latest_finished_attempt():
    records = [
        record("a", 100.0, 130.0, ok=False, phases={"execute": 25.0}),  # retried later: left out
        record("a", 140.0, 150.0, phases={"execute": 6.0, "kernel_launch": 0.5, "kernel_kind": "template"}),
        record("b", 100.0, 112.0, phases={"execute": 8.0, "kernel_launch": 0.7, "kernel_kind": "template"}),
        record("c", 100.0, 104.0, phases={"execute": 2.0, "kernel_kind": "jail", "warm": True}),
        record("d", 160.0),  # still running: no end, no figure
    ]
    found = bench.breakdown(records)
    assert found.students == 3
    assert found.medians == {bench.ATTEMPT: 10.0, "execute": 6.0, "kernel_launch": pytest.approx(0.6)}
    assert found.texts == {"kernel_kind": {"template": 2, "jail": 1}, "warm": {"True": 1}}


def test_breakdown_of_todays_records_has_only_the_attempt():
    found = bench.breakdown([record("a", 0.0, 9.0), record("b", 1.0, 12.0)])
    assert found.medians == {bench.ATTEMPT: 10.0}
    assert found.texts == {}


def test_fixed_cost_is_the_time_before_the_first_attempt_and_after_the_last():
    records = [record("a", 103.0, 113.0), record("b", 104.0, 120.5), record("c", 130.0)]
    assert bench.fixed_seconds(records, launched=100.0, exited=121.0) == pytest.approx(3.5)
    assert bench.fixed_seconds([], launched=100.0, exited=121.0) == 0.0


def test_projection_scales_the_measured_rounds_to_the_class():
    # 10 students on 2 workers: 5 rounds of (50 - 2) / 5 = 9.6 s; 300 students: 150 rounds.
    p = bench.project(50.0, 2.0, students=10, workers=2, target=300)
    assert (p.rounds, p.target_rounds) == (5, 150)
    assert p.per_round == pytest.approx(9.6)
    assert p.seconds == pytest.approx(2.0 + 150 * 9.6)


def test_projection_counts_a_partly_filled_last_round_as_a_round():
    p = bench.project(31.0, 1.0, students=5, workers=2, target=7)
    assert (p.rounds, p.target_rounds) == (3, 4)
    assert p.seconds == pytest.approx(1.0 + 4 * 10.0)
    assert bench.project(31.0, 1.0, students=5, workers=1, target=7).seconds == pytest.approx(1.0 + 7 * 6.0)
    assert math.isclose(bench.project(12.0, 0.0, 4, 4, 300).seconds, 75 * 12.0)


def test_students_short_of_full_marks_or_never_graded_are_named():
    totals = {"a": (85.0, 85.0), "b": (80.0, 85.0), "d": (0.0, 0.0)}
    assert bench.not_at_full_marks(totals, ["a", "b", "c", "d"]) == ["b", "c", "d"]
    assert bench.not_at_full_marks({"a": (85.0, 85.0)}, ["a"]) == []


@pytest.fixture
def command_with_two_children():
    """A live command (a Python) that started two `sleep`s: two grading processes below it."""
    code = ("import subprocess, time\n"
            "children = [subprocess.Popen(['sleep', '30']) for _ in range(2)]\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n")
    command = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert command.stdout.readline().strip() == "ready"
    yield command
    os.killpg(command.pid, signal.SIGKILL)
    command.wait()
    command.stdout.close()


def test_the_sampler_finds_each_grading_process_below_a_live_command(command_with_two_children):
    sampler = bench.TreeSampler(command_with_two_children.pid, top_is_grader=False)
    sampler.sample()
    assert sampler.most_trees == 2
    assert sampler.unreadable == 0
    # The whole run holds the Python itself and both trees; a `sleep` is far smaller than a Python.
    assert 0 < 2 * sampler.worker_peak < sampler.run_peak


def test_the_sampler_counts_a_command_that_grades_itself_as_one_tree(command_with_two_children):
    sampler = bench.TreeSampler(command_with_two_children.pid, top_is_grader=True)
    sampler.sample()
    assert sampler.most_trees == 1
    assert sampler.worker_peak == sampler.run_peak > 0


def run(seconds, records=(), short=(), log=None, fixed=1.0):
    return bench.Run(seconds=seconds, fixed=fixed, returncode=0, short=list(short), records=list(records),
                     worker_peak=800 * bench.MIB, run_peak=1300 * bench.MIB, most_trees=2, unreadable=0,
                     log=log or Path("/nonexistent"))


def test_the_report_names_targets_levers_phases_and_every_student_short_of_full_marks(tmp_path, capsys):
    log = tmp_path / "log.txt"
    log.write_text("[autograde] student001: not graded: the notebook's kernel died\n")
    phases = {"kernel_launch": 0.2, "execute": 4.0, "kernel_kind": "template"}
    records = [record(f"s{k}", 100.0, 105.0, phases=phases) for k in range(4)]
    variants = [bench.Variant("stock", "stock", 1, stock=True), bench.Variant("one worker", "one", 1),
                bench.Variant("default", "default", 2),
                bench.Variant("lever off: template", "no-template", 2, lever=True)]
    runs = {"stock": [run(100.0)], "one": [run(40.0, records)], "default": [run(20.0, records)],
            "no-template": [run(30.0, records, short=["s1"], log=log)]}
    all_full = bench.report(variants, runs, ["lever off: other: skipped"], students=4, workers=2, warm=3.0,
                            repeats=1, load=0.1)
    out = capsys.readouterr().out
    assert all_full is False
    assert "!!! lever off: template: NOT every student at full marks: 1 of 4 short (s1)" in out
    assert "the notebook's kernel died" in out
    lines = {line.split("  ")[1].strip(): line for line in out.splitlines() if line.startswith("  ")}
    assert "2.50x" in lines["1 worker"] and "PASS" in lines["1 worker"]
    assert "5.00x" in lines["default workers (2)"] and "PASS" in lines["default workers (2)"]
    assert "the lever saves +10.0 s" in out
    assert "lever off: other: skipped" in out
    assert lines["kernel_launch"].split()[1:] == ["0.20", "0.20", "0.20"]
    assert "no-template: kernel_kind: template x4" in out
    # default workers: fixed 1 s + 150 rounds of (20 - 1) / 2 s
    assert f"{(1 + 150 * 9.5) / 60:6.1f} min" in out


def test_the_report_fails_a_target_it_misses(capsys):
    variants = [bench.Variant("stock", "stock", 1, stock=True), bench.Variant("one worker", "one", 1),
                bench.Variant("default", "default", 2)]
    runs = {"stock": [run(100.0)], "one": [run(60.0)], "default": [run(30.0)]}
    assert bench.report(variants, runs, [], students=4, workers=2, warm=3.0, repeats=1, load=0.1) is True
    out = capsys.readouterr().out
    assert "1.67x   target >= 2x   FAIL" in out
    assert "3.33x   target >= 4x   FAIL" in out
    assert "no `phases` in the journal" in out


def test_memory_comes_from_the_sampled_runs_only_and_a_short_one_fails_the_report(capsys):
    variants = [bench.Variant("stock", "stock", 1, stock=True), bench.Variant("one worker", "one", 1),
                bench.Variant("default", "default", 2)]
    timed = {"stock": [run(100.0)], "one": [run(40.0)], "default": [run(20.0)]}
    sampled = {name: [bench.Run(seconds=9.0, fixed=1.0, returncode=0, short=["s2"] if name == "one" else [],
                                records=[], worker_peak=(700 + k) * bench.MIB, run_peak=(900 + k) * bench.MIB,
                                most_trees=1, unreadable=0, log=Path("/nonexistent"))]
               for k, name in enumerate(("stock", "one", "default"))}
    assert bench.report(variants, timed, [], students=4, workers=2, warm=3.0, repeats=1, load=0.1,
                        memory_runs=sampled, memory_students=3) is False
    out = capsys.readouterr().out
    assert "separate runs of 3 students" in out
    memory = {line.split()[0]: line for line in out.splitlines()[out.splitlines().index(
        next(line for line in out.splitlines() if line.startswith("peak memory"))) + 2:][:3]}
    assert "702 MiB" in memory["default"] and "902 MiB" in memory["default"]
    assert bench.report(variants, timed, [], students=4, workers=2, warm=3.0, repeats=1, load=0.1) is True
    assert "peak memory" not in capsys.readouterr().out, "no sampled runs, no memory figures"
