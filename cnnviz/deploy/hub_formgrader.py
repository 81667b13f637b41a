"""The instructor's server on the hub: the formgrader inside JupyterLab, and its links outside it.

A Jupyter server extension, enabled only in the instructor's server by ``make hub``
(``~instructor/.jupyter/jupyter_server_config.d/cnnviz-hub.json``):

- **Framing.** JupyterHub 5's single-user server sends
  ``Content-Security-Policy: frame-ancestors 'none'`` on every page, so
  *Nbgrader → Formgrader*, which JupyterLab shows in an iframe, says "refused to
  connect" (jupyter/nbgrader#1870; nbgrader's documentation restores
  ``frame-ancestors 'self'`` for the whole server). Here only the formgrader's
  own HTML pages (the routes of nbgrader's ``formgrader.handlers``, not the files
  of a submission it serves, not its API) get ``frame-ancestors 'self'``; every
  other directive of the header is kept, and every other page of the server
  stays unframeable.
- **Links.** Opened in a browser tab of its own, the formgrader links an
  assignment's folders and notebooks to ``/tree/...``, ``/notebooks/...`` at the
  site's root, which on a hub is the hub's (404). Its ``utils.js`` is served with
  those links pointed at this server's JupyterLab (``<server>/lab/tree/<path>``);
  inside JupyterLab nbgrader's own messages to JupyterLab are used unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from tornado import web
from tornado.web import OutputTransform

FRAME_ANCESTORS = "frame-ancestors 'self'"
UTILS_JS = "formgrader/static/js/utils.js"
# Appended to nbgrader's utils.js. The server's base URL comes from this script's own address.
LINKS_OUTSIDE_LAB = """
// cnnviz (cnnviz/deploy/hub_formgrader.py): in a tab of its own, nbgrader's links point at /tree/,
// /notebooks/ and /edit/ at the site's root, the hub's own pages (404); open them in this
// server's JupyterLab. Inside JupyterLab (an iframe) nbgrader's linkTo is used unchanged.
var linkTo = (function (nbgraderLinkTo) {
    var server = (document.currentScript && document.currentScript.src || "").split("/formgrader/static/")[0];
    return function (type, path) {
        if (window !== window.top || !server) {
            return nbgraderLinkTo(type, path);
        }
        return function (_, el) {
            return $(el).attr("href", server + "/lab/tree/" + String(path).replace(/^(\\.\\/)+/, ""))
                .attr("target", "_blank")[0];
        };
    };
})(linkTo);
"""


def with_frame_ancestors_self(policy: str | None) -> str:
    """``policy`` with its ``frame-ancestors`` directive replaced by ``'self'`` (added if missing)."""
    directives = [d.strip() for d in (policy or "").split(";") if d.strip()]
    kept = [d for d in directives if d.split()[0].lower() != "frame-ancestors"]
    return "; ".join([FRAME_ANCESTORS, *kept])


def formgrader_pages(base_url: str) -> list[re.Pattern]:
    """The formgrader's HTML pages under ``base_url``: nbgrader's page routes, not a submission's files."""
    from nbgrader.server_extensions.formgrader import handlers

    prefix = base_url.rstrip("/")
    return [re.compile(re.escape(prefix) + route[0]) for route in handlers.default_handlers
            if issubclass(route[1], handlers.BaseHandler) and not issubclass(route[1], web.StaticFileHandler)]


def frameable(path: str, pages: list[re.Pattern]) -> bool:
    return any(page.fullmatch(path) for page in pages)


def framing_transform(base_url: str) -> type[OutputTransform]:
    """A tornado output transform that lets JupyterLab frame the formgrader's pages, and nothing else."""
    pages = formgrader_pages(base_url)

    class FormgraderFraming(OutputTransform):
        def __init__(self, request):
            super().__init__(request)
            self.path = request.path

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            # Every answer on a page route, whatever its status: a 304 (the browser revalidating its
            # cached page) has no Content-Type, and its headers replace the cached ones.
            if frameable(self.path, pages):
                headers["Content-Security-Policy"] = with_frame_ancestors_self(headers.get("Content-Security-Policy"))
            return status_code, headers, chunk

    return FormgraderFraming


def utils_js() -> str:
    """nbgrader's formgrader ``utils.js`` with the links fixed for a tab outside JupyterLab."""
    from nbgrader.server_extensions.formgrader import handlers

    return (Path(handlers.static_path) / "js" / "utils.js").read_text() + LINKS_OUTSIDE_LAB


class UtilsJsHandler(web.RequestHandler):
    """``formgrader/static/js/utils.js``, served before nbgrader's static files (this extension loads first)."""

    def get(self):
        self.set_header("Content-Type", "application/javascript; charset=UTF-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(utils_js())


def _jupyter_server_extension_points():
    return [{"module": "cnnviz.deploy.hub_formgrader"}]


def _load_jupyter_server_extension(serverapp):
    """Install the transform and the script. Extensions load in name order: ``cnnviz.*`` before
    ``nbgrader.*``, so this route for utils.js comes before nbgrader's static route."""
    webapp = serverapp.web_app
    base_url = webapp.settings.get("base_url", "/")
    webapp.add_transform(framing_transform(base_url))
    webapp.add_handlers(".*$", [(base_url.rstrip("/") + "/" + UTILS_JS, UtilsJsHandler)])
    serverapp.log.info("cnnviz: the formgrader's pages may be framed by this server's JupyterLab; "
                       "every other page keeps frame-ancestors 'none'")
