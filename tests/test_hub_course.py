"""The instructor's course on the hub (cnnviz/deploy/hub_course.py)."""

from __future__ import annotations

from cnnviz.deploy import hub_course


def test_the_instructors_kept_source_is_told_apart_from_the_repositorys(tmp_path):
    from cnnviz import ASSIGNMENT, COURSE_ROOT, settings

    notebook = tmp_path / "source" / ASSIGNMENT / settings.NOTEBOOK
    assert hub_course.source_differs(tmp_path)  # no source at all
    notebook.parent.mkdir(parents=True)
    notebook.write_bytes((COURSE_ROOT / "source" / ASSIGNMENT / settings.NOTEBOOK).read_bytes())
    assert not hub_course.source_differs(tmp_path)
    notebook.write_text(notebook.read_text() + "\n")
    assert hub_course.source_differs(tmp_path)
