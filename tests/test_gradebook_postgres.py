"""The gradebook on a real PostgreSQL server, through nbgrader's db_url.

`.ci/run` starts Debian's PostgreSQL on 127.0.0.1 (script `.ci/postgres`) and
the tests create and drop their own database. Without a server they fail in
CI and are skipped elsewhere, with the command that starts one.
"""

import os
import uuid

import pytest

from cnnviz import classgrade, grading
from toycourse import submit_answer

pytestmark = pytest.mark.slow

ADMIN_URL = os.environ.get("CNNVIZ_TEST_POSTGRES", "postgresql://cnnviz:cnnviz@127.0.0.1:5432/postgres")


@pytest.fixture
def postgres_db_url():
    """A fresh database on the test server, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(ADMIN_URL, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as exc:
        message = f"no PostgreSQL at {ADMIN_URL} ({str(exc).strip()}); start one with `bash .ci/postgres`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"cnnviz_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_a_class_is_graded_into_a_postgresql_gradebook(toy_course, postgres_db_url, monkeypatch):
    # nbgrader_config.py reads the gradebook's URL from NBGRADER_DB_URL.
    monkeypatch.setenv("NBGRADER_DB_URL", postgres_db_url)
    assert grading.db_url(toy_course) == postgres_db_url
    grading.run_nbgrader("generate_assignment", "cnn_visualization", "--force", root=toy_course, quiet=True)
    answers = {"ana": "x = 1", "ben": "x = 2", "cho": "x = 1", "dan": "raise ValueError('no')"}
    for student, answer in answers.items():
        submit_answer(toy_course, student, answer)

    outcomes = classgrade.autograde_class(toy_course, workers=4)

    assert all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok]
    scores = grading.read_scores(toy_course, postgres_db_url)
    assert {s: v["test_x"] for s, v in scores.items()} == {"ana": 1.0, "ben": 0.0, "cho": 1.0, "dan": 0.0}
    assert not (toy_course / "gradebook.db").exists() or grading.read_scores(toy_course, "sqlite:///" + str(
        toy_course / "gradebook.db")) == {}, "grades went to the SQLite file instead of PostgreSQL"
