"""A leader's journey: the priority dashboard, a segment heatmap, an objective
drill-down, survey results and a CSV export, with axe-core and reflow on every page.
Also: charts carry a text alternative and their numbers in a table, and heatmap colours
are never the only carrier of meaning and keep their text readable."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import FeedbackRound
from tests.e2e.conftest import check_page, lookup, sign_in

# WCAG relative luminance and contrast of an element's text against the cell background.
CONTRAST_JS = """(cells) => cells.map(cell => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => v / 255).map(
      v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = getComputedStyle(cell).backgroundColor;
  const worst = [cell, ...cell.querySelectorAll('*')].filter(el => el.textContent.trim())
    .map(el => { const a = lum(getComputedStyle(el).color), b = lum(bg);
                 return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); });
  return {cls: cell.className, text: cell.textContent.trim(), ratio: Math.min(...worst)};
})"""


@pytest.fixture(scope="module")
def round_id(live_app):
    return lookup(live_app, lambda: db.session.scalar(
        sa.select(FeedbackRound.id).where(FeedbackRound.name == "Member feedback 2026")))


def _go(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state("load")


def test_leader_journey(page, round_id):
    sign_in(page, "leader@example.org")
    page.get_by_role("link", name="Leadership", exact=True).click()
    page.wait_for_load_state()
    # The dashboard for the round with the demo ratings, chosen in its filter form.
    page.get_by_label("Feedback round").select_option(str(round_id))
    _go(page, "Show")
    check_page(page, "leader dashboard-journey")
    table = page.locator("table").first
    assert table.locator("tbody tr").count() >= 20
    assert "%" in table.inner_text()

    # A segment heatmap.
    page.locator(".report-nav").get_by_role("link", name="Segments").click()
    page.wait_for_load_state()
    page.get_by_label("Segment", exact=True).select_option("library_type")
    _go(page, "Show")
    check_page(page, "leader heatmap-journey")
    cells = page.locator("td[class*=heat-]")
    assert cells.count() > 20
    ratios = page.evaluate(CONTRAST_JS, cells.element_handles())
    low = [r for r in ratios if r["ratio"] < 4.5]
    assert not low, f"heatmap text below 4.5:1: {low[:5]}"
    # Colour is never alone: every shaded cell states its figure and its difference in
    # text, and the legend spells out what each shade means.
    for r in ratios:
        # A difference reads "+5 pts", "−3 pts" or, with no sign to give, "0 pts".
        assert "%" in r["text"] and ("pts" in r["text"] or "±" in r["text"]
                                     or "+" in r["text"] or "−" in r["text"]
                                     or "-" in r["text"]), r
    assert page.locator("ul.legend li").count() >= 5

    # An objective drill-down, reached from the dashboard's row link.
    page.goto(page.base + f"/reports/priorities?round={round_id}")
    page.locator("table").first.get_by_role("link", name="A1", exact=True).first.click()
    page.wait_for_load_state()
    assert "/reports/objectives/A1" in page.url
    check_page(page, "leader drilldown-journey")
    assert "%" in page.locator("main").inner_text()

    # Survey results of the PD-needs survey.
    page.goto(page.base + "/reports/surveys/")
    check_page(page, "leader survey-results-journey")
    page.get_by_role("link", name="Professional development needs of library workers").first.click()
    page.wait_for_load_state()
    check_page(page, "leader survey-result-journey")
    assert page.locator("svg.chart").count() >= 1

    # Export the responses as CSV.
    with page.expect_download() as info:
        page.get_by_role("link", name="Responses (CSV)").click()
    with open(info.value.path(), encoding="utf-8-sig") as fh:
        rows = list(csv.reader(io.StringIO(fh.read())))
    assert len(rows) >= 13  # a header and the seeded responses


def test_charts_have_text_alternatives_and_tables(page, round_id):
    sign_in(page, "leader@example.org")
    for path in (f"/reports/charts?round={round_id}", f"/reports/trends?round={round_id}",
                 f"/reports/objectives/A1?round={round_id}"):
        page.goto(page.base + path)
        charts = page.locator("svg.chart")
        assert charts.count() >= 1, path
        for i in range(charts.count()):
            svg = charts.nth(i)
            assert svg.get_attribute("role") == "img"
            label_ids = (svg.get_attribute("aria-labelledby") or "").split()
            assert label_ids, f"{path}: chart {i} has no accessible name"
            for lid in label_ids:
                assert page.locator(f"[id='{lid}']").first.text_content().strip()
            # Its numbers are in a captioned table, inside its figure or right after it.
            table = svg.locator("xpath=following::table[1]")
            assert table.count() and table.locator("caption").text_content().strip(), (
                f"{path}: chart {i} has no data table")
