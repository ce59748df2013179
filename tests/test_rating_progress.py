"""Where a member stands in the open round: after saving a domain, the next domain to
rate; on the home page, progress per domain; the scales' markup."""

from __future__ import annotations

import re

import pytest

from portal.feedback.queries import DomainRating, domain_ratings, next_unrated_domain
from portal.plan.queries import ordered_objectives
from tests.factories import make_round, make_user, objective


@pytest.fixture
def open_round(app):
    return make_round("Spring 2027")


def _ids(*codes):
    return {code: objective(code).id for code in codes}


def _rate(client, domain, codes, importance="4"):
    data = {f"importance_{oid}": importance for oid in _ids(*codes).values()}
    resp = client.post_form(f"/feedback/domains/{domain}/ratings", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]


def test_domain_ratings_count_per_domain_in_plan_order(app, plan):
    ordered = ordered_objectives()
    rated = {objective("A1").id, objective("A3").id, objective("C2").id}
    domains = domain_ratings(ordered, rated)
    assert [d.code for d in domains] == ["A", "B", "C", "D", "E"]
    by_code = {d.code: (d.rated, d.total) for d in domains}
    assert by_code["A"] == (2, 5) and by_code["B"] == (0, 4) and by_code["C"] == (1, 4)
    assert sum(d.total for d in domains) == len(ordered) == 22


@pytest.mark.parametrize(("complete", "current", "expected"), [
    ("", "A", "B"),         # the one after the current domain
    ("B", "A", "C"),        # skipping the domains already rated
    ("BCDE", "A", None),    # never the current domain itself
    ("ABCD", "E", None),
    ("ACD", "E", "B"),      # going round past the end of the plan
    ("A", None, "B"),       # from the home page: the first one left
])
def test_next_unrated_domain(complete, current, expected):
    domains = [DomainRating(c, f"Domain {c}", 4 if c in complete else 1, 4) for c in "ABCDE"]
    found = next_unrated_domain(domains, current)
    assert (found.code if found else None) == expected


def test_after_saving_a_domain_the_member_sees_progress_and_the_next_domain(
        client, login, plan, open_round, member):
    login(member)
    _rate(client, "B", ["B1", "B2", "B3", "B4"])
    html = client.get("/plan/domains/B").get_data(as_text=True)
    assert "You have rated 4 of 22 objectives. In this domain: 4 of 4." in html
    assert re.search(r'<a class="next-domain" href="/plan/domains/C#rate">Next domain to rate: '
                     r'C\. Organizational Redesign</a>', html), html
    assert '<progress max="22" value="4"' in html
    # Rating C leaves D next; from D, E; the domain in hand is never offered.
    _rate(client, "C", ["C1"])
    html = client.get("/plan/domains/C").get_data(as_text=True)
    assert "In this domain: 1 of 4." in html and 'href="/plan/domains/D#rate">Next' in html


def test_when_every_objective_is_rated_the_page_says_thank_you(client, login, plan,
                                                                open_round, member):
    login(member)
    for code, count in {"A": 5, "B": 4, "C": 4, "D": 5, "E": 4}.items():
        _rate(client, code, [f"{code}{i}" for i in range(1, count + 1)])
    html = client.get("/plan/domains/E").get_data(as_text=True)
    assert "You have rated 22 of 22 objectives." in html
    assert "Thank you for rating every objective." in html
    assert "next-domain" not in html
    home = client.get("/").get_data(as_text=True)
    assert home.count("<strong>All ") == 5 and "Thank you for rating every objective." in home


def test_home_shows_progress_per_domain(client, login, plan, open_round, member):
    login(member)
    _rate(client, "A", ["A1", "A2"])
    html = client.get("/").get_data(as_text=True)
    assert "You have rated 2 of 22 objectives." in html
    # The first domain with objectives left: A itself, not yet complete.
    assert 'href="/plan/domains/A#rate">Go on with domain A. Advocacy</a>' in html
    assert "You have rated 2 of 5<span class=\"visually-hidden\"> objectives in domain A" in html
    assert "You have rated 0 of 4<span class=\"visually-hidden\"> objectives in domain B" in html
    assert html.count("<progress ") == 5
    assert html.count('aria-labelledby="rated-') == 5
    assert 'href="/plan/domains/A#rate">Rate the rest' in html


@pytest.mark.parametrize("who", ["anonymous", "unverified", "no round"])
def test_home_shows_no_rating_progress_to_who_cannot_rate(client, login, plan, who):
    if who != "no round":
        make_round("Open now")
    if who == "unverified":
        login(make_user(verified=False))
    elif who == "no round":
        login(make_user())
    html = client.get("/").get_data(as_text=True)
    assert "Five domains of the plan" in html
    assert "You have rated" not in html and "<progress" not in html


def test_scales_keep_names_ids_and_set_dont_know_apart(client, login, plan, open_round,
                                                      member):
    login(member)
    b1 = objective("B1").id
    html = client.get("/plan/domains/B").get_data(as_text=True)
    # The fieldset carries the field's id, so the error summary's link has a target.
    block = re.search(rf'<fieldset class="scale-question" id="importance_{b1}">(.*?)</fieldset>',
                      html, re.S).group(1)
    labels = re.findall(r'<label for="importance_\d+-(\d)">([^<]+)</label>', block)
    assert labels == [("0", "Not important"), ("1", "Slightly important"),
                      ("2", "Moderately important"), ("3", "Very important"),
                      ("4", "Essential"), ("5", "Don&#39;t know")]
    assert block.count('class="choice scale-point"') == 5
    assert re.search(r'class="choice scale-aside"><input id="importance_\d+-5" '
                     rf'name="importance_{b1}" type="radio" value="0">', block)
    page = client.get("/plan/objectives/B1").get_data(as_text=True)
    assert '<fieldset class="scale-question" id="importance">' in page
    assert page.count('class="choice scale-aside"') == 2


def test_a_scale_in_error_is_linked_from_the_summary(client, login, plan, open_round, member):
    login(member)
    e2 = objective("E2").id
    resp = client.post_form("/feedback/domains/E/ratings", {f"performance_{e2}": "77"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f'<a href="#performance_{e2}">' in html
    assert (f'<fieldset class="scale-question has-error" id="performance_{e2}" '
            f'aria-describedby="performance_{e2}-error">') in html
    assert f'id="performance_{e2}-error"' in html
