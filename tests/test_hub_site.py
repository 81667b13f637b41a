"""The hub's folders, ports and accounts' names (cnnviz/deploy/hub_site.py)."""

from __future__ import annotations

import pytest

from cnnviz import CourseError
from cnnviz.deploy import hub_site


@pytest.mark.parametrize("count", ["0", "x", "501"])
def test_a_bad_number_of_students_is_one_clear_error(monkeypatch, count):
    monkeypatch.setenv("CNNVIZ_HUB_STUDENTS", count)
    with pytest.raises(CourseError, match="CNNVIZ_HUB_STUDENTS"):
        hub_site.students()


@pytest.mark.parametrize("port", ["0", "http", "65455", "-1"])
def test_a_port_with_no_room_for_the_hubs_other_two_is_one_clear_error(monkeypatch, port):
    monkeypatch.setenv("CNNVIZ_HUB_PORT", port)
    with pytest.raises(CourseError, match="CNNVIZ_HUB_PORT.*give a port number"):
        hub_site.ports()


def test_a_failed_setup_command_is_one_line_with_the_tail_of_its_output():
    with pytest.raises(CourseError) as caught:
        hub_site.run("sh", "-c", "echo one; echo two >&2; echo three >&2; exit 3")
    assert "\n" not in str(caught.value) and str(caught.value).endswith("failed: two | three"), caught.value
