"""Kernels forked from a warm template (cnnviz.grading.kernel_template, cnnviz.grading.forkserver): each one is
as fresh and as jailed as a kernel started in a new bubblewrap, and nothing one student leaves
behind reaches the next student graded by the same worker."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_jail import _processes_named as processes_named
from test_bubblewrap import jail_command
from toycourse import NOTEBOOK, submit_answer

from cnnviz import ASSIGNMENT, COURSE_ROOT, CourseError, settings
from cnnviz.course import classgrade, grade_journal, nbrun, notebooks
from cnnviz.grading import bubblewrap, jail_policy, jail_probe, jail_user, kernel_template

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")
MARKER = "cnnviz-leftover-" + os.urandom(4).hex()

# The first student: leaves behind one of every kind the issue names, and checks that each one took
# (else x is not set and the student scores 0, which the test reports: a plant that did not take
# proves nothing about the next student).
PLANTER = f"""
# planted-by-the-first-student (the next one looks for this line in IPython's history)
import builtins, json, os, random, socket, subprocess, sys, time
import numpy, matplotlib, matplotlib.pyplot as plt, keras
print("STARTED", time.time())
print("DRAW", numpy.random.randint(2**62))
numpy.LEFTOVER = builtins.LEFTOVER = keras.LEFTOVER = json.LEFTOVER = "left"
ip = get_ipython()
def leftover_hook(*args, **kwargs):
    pass
ip.events.register("pre_run_cell", leftover_hook)
def leftover_transformer(lines):
    return lines
ip.input_transformers_cleanup.append(leftover_transformer)
ip.user_ns["LEFTOVER"] = "left"
startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
open(os.path.join(startup, "00-leftover.py"), "w").write("LEFTOVER_STARTUP = 1\\n")
matplotlib.rcParams["lines.linewidth"] = 42.0
plt.figure()
for _ in range(3):
    keras.layers.Dense(1)
keras.utils.set_random_seed(1234)
for path in (os.path.expanduser("~/leftover"), "/tmp/leftover", "/dev/shm/leftover"):
    open(path, "w").write("left")
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARKER}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
os.environ["LEFTOVER"] = "left"
os.putenv("LEFTOVER_PUTENV", "left")
tcp = socket.socket()
tcp.bind(("127.0.0.1", 45678))
tcp.listen()
abstract = socket.socket(socket.AF_UNIX)
abstract.bind("\\0cnnviz-leftover")
abstract.listen()
unix = socket.socket(socket.AF_UNIX)
unix.bind("/tmp/leftover.sock")
unix.listen()
time.sleep(1)
assert any(b"{MARKER}" in open(f"/proc/{{p}}/cmdline", "rb").read() for p in os.listdir("/proc") if p.isdigit())
x = 1
"""

# The next student: looks for each of them, and is graded 1 only when it finds none.
VICTIM = """
import builtins, json, os, random, socket, sys, time
import numpy, matplotlib, matplotlib.pyplot as plt, keras
print("STARTED", time.time())
draw = numpy.random.randint(2**62)
print("DRAW", draw)
first_random = random.random()
print("NAMES", json.dumps([layer.name for layer in keras.models.load_model("best-cnn-model.keras").layers]))
found = []
for module in (numpy, builtins, keras, json):
    if getattr(module, "LEFTOVER", None):
        found.append(f"an attribute of {module.__name__}")
ip = get_ipython()
if any(getattr(f, "__name__", "") == "leftover_hook" for f in ip.events.callbacks["pre_run_cell"]):
    found.append("an IPython event hook")
if any(getattr(f, "__name__", "") == "leftover_transformer" for f in ip.input_transformers_cleanup):
    found.append("an IPython input transformer")
if "LEFTOVER" in ip.user_ns or "LEFTOVER_STARTUP" in ip.user_ns:
    found.append("a name in IPython's namespace or from a startup file")
# Spelled in two halves: this cell's own source is in the history too.
if any("planted-by-" + "the-first" in entry for _, _, entry in ip.history_manager.get_range(raw=True, output=False)):
    found.append("IPython history")
if matplotlib.rcParams["lines.linewidth"] == 42.0:
    found.append("matplotlib rcParams")
