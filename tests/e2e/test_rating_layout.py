"""The rating scales read as scales on every screen: a grid of objectives and scale
points at 1280 px, each scale stacked from lowest to highest at 375 px, "Don't know"
set apart; after saving, the member's progress and the next domain to rate, and the
progress per domain on the home page."""

from __future__ import annotations

from itertools import pairwise

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Domain, Objective
from portal.models.feedback import IMPORTANCE_LABELS, PERFORMANCE_LABELS
from tests import factories
from tests.e2e.conftest import check_a11y, lookup, no_horizontal_scroll, screenshot, sign_in
from tests.e2e.keyboard import tab_to, walk_radio_group

SCALE_ORDER = {"importance": [IMPORTANCE_LABELS[v] for v in (1, 2, 3, 4, 5, 0)],
               "performance": [PERFORMANCE_LABELS[v] for v in (1, 2, 3, 4, 5, 0)]}

# Every scale of the page: its labels in document order and where each choice is drawn.
SCALES_JS = """() => [...document.querySelectorAll('fieldset.scale-question')].map(fs => ({
  name: fs.querySelector('input[type=radio]').name,
  legend: fs.querySelector(':scope > legend').getBoundingClientRect().toJSON(),
  choices: [...fs.querySelectorAll('.choice')].map(c => ({
    label: c.querySelector('label').textContent.trim(),
    aside: c.classList.contains('scale-aside'),
    fits: c.scrollWidth <= c.clientWidth + 1,
    box: c.getBoundingClientRect().toJSON()}))}))"""


def _objective_ids(live_app, code: str) -> list[int]:
    return lookup(live_app, lambda: list(db.session.scalars(
        sa.select(Objective.id).join(Objective.domain)
        .where(Domain.code == code, Objective.retired_at.is_(None))
        .order_by(Objective.position))))


def _counts(live_app) -> dict[str, int]:
    return dict(lookup(live_app, lambda: db.session.execute(
        sa.select(Domain.code, sa.func.count(Objective.id)).join(Objective.domain)
        .where(Objective.retired_at.is_(None), Domain.retired_at.is_(None))
        .group_by(Domain.code)).all()))


def _new_member(live_app, email: str) -> None:
    lookup(live_app, lambda: factories.make_user(email=email, display_name="Nia Narrow"))


def _in_scale_order(scale: dict) -> None:
    kind = scale["name"].split("_")[0]
    labels = [c["label"] for c in scale["choices"]]
    assert labels == SCALE_ORDER[kind], labels
    assert [c["aside"] for c in scale["choices"]] == [False] * 5 + [True]


def assert_stacked(scales: list[dict], width: int) -> None:
    """Narrow screens: the legend on top, then one choice per line from the lowest point
    to the highest, inside the screen; "Don't know" last, after a wider gap."""
    assert scales
    for scale in scales:
        _in_scale_order(scale)
        boxes = [c["box"] for c in scale["choices"]]
        assert scale["legend"]["bottom"] <= boxes[0]["top"] + 1, scale["name"]
        lefts = {round(b["left"]) for b in boxes}
        assert len(lefts) == 1, (scale["name"], lefts)  # one column
        assert all(b["right"] <= width for b in boxes), scale["name"]
        gaps = [later["top"] - earlier["bottom"] for earlier, later in pairwise(boxes)]
        assert all(g >= 0 for g in gaps), (scale["name"], gaps)  # downwards, no overlap
        assert gaps[-1] > max(gaps[:-1]) + 2, (scale["name"], gaps)  # set apart
        assert all(b["height"] >= 24 for b in boxes)  # a target the thumb can hit


def assert_grid(scales: list[dict]) -> None:
    """Wide screens: each question is one row with the legend to the left of its points;
    the points are columns, the same point of every question in the same place down the
    page; "Don't know" is the last column, after a wider gap."""
    assert scales
    columns = None
    for scale in scales:
        _in_scale_order(scale)
        boxes = [c["box"] for c in scale["choices"]]
        assert len({round(b["top"]) for b in boxes}) == 1, scale["name"]  # one row
        assert scale["legend"]["right"] <= boxes[0]["left"], scale["name"]
        lefts = [round(b["left"]) for b in boxes]
        assert lefts == sorted(lefts), (scale["name"], lefts)  # left to right
        gaps = [later["left"] - earlier["right"] for earlier, later in pairwise(boxes)]
        assert gaps[-1] > max(gaps[:-1]) + 4, (scale["name"], gaps)
        columns = columns or lefts
        assert lefts == columns, (scale["name"], lefts, columns)
        assert all(c["fits"] for c in scale["choices"]), scale  # no label sticks out


def assert_arrows_follow(stops: list[dict], kind: str, downwards: bool) -> None:
    """The arrow keys visit the choices in scale order, in the direction they are shown."""
    assert [s["label"] for s in stops] == SCALE_ORDER[kind], stops
    key = "top" if downwards else "left"
    positions = [s[key] for s in stops]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), stops


