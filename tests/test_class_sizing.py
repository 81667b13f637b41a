"""Who a class run grades and with how many graders (cnnviz/course/class_sizing.py)."""

import os

import pytest

from cnnviz import ASSIGNMENT, settings
from cnnviz.course import class_sizing


@pytest.mark.parametrize("cores, free_mib, workers", [
    (2, 24000, 2),   # this machine: cores decide
    (16, 4000, 3),   # memory decides: 4000 // 1200
    (8, 500, 1),     # never fewer than one
])
def test_the_default_number_of_workers_is_cores_capped_by_memory(monkeypatch, cores, free_mib, workers):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(class_sizing, "_available_memory_bytes", lambda: free_mib * 2**20)
    assert settings.MEMORY_PER_WORKER_MB == 1200
    assert class_sizing.default_workers() == workers


def test_the_students_are_the_submitted_folders_holding_the_assignment(tmp_path):
    for name in ("kim", "lee", ".hidden"):
        (tmp_path / "submitted" / name / ASSIGNMENT).mkdir(parents=True)
    (tmp_path / "submitted" / "park" / "another-assignment").mkdir(parents=True)
    assert class_sizing.submitted_students(tmp_path) == ["kim", "lee"]
    assert class_sizing.submitted_students(tmp_path / "no-course") == []
