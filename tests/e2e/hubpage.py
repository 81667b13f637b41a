"""The course's JupyterHub in the browser: logging an account in (test_hub_class, test_hub_shown, test_hub_roster)."""

from __future__ import annotations

SPAWN_TIMEOUT = 300_000  # ms: a user's server starts in ~30 s on a busy 2-core machine
VIEWPORT = {"width": 1400, "height": 1000}


def log_in(browser, hub_url: str, user: str, password: str, timeout_ms: int = 120_000):
    """A page of its own browser context (own cookies), logged in as ``user``, once JupyterLab shows
    nbgrader's menu (the server started and its extensions loaded). Close ``page.context`` when done."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    page.goto(f"{hub_url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=SPAWN_TIMEOUT)
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=SPAWN_TIMEOUT)
    return page
