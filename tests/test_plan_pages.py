"""The plan pages: home, domains, objectives and the layout around them."""

from __future__ import annotations

import re

import pytest


def test_home_shows_mission_vision_values_and_domains(client, plan):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Empowering and advocating for libraries" in html
    assert "Libraries thrive so everyone can succeed." in html
    for value in ("Access", "Equity", "Intellectual Freedom and Privacy", "Public Good",
                  "Sustainability"):
        assert f"<li>{value}</li>" in html
    for code, title in (("A", "Advocacy"), ("B", "Member Experience"),
                        ("C", "Organizational Redesign"), ("D", "Financial Sustainability"),
                        ("E", "Professional Development")):
        assert f'href="/plan/domains/{code}"' in html
        assert title in html
    assert "mission-aligned growth" in html


def test_all_22_objectives_are_reachable(client, plan):
    codes = []
    for d in "ABCDE":
        html = client.get(f"/plan/domains/{d}").get_data(as_text=True)
        codes += re.findall(r'href="/plan/objectives/([A-E]\d)"', html)
    assert codes == ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "C1", "C2", "C3",
                     "C4", "D1", "D2", "D3", "D4", "D5", "E1", "E2", "E3", "E4"]
    for code in codes:
        assert client.get(f"/plan/objectives/{code}").status_code == 200


def test_stray_list_numbers_are_dropped(client, plan):
    c3 = client.get("/plan/objectives/C3").get_data(as_text=True)
    assert "Advance the &#34;Our ALA&#34; model." in c3 or 'Advance the "Our ALA" model.' in c3
    assert "3. Advance" not in c3
    a5 = client.get("/plan/objectives/A5").get_data(as_text=True)
    assert "Launch a national public awareness campaign" in a5
    assert "5. Launch" not in a5


def test_objective_page_links_previous_and_next(client, plan):
    html = client.get("/plan/objectives/B1").get_data(as_text=True)
    assert 'rel="prev" href="/plan/objectives/A5"' in html
    assert 'rel="next" href="/plan/objectives/B2"' in html
    assert 'href="/plan/domains/B"' in html
    first = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert 'rel="prev"' not in first
    last = client.get("/plan/objectives/E4").get_data(as_text=True)
    assert 'rel="next"' not in last


def test_domain_page_shows_goal_and_objectives(client, plan):
    html = client.get("/plan/domains/e").get_data(as_text=True)
    assert "lifelong learning and career advancement" in html
    assert html.count('class="objective-item"') == 4


@pytest.mark.parametrize("url", ["/plan/domains/Z", "/plan/objectives/Z9",
                                 "/plan/objectives/%3Cscript%3E", "/nowhere"])
def test_unknown_codes_get_a_404_in_the_layout(client, plan, url):
    resp = client.get(url)
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "Page not found" in html
    assert 'class="skip-link"' in html and "<script>" not in html


def test_layout_landmarks_and_assets(client, plan):
    html = client.get("/").get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<a class="skip-link" href="#main">' in html
    assert '<main id="main"' in html and "<header" in html and "<footer" in html
    assert 'aria-label="Main"' in html
    assert 'href="/accessibility"' in html
    assert "http://" not in re.sub(r'href="https?://[^"]*"', "", html).replace(
        "http://www.w3.org", "")
    assert "<script>" not in html  # no inline script
    with client.get("/static/css/portal.css") as css:
        assert css.status_code == 200 and b"--color-primary" in css.data


def test_accessibility_statement(client):
    html = client.get("/accessibility").get_data(as_text=True)
    assert "WCAG" in html and "2.2" in html and "Report a barrier" in html


def test_home_without_a_plan_says_so(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "No plan has been loaded yet" in resp.get_data(as_text=True)


def test_plan_pages_use_a_fixed_number_of_queries(client, plan, query_counter):
    client.get("/")
    with query_counter() as q:
        client.get("/")
    assert len(q) <= 4
