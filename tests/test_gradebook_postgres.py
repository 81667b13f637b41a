"""The gradebook on a real PostgreSQL server, through nbgrader's db_url.

`.ci/run` starts Debian's PostgreSQL on 127.0.0.1 (script `.ci/postgres`) and
exports its URL as CNNVIZ_TEST_POSTGRES; the tests create and drop their own
database. Without that variable they are skipped, with the command that sets
it, except in CI, where they fail. A server that is named but not reachable
always fails them.
"""

import os
import uuid

import pytest

from cnnviz import ASSIGNMENT, CourseError, settings
from cnnviz.course import classgrade, pipeline
from toycourse import make_toy_course, submit_answer

pytestmark = pytest.mark.slow

ADMIN_URL = os.environ.get("CNNVIZ_TEST_POSTGRES")


@pytest.fixture
def postgres_db_url():
    """A fresh, empty database on the test server, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    if not ADMIN_URL:
        message = ("CNNVIZ_TEST_POSTGRES is not set: start a server and name it with "
                   "`export CNNVIZ_TEST_POSTGRES=$(bash .ci/postgres)`")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        admin = psycopg.connect(ADMIN_URL, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"no PostgreSQL at CNNVIZ_TEST_POSTGRES={ADMIN_URL} ({str(exc).strip()}); "
                    "start it with `bash .ci/postgres`")
    name = f"cnnviz_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_a_class_is_graded_into_a_new_postgresql_gradebook(toy_course, postgres_db_url, monkeypatch):
    # nbgrader_config.py reads the gradebook's URL from NBGRADER_DB_URL. The database
    # is empty: the class command must record the assignment before grading.
    monkeypatch.setenv("NBGRADER_DB_URL", postgres_db_url)
    assert settings.db_url(toy_course) == postgres_db_url
    answers = {"ana": "x = 1", "ben": "x = 2", "cho": "x = 1", "dan": "raise ValueError('no')"}
    for student, answer in answers.items():
        submit_answer(toy_course, student, answer)
    release = (toy_course / "release" / ASSIGNMENT / "cnn_visualization.ipynb").read_bytes()

    outcomes = classgrade.autograde_class(toy_course, workers=4)

    assert all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok]
    scores = pipeline.read_scores(toy_course, postgres_db_url)
    assert {s: v["test_x"] for s, v in scores.items()} == {"ana": 1.0, "ben": 0.0, "cho": 1.0, "dan": 0.0}
    assert (toy_course / "release" / ASSIGNMENT / "cnn_visualization.ipynb").read_bytes() == release, \
        "recording the assignment in the gradebook must leave release/ alone"
    assert not (toy_course / "gradebook.db").exists() or pipeline.read_scores(toy_course, "sqlite:///" + str(
        toy_course / "gradebook.db")) == {}, "grades went to the SQLite file instead of PostgreSQL"


def test_a_gradebook_without_the_assignment_or_its_source_is_refused_up_front(tmp_path, postgres_db_url):
    course = make_toy_course(tmp_path)
    submit_answer(course, "ana", "x = 1")
    for notebook in (course / "source" / ASSIGNMENT).glob("*.ipynb"):
        notebook.unlink()

    with pytest.raises(CourseError) as refused:
        classgrade.autograde_class(course, workers=1, db_url=postgres_db_url)

    message = str(refused.value)
    assert "does not know the assignment" in message and "\n" not in message, message
    assert "cnnviz:cnnviz@" not in message, "the gradebook's password must not be printed"
    assert not (course / "autograded" / "ana").exists(), "nobody may be graded into an unready gradebook"


def test_an_unreachable_gradebook_is_one_clear_error(toy_course):
    submit_answer(toy_course, "ana", "x = 1")
    with pytest.raises(CourseError, match="cannot open the gradebook") as refused:
        classgrade.autograde_class(toy_course, workers=1, db_url="postgresql://nobody:secret@127.0.0.1:9/none")
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value), str(refused.value)
