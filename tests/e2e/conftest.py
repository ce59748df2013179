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
        seed_demo_data(app)
        member = factories.make_user(role="member", email="member@example.org",
                                     display_name="Mia Member", career_stage="mid")
        second = factories.make_user(role="member", email="second@example.org",
                                     display_name="Sam Second")
        factories.make_user(role="leader", email="leader@example.org", display_name="Lee Leader")
        factories.make_user(role="admin", email="admin@example.org", display_name="Ada Admin")
        seed_comments(member, second)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


def seed_demo_data(app) -> None:
    """Enough data once per session for the leadership pages to show figures: the demo
    generator's members, two rounds (the second open), comments and updates, and the
    PD-needs survey open with a dozen responses."""
    from portal.reports.demo import create_demo
    from portal.surveys.templates import load_template

    create_demo(E2E_DEMO_MEMBERS, seed=7, password=factories.PASSWORD, progress=False)
    db.session.commit()
    survey, _ = load_template("pd-needs")  # the demo data has usually loaded it already
    if survey.status == "draft":
        survey.open()
    db.session.flush()
    stages = ["early", "mid", "senior"]
    for i in range(12):
        factories.add_response(survey, {
            "q1": {"options": ["advocacy", "ai"] if i % 2 else ["literacy"], "other": None},
            "q2": ["webinar", "workshop", "mentoring"] if i % 3 else ["self_paced", "webinar"],
            "q3": {"option": ["lt1", "h1_2", "h3_5"][i % 3], "other": None},
            "q4": {"option": ["none", "lt100", "d100_249"][i % 3], "other": None},
            "q6": {"option": "yes" if i % 4 else "no", "other": None},
            "q7": (i % 5) + 1,
            "q8": {"paid_time": (i % 5) + 1, "fees": ((i + 2) % 5) + 1},
            "q9": ((i + 1) % 5) + 1,
            "q10": f"I would like a course on topic {i}.",
        }, career_stage=stages[i % 3], region="west")
    db.session.commit()


def seed_comments(member, second) -> None:
    """A comment of the standing member (for its edit page) and one in the moderation
    queue, flagged by the second member."""
    from portal.feedback.comment_services import flag_comment

    factories.make_comment(member, "B1", "Seeded comment: *more* regional events, please.")
    flagged = factories.make_comment(member, "B2", "Seeded comment that someone flagged.")
    flag_comment(second, flagged, "off_topic", "Not about this objective.", threshold=3)
    db.session.commit()


E2E_DEMO_MEMBERS = int(os.environ.get("E2E_DEMO_MEMBERS", "300"))


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


def check_a11y(page, label: str, rules: list[str] | None = None) -> None:
    """Run axe-core on the page (the WCAG A/AA rules, or only `rules`); fail listing the
    rule, the element and the page."""
    from axe_playwright_python.sync_playwright import Axe

    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    result = Axe().run(page, options={"runOnly": only})
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




# 640 CSS pixels is what a 1280-pixel window shows at 200% zoom.
REFLOW_WIDTHS = (320, 640)
# axe rules whose outcome changes when the layout narrows.
NARROW_RULES = ["scrollable-region-focusable", "target-size", "color-contrast"]


def check_reflow(page, label: str) -> None:
    """No horizontal scrolling of the page at 320 and 640 CSS pixels (tables may scroll
    inside their own .table-wrap region); the viewport is restored afterwards."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    try:
        for width in REFLOW_WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            culprits = page.evaluate(WIDE_ELEMENTS_JS)
            assert no_horizontal_scroll(page), (
                f"[{label}] {page.url} scrolls sideways at {width}px; widest elements: "
                f"{culprits}")
            # Regions that now scroll sideways must be reachable with the keyboard.
            check_a11y(page, f"{label} at {width}px", rules=NARROW_RULES)
    finally:
        page.set_viewport_size(size)


# The innermost elements sticking out to the right of the viewport (for a useful message).
WIDE_ELEMENTS_JS = """() => {
  const w = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    const inScroller = el.parentElement && el.parentElement.closest('.table-wrap, .chart-wrap');
    if (r.right > w + 1 && r.width > 0 && !inScroller) {
      if (![...el.children].some(c => c.getBoundingClientRect().right > w + 1)) {
        const cls = typeof el.className === 'string' && el.className
          ? '.' + el.className.split(' ').join('.') : '';
        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls +
                 ' right=' + Math.round(r.right));
      }
    }
    if (out.length >= 5) break;
  }
  return out;
}"""


def check_page(page, label: str, *, shots: bool = False) -> None:
    """Every page type gets the same checks: axe-core, reflow at 320 and 640 px and,
    for the main pages, screenshots at desktop and mobile widths."""
    check_a11y(page, label)
    check_reflow(page, label)
    if shots:
        name = label.replace(" ", "-")
        screenshot(page, name)
        size = page.viewport_size
        page.set_viewport_size({"width": 375, "height": 800})
        screenshot(page, name)
        page.set_viewport_size(size)


def lookup(app, fn):
    """Run fn() in an app context of the live app (for ids the tests need)."""
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()

