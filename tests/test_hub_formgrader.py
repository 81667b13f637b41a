"""cnnviz.deploy.hub_formgrader: which pages JupyterLab may frame, and the formgrader's links outside it."""

from __future__ import annotations

import types

from tornado.httputil import HTTPHeaders

from cnnviz.deploy import hub_formgrader

BASE = "/user/instructor/"
HUB_DEFAULT = "frame-ancestors 'none'; report-uri /user/instructor/api/security/csp-report"


def _served(path: str, status: int = 200, policy: str = HUB_DEFAULT) -> str:
    transform = hub_formgrader.framing_transform(BASE)(types.SimpleNamespace(path=path))
    headers = HTTPHeaders({"Content-Security-Policy": policy})
    if status == 200:
        headers["Content-Type"] = "text/html; charset=UTF-8"
    _, headers, _ = transform.transform_first_chunk(status, headers, b"<html></html>" if status == 200 else b"", True)
    return headers["Content-Security-Policy"]


def test_only_the_formgraders_pages_may_be_framed_by_the_server_itself():
    for page in ("formgrader", "formgrader/manage_assignments", "formgrader/manage_submissions/cnn_visualization",
                 "formgrader/submissions/0123abcd/", "formgrader/manage_students/student1/cnn_visualization",
                 "formgrader/gradebook/cnn_visualization/cnn_visualization"):
        policy = _served(BASE + page)
        assert policy.startswith("frame-ancestors 'self'") and "'none'" not in policy, (page, policy)
        assert "report-uri /user/instructor/api/security/csp-report" in policy  # the rest of the header is kept
    # Everything else keeps JupyterHub's frame-ancestors 'none': JupyterLab, files, the API, a submission's files.
    for other in ("lab", "lab/tree/feedback", "files/grades.csv", "api/contents", "formgrader/api/assignments",
                  "formgrader/submissions/0123abcd/evil.html", "formgrader/static/js/utils.js",
                  "tree/formgrader/manage_assignments"):
        assert _served(BASE + other) == HUB_DEFAULT, other
    # Another user's server prefix is not the instructor's.
    assert _served("/user/student1/formgrader/manage_assignments") == HUB_DEFAULT
    # A 304 (no Content-Type) replaces the headers of the browser's cached page: it must say 'self' too,
    # or the cached formgrader page is refused in JupyterLab's frame. A redirect as well.
    for status in (304, 302):
        assert _served(BASE + "formgrader/manage_assignments", status=status).startswith("frame-ancestors 'self'")
    assert _served(BASE + "lab", status=304) == HUB_DEFAULT


def test_other_directives_of_the_policy_stay_as_they_are():
    policy = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; sandbox allow-scripts"
    assert hub_formgrader.with_frame_ancestors_self(policy) == (
        "frame-ancestors 'self'; default-src 'self'; script-src 'self' 'unsafe-inline'; sandbox allow-scripts")
    assert hub_formgrader.with_frame_ancestors_self(None) == "frame-ancestors 'self'"


def test_outside_jupyterlab_the_links_open_this_servers_jupyterlab():
    script = hub_formgrader.utils_js()
    assert "var linkTo = function" in script, "nbgrader's utils.js changed: check cnnviz/deploy/hub_formgrader.py"
    assert script.index("var linkTo = function") < script.index(hub_formgrader.LINKS_OUTSIDE_LAB)
    assert '"/lab/tree/"' in hub_formgrader.LINKS_OUTSIDE_LAB and "window !== window.top" in hub_formgrader.LINKS_OUTSIDE_LAB


def test_the_extension_is_found_by_jupyter_server():
    points = hub_formgrader._jupyter_server_extension_points()
    assert points == [{"module": "cnnviz.deploy.hub_formgrader"}]
    # Loaded before nbgrader's formgrader (jupyter_server loads extensions in name order): its utils.js route wins.
    assert sorted(["nbgrader.server_extensions.formgrader", points[0]["module"]])[0] == points[0]["module"]
