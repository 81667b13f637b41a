"""What each account's JupyterLab on the hub shows, and what students' does not.

Every account: no "Jupyter news?" question and no update checks (the hub is
offline). Students: a config folder searched first by their servers, without
nbgrader's formgrader, Create Assignment and course list (they keep the
Assignments tab and Validate), and "no feedback yet" said in words in the
Assignments tab. The instructor's formgrader, framed by JupyterLab, is
``cnnviz.deploy.hub_formgrader``.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

from cnnviz.deploy import hub_site

STUDENT_CONFIG = hub_site.SYSTEM / "student-config"
# Plugins of nbgrader's JupyterLab extension that students must not get.
STUDENT_DISABLED_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                            "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                      "nbgrader.server_extensions.course_list")

# nbgrader's Assignments tab leaves a submission's feedback column empty when there is no
# feedback to fetch (an empty <span>; "(view feedback)" is a link, "(feedback available to
# fetch)" a span with text): a student who pressed Fetch Feedback too early saw nothing at all.
NO_FEEDBACK_WORDS = "아직 받을 피드백이 없습니다 / no feedback yet"
NO_FEEDBACK_CSS = (
    "/* Written by `make hub` (cnnviz/deploy/hub_jupyterlab.py): say in words that there is no feedback yet. */\n"
    "#nbgrader-assignment-list .nested_list_item .item_name > span:empty::after {\n"
    f'  content: " ({NO_FEEDBACK_WORDS})";\n'
    "  color: var(--jp-ui-font-color2);\n"
    "}\n")


def ensure_no_feedback_words(home: Path, name: str) -> None:
    """The student's JupyterLab custom CSS (``LabApp.custom_css`` in the student config): "no feedback yet"."""
    entry = pwd.getpwnam(name)
    folder = home / ".jupyter" / "custom"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "custom.css").write_text(NO_FEEDBACK_CSS)
    for path in (home / ".jupyter", folder, folder / "custom.css"):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def ensure_lab_settings() -> None:
    """Every account's JupyterLab: no "Jupyter news?" question and no update checks (the hub is offline)."""
    folder = hub_site.ENV / "share" / "jupyter" / "lab" / "settings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}},
        indent=2))
    os.chmod(folder / "overrides.json", 0o644)


def ensure_student_config() -> Path:
    """Config folder searched first by students' servers: no formgrader, no Create Assignment, no course list."""
    (STUDENT_CONFIG / "labconfig").mkdir(parents=True, exist_ok=True)
    (STUDENT_CONFIG / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {plugin: True for plugin in STUDENT_DISABLED_PLUGINS}}, indent=2))
    (STUDENT_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False for name in STUDENT_DISABLED_SERVER_EXTENSIONS}},
         "LabApp": {"custom_css": True}},  # NO_FEEDBACK_CSS, in each student's ~/.jupyter/custom
        indent=2))
    hub_site.run("chmod", "-R", "a+rX", str(STUDENT_CONFIG))
    return STUDENT_CONFIG
