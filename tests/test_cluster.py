"""A Dask cluster as on separate machines: a `dask scheduler`, two `dask worker`s and
the `cnnviz autograde` client, each its own process, grading into PostgreSQL.

The course lives in one folder (the "file server"); the workers and the client each
run in their own mount namespace where it is bind-mounted at one shared path, as an
NFS mount would be. The workers are started without NBGRADER_DB_URL: the client's
gradebook must reach them through the task. One run loses a worker mid-run, one
loses the scheduler; each compares every student's scores with nbgrader's serial
run and checks from the journal that no student was graded twice at once.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_gradebook_postgres import postgres_db_url  # noqa: F401 - a fixture
from toycourse import make_toy_course, submit_answer

from cnnviz import ASSIGNMENT
from cnnviz.course import grade_journal, nbrun, pipeline

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).parent / "dask"
# Each grading sleeps a little, so that a kill lands while students are in flight.
ANSWERS = {f"s{k:02d}": f"import time\ntime.sleep(1.5)\nx = {1 if k % 3 else 2}" for k in range(9)}
ANSWERS["s09"] = "x = 1 / 0"


@pytest.fixture(scope="module")
def serial_scores(tmp_path_factory):
    """Every student's per-cell scores from one serial `nbgrader autograde` (SQLite)."""
    course = make_toy_course(tmp_path_factory.mktemp("serial"))
    for student, answer in ANSWERS.items():
        submit_answer(course, student, answer)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], cwd=course,
                   env={**nbrun.nbgrader_env(), **env}, check=True, capture_output=True)
    scores = pipeline.read_scores(course, f"sqlite:///{course / 'gradebook.db'}")
    assert sorted(scores) == sorted(ANSWERS) and len({sum(v.values()) for v in scores.values()}) > 1
    return scores


class Cluster:
    """A course on a "file server", seen at one shared path by a scheduler, workers and clients."""

    def __init__(self, tmp_path: Path, db_url: str):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            message = "the cluster tests need root and unshare(1) for their mount namespaces"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.server = make_toy_course(tmp_path / "server")
        for student, answer in ANSWERS.items():
            submit_answer(self.server, student, answer)
        # Only the namespaces see the course here; in ours it stays an empty folder.
        self.shared = tmp_path / "nfs" / "course"
        self.shared.mkdir(parents=True)
        self.db_url = db_url
        self.processes: list[subprocess.Popen] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
        # The workers' environment has no gradebook URL: it must come with each task.
        self.worker_env = {k: v for k, v in nbrun.nbgrader_env().items() if k != "NBGRADER_DB_URL"}
        self.scheduler = self._start([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                      self.address.rsplit(":", 1)[1], "--no-dashboard"], self.worker_env,
                                     namespace=False)
        self.workers = [self._start([str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny",
                                     "--no-dashboard", "--name", f"worker{k}"], self.worker_env)
                        for k in range(2)]
        self._wait_for_workers(2)

    def _start(self, command, env, namespace=True, **kwargs) -> subprocess.Popen:
        if namespace:
            # unshare and sh exec in place: the process we get is the command itself.
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                       'mount --bind "$0" "$1" && shift && exec "$@"', str(self.server), str(self.shared),
                       *command]
        process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, **kwargs)
        self.processes.append(process)
        return process

    def _wait_for_workers(self, count: int) -> None:
        from distributed import Client

        deadline = time.monotonic() + 120
        with Client(self.address, timeout="60s") as client:
            while len(client.scheduler_info()["workers"]) < count:
                assert time.monotonic() < deadline, "the Dask workers did not join the scheduler in 120 s"
                time.sleep(0.5)

    def autograde(self, *options: str) -> subprocess.Popen:
        """`python -m cnnviz autograde` in its own namespace, with the gradebook in its environment."""
        env = {**nbrun.nbgrader_env(), "NBGRADER_DB_URL": self.db_url}
        return self._start([sys.executable, "-m", "cnnviz", "autograde", "--course-dir", str(self.shared),
                            *options], env)

    def journal(self) -> list[dict]:
        return grade_journal.read_journal(self.server)

    def wait_for(self, condition, what: str, timeout: float = 240) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            journal = self.journal()
            if condition(journal):
                return journal
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}; journal: {self.journal()}")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def cluster(tmp_path, postgres_db_url):  # noqa: F811 - the imported fixture
    running = Cluster(tmp_path, postgres_db_url)
    try:
        yield running
    finally:
        running.close()


