"""The course's JupyterHub in the browser: the hub brought up, accounts logged in
(test_hub_class, test_hub_shown, test_hub_roster)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from cnnviz.deploy import hub, hub_process

SPAWN_TIMEOUT = 300_000  # ms: a user's server starts in ~30 s on a busy 2-core machine
VIEWPORT = {"width": 1400, "height": 1000}
START_ATTEMPTS = 3  # the hub's start-up only: a port still closing from an earlier run


def up() -> dict[str, str]:
    """`make hub`'s steps and the hub running (started by `make test-hub`; started here otherwise): each
    account's password by name. Fails the test with the last reason when the hub does not start."""
    last = None
    for _ in range(START_ATTEMPTS):
        try:
            return {a.name: a.password for a in hub.up()}
        except Exception as exc:  # noqa: BLE001 - retried, then reported
            last = exc
            hub_process.stop_hub()
    pytest.fail(f"the hub did not start: {last}", pytrace=False)


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


@contextmanager
def logged_in_pages(browser, hub_url: str, accounts: dict[str, str]):
    """``page_of(user)``: one logged-in page per account (own context: own cookies), made on first use;
    every context is closed on leaving."""
    made = {}

    def page_of(user: str):
        if user not in made:
            made[user] = log_in(browser, hub_url, user, accounts[user])
        return made[user]

    try:
        yield page_of
    finally:
        for page in made.values():
            page.context.close()
