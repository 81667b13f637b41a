"""The kernel template's server (cnnviz/grading/forkserver.py), outside any jail and without its imports.

Its jail-building steps need the template's jail and are tested end to end in
tests/test_kernel_template.py; here, its loop: the control socket, bad
requests, the idle exit.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time

import pytest

from cnnviz import COURSE_ROOT

SERVE = """
import sys
from cnnviz.grading import forkserver
forkserver.WARM_IMPORTS = ()  # the loop alone: TensorFlow's import is the template's business
forkserver.serve(sys.argv[1], float(sys.argv[2]))
"""


@pytest.fixture
def server(tmp_path):
    control = tmp_path / "control"

    def start(idle_seconds: float = 0):
        process = subprocess.Popen([sys.executable, "-c", SERVE, str(control), str(idle_seconds)], cwd=COURSE_ROOT,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready", "the template never said it was ready"
        started.append(process)
        return process, control

    started: list[subprocess.Popen] = []
    yield start
    for process in started:
        process.kill()
        process.wait()


def ask(control, payload: bytes) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(20)
        connection.connect(str(control))
        connection.sendall(payload)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.decode()


def test_the_control_socket_is_the_owners_alone(server):
    _, control = server()
    assert stat.S_IMODE(os.stat(control).st_mode) == 0o600


def test_a_request_that_cannot_be_served_gets_one_error_and_the_template_goes_on(server):
    process, control = server()
    assert ask(control, b"not json") == "", "a request that is not JSON is dropped without an answer"
    reply = json.loads(ask(control, json.dumps({}).encode()))
    assert set(reply) == {"error"} and "\n" not in reply["error"], reply
    assert process.poll() is None, "a bad request must not end the template"
    assert "error" in json.loads(ask(control, json.dumps({"spool": "/nonexistent"}).encode()))


def test_an_idle_template_removes_its_socket_and_exits(server):
    process, control = server(idle_seconds=1.0)
    ask(control, json.dumps({}).encode())
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.returncode == 0, "an idle template must end by itself"
    assert not control.exists(), "the grader looks for the socket to know the template is gone"
