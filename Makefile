# The course's commands. `make demo` and `make test` are the two that matter;
# the first one run creates .venv and installs the pinned packages into it.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Environment defaults (TensorFlow's log level, matplotlib's backend) come from
# cnnviz/settings.py: `python -m cnnviz` and the tests' conftest.py apply them.

.PHONY: help install lock data checkpoint train release update-assignment lab demo test test-slow test-hostile-user test-e2e test-all info hub hub-stop student-package test-hub roster

help:
	@echo "make demo       run the instructor's loop on the course (prepare data, check the checkpoint, ...)"
	@echo "make test       run the fast tests (under a minute on 2 cores)"
	@echo "make test-slow  run the slow end-to-end tests (notebook runs, nbgrader pipeline, accuracy)"
	@echo "make lab        JupyterLab with nbgrader's extensions, for students and instructors"
	@echo "make lock       requirements.lock again from pyproject.toml's pins (uv $(UV_VERSION))"
	@echo "make train      retrain source/cnn_visualization/best-cnn-model.keras (~3 min on 2 cores)"

# Everything is installed from requirements.lock (every package, transitive ones included, with
# hashes); pyproject.toml's direct pins are its human-readable source: `make lock` after editing them.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) cnnviz/course/supported_python.py || exit 2
	@test ! -x $(PY) || $(PY) cnnviz/course/supported_python.py || exit 2
	@echo "==> creating $(VENV) and installing requirements.lock (first run only; a few minutes)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# The hub extra (JupyterHub) and the test extra are in the lock too: `make hub` and CI install nothing more.
	$(PY) -m pip install --progress-bar on --require-hashes --no-deps -r requirements.lock
	@# The course itself, built by the lock's setuptools (no unpinned build environment).
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@# TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing) bypass Python and its
	@# log levels; without this ipykernel copies them into every notebook's outputs.
	@mkdir -p $(VENV)/etc/ipython
	@echo "c.IPKernelApp.capture_fd_output = False" > $(VENV)/etc/ipython/ipython_kernel_config.py
	@touch $(STAMP)

# requirements.lock again from pyproject.toml's pins, with uv (pinned here; installed into build/uv).
UV_VERSION := 0.13.9
UV := build/uv/bin/uv
lock:
	@test -x $(UV) && $(UV) --version | grep -q " $(UV_VERSION)" || { rm -rf build/uv; $(PYTHON) -m venv build/uv && build/uv/bin/pip install -q uv==$(UV_VERSION); }
	$(UV) pip compile pyproject.toml --extra test --extra hub --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-header -o requirements.lock
	@echo "==> requirements.lock written from pyproject.toml; the next make installs it into $(VENV)"

install: $(STAMP)

data: $(STAMP)
	@echo "==> placing Fashion-MNIST in Keras' cache"
	$(PY) -m cnnviz data

checkpoint: data
	@echo "==> checking the course checkpoint"
	$(PY) -m cnnviz check-checkpoint

train: data
	@echo "==> training the course checkpoint"
	$(PY) -m cnnviz train

release: data
	@echo "==> regenerating release/ and solutions/ from source/ with nbgrader"
	$(PY) -m cnnviz release

# After editing source/ once students have submitted (points, a test cell added or removed, a
# typo in a test): regenerate the release, regrade everyone, keep the manual grades (cnnviz/course/update.py).
update-assignment: data
	$(PY) -m cnnviz update-assignment

# The instructor's single-user JupyterLab (cnnviz/deploy/lab.py): inline figures in its kernels and in
# the formgrader's grading, --allow-root only as root. COURSE serves another course folder,
# LAB_ARGS passes options to `jupyter lab` (e.g. LAB_ARGS=--port=8899).
COURSE   ?= $(CURDIR)
LAB_ARGS ?=
lab: data
	@echo "==> JupyterLab with nbgrader's extensions on 127.0.0.1 (open the URL with its token below)"
	$(PY) -m cnnviz lab --course-dir $(COURSE) -- $(LAB_ARGS)

info: $(STAMP)
	$(PY) -m cnnviz info

demo: checkpoint
	@# Autograding runs each submission's kernel in the grading jail (cnnviz/grading/jail.py), built on bubblewrap.
	@command -v bwrap >/dev/null || { echo "==> installing bubblewrap"; apt-get install -y -q bubblewrap >/dev/null; } \
		|| { echo "error: install bubblewrap (sudo apt-get install bubblewrap): grading runs student code only in its jail"; exit 2; }
	@echo "==> the instructor's loop on a demo class, in its own scratch course under demo/"
	$(PY) -m cnnviz demo

# Two pytest-xdist workers, one per core, each given whole test files (--dist loadfile), so that
# a module's expensive fixtures (the lesson's solution run, the checkpoint) are made once. The
# slow suites below stay serial: each of their tests already keeps both cores busy.
test: data
	@echo "==> fast tests"
	$(PY) -m pytest -m "not slow" -n 2 --dist loadfile

test-slow: data
	@echo "==> slow end-to-end tests"
	$(PY) -m pytest -m "slow and not hub" --durations=30

# The hostile suite again as an unprivileged user (as root; CI runs it both ways).
test-hostile-user: data
	bash .ci/hostile-as-user

test-e2e: data
	@echo "==> JupyterLab in headless Chromium (needs: apt-get install chromium)"
	$(PY) -m pytest -m e2e

# A JupyterHub for the class on 127.0.0.1 (cnnviz/deploy/hub.py, each step in a cnnviz/deploy/hub_*.py): accounts,
# exchange, students' environment, the instructor's course. As root; idempotent; `make hub-stop` stops it.
hub: data
	@echo "==> JupyterHub for the course on 127.0.0.1"
	$(PY) -m cnnviz hub start

hub-stop: $(STAMP)
	$(PY) -m cnnviz hub stop

# The class list from the LMS into the gradebook (cnnviz/course/roster.py): make roster ROSTER=export.csv
# (Canvas gradebook or users export, Moodle participants export, or id,first name,last name,email).
roster: $(STAMP)
	@test -n "$(ROSTER)" || { echo "error: name the roster file: make roster ROSTER=path/to/roster.csv"; exit 2; }
	$(PY) -m cnnviz roster import "$(ROSTER)"

# The students' side: build/student/cnnviz_student-*.whl (the visible checks only).
student-package: $(STAMP)
	$(PY) -m cnnviz student-package

# The whole class loop in the browser on a real hub (instructor, student1, student2); the hub is
# stopped afterwards, pass or fail (screenshots and its log stay in test-artifacts/hub/).
# 3.6 min measured on this 2-core machine (216 s: `make hub` with the users' environment rebuilt ~30 s,
# the 16 browser and environment tests 186 s); a busy machine takes longer; a first run adds
# copying the interpreter (~5 s) and the npm install of the proxy (~10 s).
test-hub: hub
	@echo "==> the class loop on the hub in headless Chromium"
	@$(PY) -m pytest -m hub -p no:cacheprovider; status=$$?; $(PY) -m cnnviz hub stop; exit $$status

test-all: data
	$(PY) -m pytest
