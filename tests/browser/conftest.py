"""Browser tests: the playground page in Debian's chromium, driven headless by Playwright.

Skipped, with how to install what is missing, when Playwright's Python package
or /usr/bin/chromium is not there. Playwright never downloads a browser here:
it drives the system chromium (`executable_path`). `CE_SCREENSHOTS=1` saves
screenshots to docs/playground-*.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_INSTALL = "browser tests need Debian's chromium (apt-get install chromium) and Playwright (pip install playwright)"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def missing() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright is not installed; {HOW_TO_INSTALL}"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed; {HOW_TO_INSTALL}"
    return ""


def pytest_collection_modifyitems(config, items):
    """Browser tests are skipped, saying how to install what is missing, when Chromium or Playwright
    is not there. A page driven through a real browser, polling a live bot, can miss one refresh when
    the machine is busy: such a test gets two more tries. Every other test runs exactly once."""
    reason = missing()
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=reason) if reason else pytest.mark.flaky(reruns=2, reruns_delay=1))


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def playground(tmp_path):
    from bot.playground.main import Playground

    with Playground(port=0, data_dir=tmp_path / "data", assume_role_timeout="2") as running:
        yield running


@pytest.fixture
def page(chromium, playground):
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=playground.local_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(playground.local_url)
    yield page
    context.close()
    assert not errors, f"the page's script failed: {errors}"


@pytest.fixture
def screenshot(page):
    """`screenshot("name")` saves docs/playground-name.png when CE_SCREENSHOTS=1."""

    def take(name: str) -> None:
        if os.environ.get("CE_SCREENSHOTS") in ("1", "true", "yes"):
            DOCS.mkdir(exist_ok=True)
            page.wait_for_timeout(300)  # let the last poll land and fonts settle
            page.evaluate("document.getElementById('toast').hidden = true")
            page.screenshot(path=str(DOCS / f"playground-{name}.png"))

    return take
