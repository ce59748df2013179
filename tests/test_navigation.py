"""Links between the areas: a person can reach every part of their role from the pages."""

from __future__ import annotations

import re

import pytest
from flask import url_for

from portal.extensions import db
from portal.models import SurveyParticipation
from tests import factories


def hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"?#]+)', html))


def paths(app, *endpoints: str) -> list[str]:
    with app.test_request_context():
        return [url_for(e) for e in endpoints]


def follow_all(client, html: str, wanted: list[str]) -> None:
    links = hrefs(html)
    for path in wanted:
        assert path in links, f"no link to {path}"
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("start", ["reports.dashboard", "reports.board", "updates.index",
                                   "survey_results.index"])
def test_leadership_pages_link_to_updates_and_survey_results(app, client, login, leader, plan,
                                                             start):
    factories.make_round("Spring 2026")
    login(leader)
    [page] = paths(app, start)
    resp = client.get(page)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    follow_all(client, html, paths(app, "reports.dashboard", "updates.index",
                                   "survey_results.index"))
    nav = re.search(r'<nav class="report-nav.*?</nav>', html, re.S).group(0)
    assert nav.count('aria-current="page"') == 1


def test_admin_console_links_to_rounds_moderation_and_the_survey_builder(app, client, login,
                                                                          admin):
    login(admin)
    [console] = paths(app, "admin.index")
    html = client.get(console).get_data(as_text=True)
    follow_all(client, html, paths(app, "rounds.index", "moderation.queue",
                                   "survey_admin.index", "admin.users_list", "admin.audit_log"))


def test_members_find_open_surveys_from_the_home_page(app, client, login, member, plan):
    survey = factories.make_survey()
    survey.title = "Tell us about training"
    db.session.commit()
    login(member)
    html = client.get("/").get_data(as_text=True)
    assert "Surveys waiting for your answers" in html and "Tell us about training" in html
    [index] = paths(app, "surveys.index")
    follow_all(client, html, [index, f"/surveys/{survey.id}"])
    # Not for leadership pages, and gone once the member has answered.
    assert not hrefs(html) & set(paths(app, "reports.dashboard", "admin.index"))
    db.session.add(SurveyParticipation(survey_id=survey.id, user_id=member.id))
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "Surveys waiting for your answers" not in html
    assert index in hrefs(html)  # the main navigation still leads to the surveys


def test_signed_out_visitors_see_no_survey_list(client, plan):
    factories.make_survey()
    html = client.get("/").get_data(as_text=True)
    assert "Surveys waiting" not in html