if plt.get_fignums():
    found.append("an open matplotlib figure")
if keras.layers.Dense(1).name != "dense":
    found.append("Keras' layer name counter")
if draw == numpy.random.RandomState(1234).randint(2**62) or first_random == random.Random(1234).random():
    found.append("the random seed")
for path in ("~/leftover", "/tmp/leftover", "/dev/shm/leftover", "~/.ipython/profile_default/startup/00-leftover.py",
             "/tmp/leftover.sock"):
    if os.path.exists(os.path.expanduser(path)):
        found.append(f"the file {path}")
for pid in (p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()):
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"sleep" in command or b"cnnviz-left" + b"over" in command:
        found.append(f"the process {pid}")
if "LEFTOVER" in os.environ or "LEFTOVER_PUTENV" in os.environ:
    found.append("an environment variable")
for family, address in ((socket.AF_INET, ("127.0.0.1", 45678)), (socket.AF_UNIX, "\\0cnnviz-leftover")):
    probe = socket.socket(family)
    try:
        probe.connect(address)
        found.append(f"a listening socket {address!r}")
    except OSError:
        pass
    finally:
        probe.close()
print("FOUND", json.dumps(found))
plt.plot([0, 1])  # a fresh kernel shows this figure inline: so must a forked one
plt.show()
x = 1 if not found else found
"""


def printed(course, student):
    """Everything the student's graded notebook printed, as one text."""
    nb = notebooks.read_notebook(course / "autograded" / student / ASSIGNMENT / NOTEBOOK)
    return "".join(output.get("text", "") or f"{output.get('ename', '')}: {output.get('evalue', '')}\n"
                   for cell in nb.cells for output in cell.get("outputs", []))


def line_value(text, key):
    match = re.search(rf"^{key} (.*)$", text, re.M)
    assert match, f"no {key} line in:\n{text[-2000:]}"
    return match.group(1)