def test_rating_a_domain_at_375_px(browser, live_server, live_app):
    """A member on a phone rates domain A, sees where they stand, goes on to the next
    domain and sees their progress per domain on the home page."""
    email = "nia.narrow@example.org"
    _new_member(live_app, email)
    counts = _counts(live_app)
    total = sum(counts.values())
    ctx = browser.new_context(viewport={"width": 375, "height": 800}, has_touch=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.base = live_server.url
        sign_in(page, email)
        page.goto(page.base + "/plan/domains/A#rate")
        assert f"You have rated 0 of {total} objectives." in page.locator("#rate").inner_text()
        assert no_horizontal_scroll(page)
        assert_stacked(page.evaluate(SCALES_JS), 375)
        check_a11y(page, "domain rating at 375px")
        screenshot(page, "domain-rating")
        ids = _objective_ids(live_app, "A")
        # The arrows run down the stacked scale, from the lowest point to "Don't know".
        page.locator(f"#importance_{ids[0]}-0").focus()
        assert_arrows_follow(walk_radio_group(page, "ArrowDown"), "importance", downwards=True)
        # Rate every objective but the last by tapping the labels; the last one only
        # "Don't know" on performance (a rating all the same).
        for oid in ids[:-1]:
            page.locator(f"#importance_{oid}").get_by_text("Very important", exact=True).tap()
            page.locator(f"#performance_{oid}").get_by_text("Adequately", exact=True).tap()
        page.locator(f"#performance_{ids[-1]}").get_by_text("Don't know", exact=True).tap()
        assert page.locator(f"#performance_{ids[-1]}-5").is_checked()
        screenshot(page, "domain-rating-filled")
        with page.expect_navigation():
            page.get_by_role("button", name="Save my ratings").tap()
        assert "are saved" in page.locator(".flashes").inner_text()
        assert page.url.endswith("/plan/domains/A#rate")
        progress = page.locator("#rating-progress").inner_text()
        assert f"You have rated {len(ids)} of {total} objectives." in progress, progress
        assert f"In this domain: {len(ids)} of {len(ids)}." in progress, progress
        next_link = page.locator("#rating-progress a.next-domain")
        assert next_link.inner_text().startswith("Next domain to rate: B.")
        # The saved answers are shown checked, in the same stacked scales.
        assert page.locator(f"#importance_{ids[0]}-3").is_checked()
        assert_stacked(page.evaluate(SCALES_JS), 375)
        check_a11y(page, "domain rating saved at 375px")
        screenshot(page, "domain-rating-saved")
        with page.expect_navigation():
            next_link.tap()
        assert page.url.endswith("/plan/domains/B#rate")
        assert page.locator("h1").inner_text().startswith("B.")
        # Home: progress per domain, and the way on to the next domain.
        page.goto(page.base + "/")
        cards = page.locator(".domain-card")
        assert f"All {counts['A']} rated" in cards.nth(0).inner_text()
        assert f"You have rated 0 of {counts['B']}" in cards.nth(1).inner_text()
        summary = page.locator(".rating-summary").inner_text()
        assert f"You have rated {len(ids)} of {total} objectives." in summary
        assert "Go on with domain B." in summary
        assert page.locator(".domain-card progress").count() == len(counts)
        assert no_horizontal_scroll(page)
        check_a11y(page, "home with rating progress at 375px")
        screenshot(page, "home-rating-progress")
        page.set_viewport_size({"width": 1280, "height": 900})
        check_a11y(page, "home with rating progress at 1280px")
        screenshot(page, "home-rating-progress")
    finally:
        ctx.close()


def test_the_domain_page_is_a_grid_at_1280_px(page, live_app):
    """At 1280 px the same page is a grid: objectives' questions as rows, the scale as
    columns; the arrows move left to right; the layout holds with an error shown."""
    email = "wide.rater@example.org"
    _new_member(live_app, email)
    sign_in(page, email)
    page.goto(page.base + "/plan/domains/B")
    assert_grid(page.evaluate(SCALES_JS))
    check_a11y(page, "domain rating at 1280px")
    screenshot(page, "domain-rating")
    ids = _objective_ids(live_app, "B")
    tab_to(page, f"input[name=performance_{ids[0]}]")
    assert_arrows_follow(walk_radio_group(page, "ArrowRight"), "performance", downwards=False)
    page.locator(f"#importance_{ids[1]}").get_by_text("Essential", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my ratings").click()
    assert page.locator(f"#importance_{ids[1]}-4").is_checked()
    assert page.locator(f"#performance_{ids[0]}-0").is_checked()  # where the walk ended
    assert "In this domain: 2 of" in page.locator("#rating-progress").inner_text()
    assert_grid(page.evaluate(SCALES_JS))
    screenshot(page, "domain-rating-saved")
    # The narrowest grid (60rem) still has room for every label; below it, stacked.
    page.set_viewport_size({"width": 960, "height": 900})
    assert_grid(page.evaluate(SCALES_JS))
    page.set_viewport_size({"width": 959, "height": 900})
    assert_stacked(page.evaluate(SCALES_JS), 959)
    # A value off the scale (only a forged request can send one): the error shows in
    # the question's row, the grid holds, and axe finds nothing.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("""(id) => { const r = document.getElementById(id);
                               r.value = '77'; r.checked = true; }""", f"performance_{ids[2]}-2")
    with page.expect_navigation():
        page.get_by_role("button", name="Save my ratings").click()
    assert page.locator("#error-summary").count() == 1
    error = page.locator(f"#performance_{ids[2]} .field-error")
    assert "Choose one of the answers on the scale." in error.inner_text()
    assert_grid(page.evaluate(SCALES_JS))
    check_a11y(page, "domain rating with an error at 1280px")
    screenshot(page, "domain-rating-errors")
    page.set_viewport_size({"width": 375, "height": 800})
    assert_stacked(page.evaluate(SCALES_JS), 375)
    check_a11y(page, "domain rating with an error at 375px")
    screenshot(page, "domain-rating-errors")
    # The objective page uses the same scales.
    page.goto(page.base + "/plan/objectives/B1")
    assert_stacked(page.evaluate(SCALES_JS), 375)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert_grid(page.evaluate(SCALES_JS))
    check_a11y(page, "objective rating at 1280px")