def exit_time(pid: int, timeout: float) -> float | None:
    """When process ``pid`` exits (now, if it is gone already), or None if it lives past ``timeout``."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return time.time()
    try:
        ready, _, _ = select.select([handle], [], [], timeout)
        return time.time() if ready else None
    finally:
        os.close(handle)


def assert_never_graded_twice_at_once(journal: list[dict], ends: dict[str, float]) -> None:
    """No two attempts on one student overlap; a cut-off attempt ends when its nbgrader died (``ends``)."""
    by_student: dict[str, list[tuple[float, float]]] = {}
    for record in journal:
        end = record.get("ended", ends.get(record["attempt"]))
        assert end is not None, f"an attempt was cut off and nobody saw its nbgrader end: {record}"
        by_student.setdefault(record["student"], []).append((record["started"], end))
    for student, spans in by_student.items():
        spans.sort()
        for (_, first_end), (second_start, _) in zip(spans, spans[1:]):
            assert second_start >= first_end, f"{student} was graded by two nbgrader processes at once: {spans}"


def assert_scores_equal_serial(cluster: Cluster, serial_scores) -> None:
    scores = pipeline.read_scores(cluster.server, cluster.db_url)
    assert scores == serial_scores, "the cluster's gradebook differs from nbgrader's serial run"


def test_a_worker_killed_mid_run_loses_no_student_and_grades_none_twice_at_once(cluster, serial_scores):
    client = cluster.autograde("--scheduler", cluster.address)
    victim = cluster.workers[0]

    def victim_is_mid_run(journal):
        mine = [r for r in journal if r["worker_pid"] == victim.pid]
        running = [r for r in mine if "ended" not in r and "nbgrader_pid" in r]
        return any("ended" in r for r in mine) and running and time.time() - running[0]["started"] > 1.0

    journal = cluster.wait_for(victim_is_mid_run, "the first worker to finish a student and start another")
    cut = [r for r in journal if r["worker_pid"] == victim.pid and "ended" not in r]
    finished_by_victim = {r["student"] for r in journal if r["worker_pid"] == victim.pid and "ended" in r}
    kernels = {}
    for record in cut:
        try:
            kernels[record["attempt"]] = psutil.Process(record["nbgrader_pid"]).children(recursive=True)
        except psutil.NoSuchProcess:
            kernels[record["attempt"]] = []

    victim.send_signal(signal.SIGKILL)  # the worker alone, not its process group
    ends = {}
    for record in cut:
        ends[record["attempt"]] = exit_time(record["nbgrader_pid"], timeout=10)
        assert ends[record["attempt"]] is not None, f"{record['student']}'s nbgrader outlived its dead worker"
    gone, alive = psutil.wait_procs([p for ps in kernels.values() for p in ps], timeout=15)
    assert not alive, f"the dead worker's grading processes still run: {alive}"

    out, err = client.communicate(timeout=400)
    assert client.returncode == 0, f"exit {client.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    assert f"graded {len(ANSWERS)}, failed 0" in out, out[-2000:]
    assert_scores_equal_serial(cluster, serial_scores)
    journal = cluster.journal()
    assert_never_graded_twice_at_once(journal, ends)
    for record in cut:
        retries = [r for r in journal if r["student"] == record["student"] and r.get("ok")]
        assert retries, f"{record['student']}, cut off with its worker, was never graded again"
    again = [r["student"] for r in journal if r["student"] in finished_by_victim and r["worker_pid"] != victim.pid]
    assert not again, f"students already graded on the dead worker were graded again: {again}"
    # Each worker's thread graded student after student in one warm grader process, and none is
    # left once the run is over (the survivor's are stopped at its end).
    survivor = [r for r in journal if r["worker_pid"] == cluster.workers[1].pid and "ended" in r]
    assert {r["grader"] for r in journal} == {"warm"}, "the workers must grade with warm graders"
    assert len({r["nbgrader_pid"] for r in survivor}) < len(survivor), "the survivor started a grader per student"
    kinds = {r.get("phases", {}).get("kernel_kind") for r in survivor if r.get("ok")}
    assert kinds == {"template"}, f"the survivor's kernels must come from its own warm template: {kinds}"
    leftover = [pid for pid in {r["nbgrader_pid"] for r in journal} if exit_time(pid, timeout=10) is None]
    assert not leftover, f"grader processes outlived the class run: {leftover}"


def test_a_lost_scheduler_is_one_line_a_summary_and_a_resume_that_grades_only_the_missing(cluster, serial_scores):
    client = cluster.autograde("--scheduler", cluster.address)
    cluster.wait_for(lambda journal: sum("ended" in r for r in journal) >= 2, "two students graded")
    cluster.scheduler.send_signal(signal.SIGKILL)

    out, err = client.communicate(timeout=180)
    assert client.returncode == 3, f"exit {client.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    assert "Traceback" not in err, f"{out[-2000:]}\n{err[-3000:]}"
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "lost the Dask scheduler" in errors[0] and "--missing" in errors[0], err[-2000:]
    graded_line = next(line for line in out.splitlines() if line.startswith("[autograde] graded "))
    assert "[autograde] not graded " in out, out[-2000:]
    reported = set(graded_line.split(": ", 1)[1].split(", ")) - {"-"}
    assert reported, f"the summary names nobody as graded: {out[-2000:]}"

    # The workers give up on a lost scheduler by themselves; what they left running must die with them.
    for worker in cluster.workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
    ends = {r["attempt"]: exit_time(r["nbgrader_pid"], timeout=15)
            for r in cluster.journal() if "ended" not in r and "nbgrader_pid" in r}
    assert None not in ends.values(), "an nbgrader process outlived its worker"
    done = {r["student"] for r in cluster.journal() if r.get("ok")}
    assert reported <= done, f"the summary calls {reported - done} graded, the journal does not"
    missing = set(ANSWERS) - done
    assert missing, "the scheduler was killed after everyone was graded; the test proves nothing"

    resumed_at = time.time()
    resume = cluster.autograde("--missing", "--workers", "2")
    out, err = resume.communicate(timeout=400)
    assert resume.returncode == 0, f"exit {resume.returncode}\n{out[-3000:]}\n{err[-3000:]}"
    journal = cluster.journal()
    regraded = {r["student"] for r in journal if r["started"] >= resumed_at}
    assert regraded == missing, f"--missing graded {sorted(regraded)}, the missing were {sorted(missing)}"
    assert_scores_equal_serial(cluster, serial_scores)
    assert_never_graded_twice_at_once(journal, ends)