def fresh_python_layer_names():
    """The layer names a fresh Python gives the checkpoint: what a fresh kernel would print."""
    code = ("import json, keras\nprint(json.dumps([l.name for l in keras.models.load_model(%r).layers]))"
            % str(COURSE_ROOT / "source" / ASSIGNMENT / "best-cnn-model.keras"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=nbrun.nbgrader_env(),
                            timeout=300)
    return result.stdout.strip().splitlines()[-1]


def grade_serially_in_one_process(course):
    """Plain ``nbgrader autograde``: one process grades everyone, one after the other, from one template."""
    result = nbrun.run(["-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], course)
    assert result.returncode == 0, result.stdout[-3000:]


def grade_with_one_worker(course):
    """``python -m cnnviz autograde --workers 1``: one worker grades everyone."""
    outcomes = classgrade.autograde_class(course, workers=1, students=["a-planter", "b-victim"], quiet=True)
    assert all(o.ok for o in outcomes), [(o.student, o.message) for o in outcomes]
    records = {r["student"]: r for r in grade_journal.read_journal(course)}
    assert records["a-planter"]["nbgrader_pid"] == records["b-victim"]["nbgrader_pid"], "not one warm grader"
    assert records["b-victim"]["phases"]["kernel_kind"] == "template", records["b-victim"]["phases"]


@needs_bwrap
@pytest.mark.slow
@pytest.mark.parametrize("grade", [grade_serially_in_one_process, grade_with_one_worker])
def test_nothing_one_student_leaves_behind_reaches_the_next_student(toy_course, grade):
    submit_answer(toy_course, "a-planter", PLANTER)
    submit_answer(toy_course, "b-victim", VICTIM)
    grade(toy_course)

    planter, victim = printed(toy_course, "a-planter"), printed(toy_course, "b-victim")
    scores = {(s, cell): score for (s, cell), score in __import__("toycourse").gradebook_cells(toy_course).items()}
    assert scores[("a-planter", "test_x")] == 1, f"the leftovers were not all planted:\n{planter[-3000:]}"
    assert float(line_value(planter, "STARTED")) < float(line_value(victim, "STARTED")), \
        "the victim must be graded after the planter, by the same grader"
    assert json.loads(line_value(victim, "FOUND")) == [], "the next student found another student's leftovers"
    assert scores[("b-victim", "test_x")] == 1, victim[-3000:]
    assert line_value(planter, "DRAW") != line_value(victim, "DRAW"), \
        "two kernels from one template drew the same random numbers: NumPy's seed was not renewed"
    assert line_value(victim, "NAMES") == fresh_python_layer_names(), \
        "load_model named the layers differently from a fresh kernel"
    assert not processes_named(MARKER), "a process the planter started outlived its kernel"
    nb = notebooks.read_notebook(toy_course / "autograded" / "b-victim" / ASSIGNMENT / NOTEBOOK)
    assert any("image/png" in o.get("data", {}) for cell in nb.cells for o in cell.get("outputs", [])), \
        "the kernel drew its figure, but no inline PNG reached the notebook"


@needs_bwrap
@pytest.mark.slow
def test_a_kernel_forked_from_the_template_passes_the_jail_check_twice():
    sensitive = [str(COURSE_ROOT / "source"), str(COURSE_ROOT / ".git"), "/etc/shadow"]
    template = kernel_template.KernelTemplate(jail_policy.Limits(), jail_user.JAIL_USER, "")
    try:
        for _ in range(2):
            lines, ok = jail_probe.jail_check(jail_policy.Limits(), sensitive=sensitive, template=template)
            assert ok, "\n".join(lines)
            assert all(line.startswith("ok") for line in lines), "\n".join(lines)
    finally:
        template.close()
    assert not template.run.root.exists(), "the template's folder was left"


@needs_bwrap
@pytest.mark.slow
def test_a_dead_template_is_started_again_and_a_dead_kernel_fails_only_its_student(toy_course):
    submit_answer(toy_course, "a-dies", "import os\nos._exit(3)")
    submit_answer(toy_course, "b-honest", "x = 1")
    submit_answer(toy_course, "c-honest", "x = 1")
    # One grading process, as `nbgrader autograde`: its template is killed while it grades b-honest.
    script = f"""
import subprocess, sys, threading, time
from pathlib import Path
from cnnviz.grading import kernel_template
def kill_the_template_once():
    for _ in range(30000):  # up to 300 s: the first template starts slowly on a busy machine
        if Path({str(toy_course)!r}, "autograded", "b-honest").exists() and kernel_template._templates:
            for template in list(kernel_template._templates.values()):
                template.process.kill()
                print("KILLED THE TEMPLATE", template.process.pid, flush=True)
            return
        time.sleep(0.01)
threading.Thread(target=kill_the_template_once, daemon=True).start()
import atexit
atexit.register(lambda: print("TEMPLATES AT THE END", [t.process.pid for t in kernel_template._templates.values()
                                                       if t.alive()], flush=True))
from nbgrader.apps import NbGraderApp
sys.argv = ["nbgrader", "autograde", {ASSIGNMENT!r}, "--force"]
NbGraderApp.launch_instance()
"""
    result = nbrun.run(["-c", script], toy_course)
    output = result.stdout
    killed = re.search(r"^KILLED THE TEMPLATE (\d+)$", output, re.M)
    at_the_end = re.search(r"^TEMPLATES AT THE END \[(\d+)\]$", output, re.M)
    assert killed and at_the_end, output[-3000:]
    assert killed.group(1) != at_the_end.group(1), "the killed template was not replaced by a new one"
    from toycourse import gradebook_rows

    rows = gradebook_rows(toy_course)
    assert not rows.get("a-dies"), output[-3000:]
    assert rows["c-honest"] == 1, f"the student after the killed template was not graded:\n{output[-3000:]}"


def test_a_template_starts_ipython_kernels_only(tmp_path, monkeypatch):
    kernel = template_kernel(tmp_path, monkeypatch)
    with pytest.raises(CourseError, match="IPython kernels only"):
        kernel.command([sys.executable, "-I", "-m", "something_else"], [])


def test_the_request_carries_the_jail_uid_the_limits_and_the_allow_listed_environment(tmp_path, monkeypatch):
    kernel = template_kernel(tmp_path, monkeypatch)
    (tmp_path / "best-cnn-model.keras").write_text("checkpoint")
    command = kernel.command([sys.executable, "-I", "-m", "ipykernel_launcher", "-f", "k.json"],
                             [tmp_path / "best-cnn-model.keras"])
    assert command[1:4] == ["-I", "-S", "-c"], "the launcher must start isolated from the grader's site"
    request = json.loads(command[6])
    assert (request["uid"], request["gid"]) == (4242, 4243)
    assert request["environment"] == jail_policy.kernel_environment()
    assert request["rlimits"]["RLIMIT_AS"] == jail_policy.Limits().address_space_mb * jail_policy.MiB
    assert request["kernel_args"] == ["-f", "k.json"] and request["probe"] is None
    assert request["files"] == ["best-cnn-model.keras"]
    copy = Path(request["files_folder"]) / "best-cnn-model.keras"
    assert copy.read_text() == "checkpoint" and not copy.samefile(tmp_path / "best-cnn-model.keras"), \
        "the kernel gets a copy of the assignment's files, never the grader's own file"
    assert request["folder"].startswith(request["spool"]), "the kernel's folder lives in the template's spool"


def test_the_template_keeps_its_capabilities_and_its_kernels_keep_none(tmp_path):
    identity = jail_user.Identity(uid=4242, gid=4242, as_root=True, name="cnnviz-jail")
    command = bubblewrap.bwrap_command(["python", "-c", "serve"], identity, jail_policy.Limits(),
                                       shared_dir=tmp_path, etc_files={}, files=[], data_dir=None, template=True)
    added = [command[k + 1] for k, word in enumerate(command) if word == "--cap-add"]
    assert added == list(bubblewrap.TEMPLATE_CAPABILITIES)
    assert "setpriv" not in command and command[command.index("--") + 1:] == ["python", "-c", "serve"]
    assert [command[k + 1] for k, word in enumerate(command) if word == "--bind"] == [str(tmp_path)], \
        "the spool is the template's only writable bind"


def template_kernel(tmp_path, monkeypatch):
    """A TemplateKernel of a template that was never started (for the requests it builds)."""
    template = kernel_template.KernelTemplate.__new__(kernel_template.KernelTemplate)
    template.limits = jail_policy.Limits()
    template.identity = jail_user.Identity(uid=4242, gid=4243, as_root=True, name="cnnviz-jail")
    template.spool = tmp_path / "spool"
    template.spool.mkdir()
    template.control = template.spool / "control"
    template.run = type("NoCgroupRun", (), {"cgroup": None})()
    monkeypatch.setattr(os, "chown", lambda *args: None)
    return template.new_kernel()


def _seen_in_a_new_bubblewrap(command):
    """The environment a kernel started by this bubblewrap command sees: bubblewrap clears the
    grader's (--clearenv), sets each --setenv, then sets PWD to its --chdir folder."""
    assert "--clearenv" in command, "a new jail must not inherit the grader's environment"
    cleared = command.index("--clearenv")
    env = {}
    for k, word in enumerate(command[:command.index("--")]):
        if word == "--setenv":
            assert k > cleared, f"{command[k + 1]} is set before --clearenv and lost"
            env[command[k + 1]] = command[k + 2]
    env["PWD"] = command[command.index("--chdir") + 1]
    return env


def _seen_when_forked(command):
    """The environment a kernel forked from the template sees: cnnviz.grading.forkserver replaces its own
    by the request's (os.environ.clear, then update)."""
    return json.loads(command[6])["environment"]


def test_a_kernel_sees_the_same_environment_in_a_new_jail_and_forked_from_the_template(tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_DB_URL", "postgresql://grader:secret@127.0.0.1/cnnviz")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the course's commands draw off-screen; kernels must not
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    fresh = _seen_in_a_new_bubblewrap(jail_command(tmp_path))
    forked = _seen_when_forked(template_kernel(tmp_path, monkeypatch).command(
        [sys.executable, "-I", "-m", "ipykernel_launcher", "-f", "k.json"], []))
    assert fresh == forked, f"only in a new jail: {sorted(set(fresh.items()) - set(forked.items()))}; " \
                            f"only when forked: {sorted(set(forked.items()) - set(fresh.items()))}"
    # What either kernel needs, and nothing of the grader's own environment.
    assert fresh["MPLBACKEND"] == "module://matplotlib_inline.backend_inline", "figures would not reach the notebook"
    assert fresh["TF_CPP_MIN_LOG_LEVEL"] == "3", "TensorFlow's C++ lines would land in graded notebooks"
    assert fresh["HOME"] == fresh["PWD"] == jail_policy.HOME
    assert fresh["NBGRADER_EXECUTION"] == "autograde", "nbgrader's own flag must reach the kernel"
    assert "NBGRADER_DB_URL" not in fresh and "secret" not in json.dumps(fresh)


def test_where_no_template_can_start_kernels_get_a_jail_of_their_own_and_one_warning(monkeypatch):
    import logging

    attempts = []

    class Refused:
        def __init__(self, *args, **kwargs):
            attempts.append(args)
            raise kernel_template.TemplateUnavailable("its first kernel was not jailed as it must be: pid 7")

    monkeypatch.setattr(kernel_template, "KernelTemplate", Refused)
    monkeypatch.setattr(kernel_template, "_templates", {})
    monkeypatch.setattr(kernel_template, "_refused", set())
    records = []
    log = logging.getLogger("test-template")
    monkeypatch.setattr(log, "warning", lambda message, *args: records.append(message % args))
    limits = jail_policy.Limits(memory_mb=4000)
    assert kernel_template.shared_template(limits, jail_user.JAIL_USER, "", log=log) is None
    assert kernel_template.shared_template(limits, jail_user.JAIL_USER, "", log=log) is None
    assert len(attempts) == 1, "a template refused once is not tried again for every kernel"
    assert records == ["[jail] no kernel template (its first kernel was not jailed as it must be: pid 7); "
                       "each kernel starts in a new jail instead"]


def test_the_template_keeps_room_for_its_imports_whatever_the_kernels_limits():
    small = jail_policy.Limits(memory_mb=128, address_space_mb=512, processes=16, home_mb=16, tmp_mb=16)
    own = kernel_template.template_limits(small)
    floor = jail_policy.Limits()
    assert own.memory_mb >= floor.memory_mb and own.address_space_mb >= floor.address_space_mb
    assert (own.home_mb, own.tmp_mb) == (16, 16)


@needs_bwrap
@pytest.mark.slow
def test_an_idle_template_ends_by_itself_and_the_next_kernel_gets_a_new_one(monkeypatch):
    monkeypatch.setattr(kernel_template, "IDLE_SECONDS", 2.0)
    monkeypatch.setattr(kernel_template, "_templates", {})
    monkeypatch.setattr(kernel_template, "_refused", set())
    first = kernel_template.shared_template(jail_policy.Limits(), jail_user.JAIL_USER, "")
    try:
        deadline = time.monotonic() + 60
        while first.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not first.alive(), "an idle template did not end"
        second = kernel_template.shared_template(jail_policy.Limits(), jail_user.JAIL_USER, "")
        assert second is not first and second.alive()
    finally:
        kernel_template.close_all()


@needs_bwrap
@pytest.mark.slow
def test_a_template_started_early_from_a_thread_that_lives_on_is_the_one_the_first_kernel_gets(monkeypatch):
    monkeypatch.setattr(kernel_template, "_templates", {})
    monkeypatch.setattr(kernel_template, "_refused", set())
    try:
        kernel_template.start_early(jail_policy.Limits(), jail_user.JAIL_USER, "")
        kernel_template.start_early(jail_policy.Limits(), jail_user.JAIL_USER, "")  # a second call starts nothing more
        [early] = kernel_template._templates.values()
        assert early.alive() and not early.ready, "start_early must not wait for the template's imports"
        first = kernel_template.shared_template(jail_policy.Limits(), jail_user.JAIL_USER, "")
        assert first is early and first.ready, "the first kernel must get the template started early, ready"
        lines, ok = jail_probe.jail_check(jail_policy.Limits(), sensitive=["/etc/shadow"], template=first)
        assert ok, "\n".join(lines)
    finally:
        kernel_template.close_all()
