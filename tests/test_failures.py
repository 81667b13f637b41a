"""Failure records (cnnviz/grading/failures.py): what crosses from the grading processes to the class driver as data."""

import json

import pytest

from cnnviz import settings
from cnnviz.course import nbrun
from cnnviz.grading import failures
from cnnviz.grading.failures import Failure


def test_a_record_goes_through_json_unchanged():
    failure = Failure(failures.TIMEOUT, "김민지", "test_conv_acti", "a cell ran too long; not graded")
    assert Failure.from_json(failure.to_json()) == failure
    assert Failure.from_dict(json.loads(failure.to_json())) == failure


@pytest.mark.parametrize("data", [{"kind": "fine"}, {"kind": failures.TIMEOUT, "extra": 1},
                                  {"kind": failures.TIMEOUT, "reason": 5}, ["timeout"], None])
def test_anything_but_a_record_is_refused(data):
    with pytest.raises(ValueError):
        Failure.from_dict(data)


def test_the_reason_is_one_short_line():
    failure = Failure(failures.NBGRADER_ERROR, reason="first\nsecond  line " + "x" * 1000)
    assert "\n" not in failure.reason and failure.reason.startswith("first second line x")
    assert len(failure.reason) == failures.MAX_REASON


def test_the_rendered_line_names_the_cell_and_never_is_empty():
    assert Failure(failures.TIMEOUT, "a", "test_x", "too long").render() == "cell test_x: too long"
    assert Failure(failures.KERNEL_DIED, "a").render() == "kernel died; not graded"


def test_only_a_kernel_that_never_answered_is_tried_again():
    assert [kind for kind in failures.KINDS if Failure(kind).retry] == [failures.KERNEL_NEVER_ANSWERED]


def test_a_refusal_is_the_cause_over_what_nbgrader_raised_after_it():
    refused = Failure(failures.REFUSED, "a", "", "submission not graded")
    died = Failure(failures.KERNEL_DIED, "a", "", "died")
    assert failures.first_cause([refused, died]) == refused
    assert failures.first_cause([died]) == died
    assert failures.first_cause([]) is None


def test_report_keeps_the_record_in_this_process(monkeypatch):
    monkeypatch.delenv(settings.FAILURES_FILE_VARIABLE, raising=False)
    failures.pop_reported()
    failure = Failure(failures.REFUSED, "a", "", "no")
    failures.report(failure)
    assert failures.pop_reported() == [failure] and failures.pop_reported() == []


def test_a_child_reports_through_its_file_and_nothing_it_prints_counts(tmp_path):
    # What a child (or the jailed kernel, which inherits nbgrader's stderr) prints is no record.
    forged = Failure(failures.KERNEL_NEVER_ANSWERED, "a", "", "forged").to_json()
    code = ("import sys\nfrom cnnviz.grading import failures\n"
            f"print({forged!r}); print({forged!r}, file=sys.stderr)\n"
            "failures.report(failures.Failure(failures.REFUSED, 'a', '', 'submission not graded: because'))\n"
            "sys.exit(1)\n")
    result, failure = nbrun.run_reporting(["-c", code], root=tmp_path)
    assert result.returncode == 1
    assert failure == Failure(failures.REFUSED, "a", "", "submission not graded: because")


def test_a_child_that_fails_without_a_record_fails_as_nbgrader_error(tmp_path):
    code = "raise ValueError('the gradebook is locked')"
    _, failure = nbrun.run_reporting(["-c", code], root=tmp_path)
    assert failure.kind == failures.NBGRADER_ERROR
    assert failure.reason == "ValueError: the gradebook is locked"
    assert nbrun.run_reporting(["-c", "pass"], root=tmp_path)[1] is None


def test_read_file_skips_lines_that_are_no_record(tmp_path):
    path = tmp_path / "records.jsonl"
    good = Failure(failures.TIMEOUT, "a", "test_x", "long")
    path.write_text("not json\n" + json.dumps({"kind": "nonsense"}) + "\n" + good.to_json() + "\n")
    assert failures.read_file(path) == [good]
    assert failures.read_file(tmp_path / "absent") == []


def test_a_process_nobody_pops_keeps_only_the_latest_records(monkeypatch):
    monkeypatch.delenv(settings.FAILURES_FILE_VARIABLE, raising=False)
    failures.pop_reported()
    for number in range(failures.KEEP_REPORTED + 5):
        failures.report(Failure(failures.REFUSED, f"s{number}"))
    kept = failures.pop_reported()
    assert len(kept) == failures.KEEP_REPORTED and kept[-1].student == f"s{failures.KEEP_REPORTED + 4}"
