"""Real-browser journeys: the portal served on 127.0.0.1, driven by Playwright in
Debian's Chromium, checked with axe-core.

Run with `make e2e`. Set E2E_SCREENSHOTS_DIR to keep screenshots of the main pages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests import factories

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.e2e


def pytest_collection_modifyitems(items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM}")
        for item in items:
            item.add_marker(skip)


class LiveServer:
    def __init__(self, app, host: str = "127.0.0.1") -> None:
        self.app = app
        self.server = make_server(host, 0, app, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("e2e") / "portal-e2e.db"
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "RATELIMIT_ENABLED": False,
        "PRIVACY_MIN_N": 3,
        "PRIVACY_MIN_COMMENTS": 3,
    })
    with app.app_context():
        upgrade(revision="heads")
        factories.load_plan()
        factories.make_user(role="member", email="member@example.org", display_name="Mia Member")
        factories.make_user(role="leader", email="leader@example.org", display_name="Lee Leader")
        factories.make_user(role="admin", email="admin@example.org", display_name="Ada Admin")
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[LiveServer]:
    server = LiveServer(live_app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, live_server):
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base = live_server.url  # type: ignore[attr-defined]
    return page


def check_a11y(page, label: str) -> None:
    """Run axe-core on the page; fail listing the rule, the element and the page."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    problems = []
    for violation in result.response["violations"]:
        for node in violation["nodes"]:
            problems.append(f"[{label}] {page.url} rule={violation['id']} "
                            f"({violation['impact']}): {violation['help']} "
                            f"element={node['target']} html={node['html'][:160]}")
    assert not problems, "axe-core found violations:\n" + "\n".join(problems)


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot when E2E_SCREENSHOTS_DIR is set (for review)."""
    folder = os.environ.get("E2E_SCREENSHOTS_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def sign_in(page, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(page.base + "/auth/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


