"""Due date, late policy and extensions (cnnviz.grading.deadlines), through nbgrader's own AssignLatePenalties."""

import datetime

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from traitlets.config import Config

from cnnviz import ASSIGNMENT, CourseError
from cnnviz.grading import deadlines
from gradebookfill import DUE, make_class, submit

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def policy(percent_per_day=10.0, max_percent=50.0, cutoff_days=7.0):
    config = Config()
    config.LatePolicy.percent_per_day = percent_per_day
    config.LatePolicy.max_percent = max_percent
    config.LatePolicy.cutoff_days = cutoff_days
    return deadlines.LatePolicy(config=config)


@pytest.mark.parametrize("late, percent", [
    (-HOUR, 0), (datetime.timedelta(0), 0), (datetime.timedelta(seconds=1), 10), (DAY, 10),
    (DAY + datetime.timedelta(seconds=1), 20), (3 * DAY - HOUR, 30), (6 * DAY, 50), (7 * DAY - HOUR, 50),
    (7 * DAY, 100), (30 * DAY, 100),
])
def test_percent_per_started_day_capped_then_nothing_after_the_cutoff(late, percent):
    assert policy().penalty_percent(late.total_seconds()) == percent


def test_without_a_cutoff_the_cap_holds_however_late_and_a_zero_rate_costs_nothing():
    assert policy(cutoff_days=0).penalty_percent((100 * DAY).total_seconds()) == 50
    assert policy(percent_per_day=0, cutoff_days=0).penalty_percent((3 * DAY).total_seconds()) == 0


def test_the_config_file_sets_the_course_rule():
    from traitlets.config.loader import PyFileConfigLoader

    from cnnviz import COURSE_ROOT

    config = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()
    assert config.AssignLatePenalties.plugin_class is deadlines.LatePolicy
    rule = deadlines.LatePolicy(config=config)
    assert (rule.percent_per_day, rule.max_percent, rule.cutoff_days) == (10.0, 50.0, 7.0)
    assert deadlines.DeadlineNotice in config.GenerateAssignment.preprocessors


def _assign_penalty(url, student):
    """nbgrader's AssignLatePenalties, configured as the course's nbgrader_config.py does, on one notebook."""
    config = Config()
    config.AssignLatePenalties.plugin_class = deadlines.LatePolicy
    config.LatePolicy.percent_per_day = 10.0
    config.LatePolicy.max_percent = 50.0
    config.LatePolicy.cutoff_days = 7.0
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "assignment": ASSIGNMENT, "student": student, "db_url": url}}
    AssignLatePenalties(config=config).preprocess(new_notebook(cells=[new_code_cell("x = 1")]), resources)
    with Gradebook(url) as gradebook:
        return gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).late_submission_penalty


def test_nbgrader_applies_the_policy_before_just_after_days_after_and_within_an_extension(gradebook_url):
    people = {name: (name.title(), "Kim", f"{name}@example.edu") for name in ("early", "just", "days", "ext")}
    make_class(gradebook_url, people)
    full = {"test_x": 60.0, "test_y": 20.0}  # 80 points earned
    submit(gradebook_url, "early", full, -HOUR)
    submit(gradebook_url, "just", full, datetime.timedelta(minutes=5))
    submit(gradebook_url, "days", full, 2 * DAY + HOUR)
    submit(gradebook_url, "ext", full, 2 * DAY + HOUR)
    deadlines.grant_extension("ext", db_url=gradebook_url, days=3)
    assert _assign_penalty(gradebook_url, "early") is None
    assert _assign_penalty(gradebook_url, "just") == pytest.approx(8.0)  # 10 % of 80
    assert _assign_penalty(gradebook_url, "days") == pytest.approx(24.0)  # third day started: 30 %
    assert _assign_penalty(gradebook_url, "ext") is None  # due three days later for this student


def test_an_extension_before_the_submission_is_kept_when_the_submission_arrives(gradebook_url):
    make_class(gradebook_url, {"sora": ("Sora", "Park", "s@x")})
    line = deadlines.grant_extension("sora", db_url=gradebook_url, days=2)
    assert "sora" in line and "2 day(s)" in line and "due 2026-12-12 23:59 (Asia/Seoul)" in line
    submit(gradebook_url, "sora", {"test_x": 60.0, "test_y": 40.0}, DAY)  # what autograde does on arrival
    with Gradebook(gradebook_url) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "sora")
        assert submission.extension == 2 * DAY and submission.total_seconds_late == 0
    deadlines.grant_extension("sora", db_url=gradebook_url)  # no time: removed
    assert _assign_penalty(gradebook_url, "sora") == pytest.approx(10.0)


def test_an_extension_for_someone_not_in_the_gradebook_is_refused(gradebook_url):
    make_class(gradebook_url, {})
    with pytest.raises(CourseError, match="'nobody' is not a student.*roster import"):
        deadlines.grant_extension("nobody", db_url=gradebook_url, days=1)
    with pytest.raises(CourseError, match="cannot be negative"):
        deadlines.grant_extension("nobody", db_url=gradebook_url, days=-1)


def test_the_due_date_is_read_in_its_time_zone_and_stored_in_utc(gradebook_url):
    make_class(gradebook_url, {}, duedate=None)
    deadlines.set_duedate(deadlines.parse_due("2026-12-10 23:59", "Asia/Seoul"), db_url=gradebook_url)
    assert deadlines.read_duedate(gradebook_url) == DUE.replace(tzinfo=datetime.timezone.utc)
    deadlines.set_duedate(deadlines.parse_due("2026-12-10T09:59-05:00", "Asia/Seoul"), db_url=gradebook_url)
    assert deadlines.read_duedate(gradebook_url) == DUE.replace(tzinfo=datetime.timezone.utc)
    for text, zone, words in [("next friday", "UTC", "not a date"), ("2026-12-10 23:59", "Mars/Base", "time zone")]:
        with pytest.raises(CourseError, match=words):
            deadlines.parse_due(text, zone)


def test_the_release_opens_with_the_due_date_and_the_rule_in_korean_then_english(gradebook_url):
    make_class(gradebook_url, {})
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    resources = {"nbgrader": {"db_url": gradebook_url, "assignment": ASSIGNMENT, "notebook": ASSIGNMENT}}
    notice = deadlines.DeadlineNotice(config=policy().config)
    nb, _ = notice.preprocess(nb, resources)
    nb, _ = notice.preprocess(nb, resources)  # regenerated: still one notice
    first = nb.cells[0]
    assert len(nb.cells) == 2 and first.cell_type == "markdown" and "nbgrader" not in first.metadata
    text = first.source
    assert text.index("마감") < text.index("Due")
    assert "**마감:** 2026-12-10 23:59 (`Asia/Seoul` 기준)" in text
    assert "**Due:** 2026-12-10 23:59 (Asia/Seoul) = 2026-12-10 14:59 UTC" in text
    assert "10%를" in text and "50%까지" in text and "7일" in text and "연장" in text
    assert "10% of the points" in text and "at most 50%" in text and "7 days or more" in text

    with Gradebook(gradebook_url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=None)
    nb, _ = notice.preprocess(nb, resources)
    assert len(nb.cells) == 1  # no due date, no notice
