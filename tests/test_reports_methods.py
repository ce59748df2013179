"""The methods page states the rules the code uses, read from the code's own constants."""

from __future__ import annotations

import re

from portal.disclosure import ratings as disclosure_ratings
from portal.reports import heatmap, summary
from portal.stats import crosstab


def _text(client) -> str:
    resp = client.get("/reports/methods")
    assert resp.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", resp.get_data(as_text=True)))


def test_leaders_read_the_methods_and_members_may_not(client, login, leader, member):
    login(member)
    assert client.get("/reports/methods").status_code == 403
    login(leader)
    text = _text(client)
    assert "Methods: how the figures are made" in text
    for words in ("Wilson score interval", "Newcombe's hybrid score interval",
                  "quasi-binomial score interval", "Benjamini–Hochberg", "Fisher's exact test",
                  "Welch's test", "adjusted Wald interval", "Borda points",
                  "Monte Carlo exact test over 9,999 random tables", "fixed seed 17",
                  "with z = 1.96 for 95%"):
        assert words in text, words
    # The withholding ladder, rung by rung, then counts alone.
    assert ("the mean to 2 decimals, its 95% interval and the 4–5 and 1–2 shares; "
            "the mean to 1 decimal and the 4–5 and 1–2 shares; the mean to 1 decimal; "
            "only the counts.") in text
    html = client.get("/reports/methods").get_data(as_text=True)
    assert html.count("<h1>") == 1 and 'aria-current="page">Methods</a>' in html


def test_the_page_follows_the_constants(app, client, login, leader, monkeypatch):
    app.config["PRIVACY_MIN_N"] = 7
    app.config["PRIVACY_MIN_COMMENTS"] = 25
    monkeypatch.setattr(heatmap, "SHARE_THRESHOLD", 0.08)
    monkeypatch.setattr(summary, "WIDE_SHARE", 0.3)
    monkeypatch.setattr(crosstab, "MIN_EXPECTED", 4)
    monkeypatch.setattr(disclosure_ratings, "LADDER", ((2, True, True), (1, False, False)))
    login(leader)
    text = _text(client)
    assert "never learn a figure about fewer than 7 members" in text
    assert "a group of 1 to 6 members" in text
    assert "at least 25 comments from at least 7 authors" in text
    assert "by at least 8 percentage points" in text
    assert "wider than 30 percentage points" in text
    assert "expected count is under 4" in text
    assert "the 4–5 and 1–2 shares; the mean to 1 decimal; only the counts." in text
    assert "the mean to 1 decimal and the 4–5" not in text
