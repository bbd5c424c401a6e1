"""A logged-in browser page for the web app's tests, and their screenshots."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from conftest import REPO

ARTIFACTS = Path(os.environ.get("INTERDICT_TEST_ARTIFACTS", REPO / "test-artifacts"))


@contextmanager
def logged_in(browser, site_url: str, key: str, path: str = "/"):
    """A page logged in with ``key`` through the login form ``path`` sends a stranger to,
    failing the test on any dialog, script error or request off the site."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    trouble: list[str] = []
    page.on("dialog", lambda dialog: (trouble.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: trouble.append(f"script error: {error}"))
    page.on("request", lambda request: None if request.url.startswith((site_url, "data:", "about:"))
            else trouble.append(f"request off the site: {request.url}"))
    page.goto(f"{site_url}{path}")
    assert "/login" in page.url  # no key yet: the login form, then back where we were going
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    yield page
    context.close()
    assert not trouble, trouble


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
