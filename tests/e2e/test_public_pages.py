"""Public pages: axe-core, the skip link, keyboard focus and reflow."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import check_a11y, no_horizontal_scroll, screenshot

PUBLIC_PAGES = [
    ("home", "/"),
    ("domain", "/plan/domains/A"),
    ("objective", "/plan/objectives/E3"),
    ("accessibility", "/accessibility"),
    ("login", "/auth/login"),
    ("not-found", "/plan/objectives/Z9"),
]


@pytest.mark.parametrize(("name", "path"), PUBLIC_PAGES)
def test_public_pages_have_no_axe_violations(page, name, path):
    page.goto(page.base + path)
    check_a11y(page, f"anonymous {name}")
    screenshot(page, f"anonymous-{name}")


@pytest.mark.parametrize("width", [320, 640])
@pytest.mark.parametrize(("name", "path"), PUBLIC_PAGES)
def test_public_pages_reflow_without_horizontal_scrolling(browser, live_server, name, path,
                                                           width):
    # 640 CSS pixels is what a 1280-pixel window shows at 200% zoom.
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = ctx.new_page()
        page.goto(live_server.url + path)
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at {width}px"
        screenshot(page, f"anonymous-{name}")
    finally:
        ctx.close()


def test_skip_link_moves_focus_to_main(page):
    page.goto(page.base + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    assert page.evaluate(
        "() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    page.keyboard.press("Tab")
    inside_main = page.evaluate(
        "() => document.getElementById('main').contains(document.activeElement)")
    assert inside_main


def test_failed_sign_in_lands_focus_on_the_error_summary(page):
    page.goto(page.base + "/auth/login")
    page.get_by_label("E-mail address").fill("member@example.org")
    page.get_by_label("Password", exact=True).fill("wrong password entirely")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    check_a11y(page, "login with errors")
