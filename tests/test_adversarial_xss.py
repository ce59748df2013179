"""XSS payloads in every free-text field, checked on every page that shows them.

Each field gets its own marker (XSSab...). The test then crawls the portal by its
links as anonymous visitor, member, leader and admin, parses every HTML page and
fails on any element or attribute a payload could have created: a <script> that is
not one of ours, an on* handler, a javascript: or data: link, or the probe tag.
It also checks that every marker was really shown somewhere, so a field that no
page displays cannot pass by accident.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from portal.audit import record
from portal.extensions import db
from portal.models import Domain, FeedbackRound, Objective, Plan, PlanValue, User
from tests import factories


def payload(tag: str, short: bool = False) -> str:
    core = f"XSS{tag} \"'><img src=x onerror=alert(1)><xss-probe>"
    if short:
        return core
    return (core + f"<script>alert('{tag}')</script><svg onload=alert(1)>"
            "[link](javascript:alert(1)) <a href=\"javascript:alert(1)\">a</a> "
            "\" onmouseover=\"alert(1)")


FIELDS = {
    "dn": "display name", "cm": "comment", "rp": "reply", "hr": "update heard",
    "dg": "update doing", "rn": "round name", "rd": "round description",
    "pm": "plan mission", "pv": "plan vision", "vl": "plan value", "dt": "domain title",
    "dgl": "domain goal", "ot": "objective text", "hid": "hidden reason", "fn": "flag note",
    "st": "survey title", "si": "survey introduction", "ss": "section title",
    "sd": "section description", "qp": "question prompt", "qh": "question help",
    "ol": "option label", "ta": "survey text answer",
}


@pytest.fixture
def app_config():
    # Thresholds of one: every figure and written answer is shown, so every field is.
    return {"PRIVACY_MIN_N": 1, "PRIVACY_MIN_COMMENTS": 1}


@pytest.fixture
def hostile(app, plan, admin, leader, member):
    p = lambda tag: payload(tag)  # noqa: E731
    short = lambda tag: payload(tag, short=True)  # noqa: E731
    member.display_name = short("dn")
    plan_row = db.session.scalar(sa.select(Plan))
    plan_row.mission, plan_row.vision = p("pm"), p("pv")
    db.session.scalar(sa.select(PlanValue)).name = short("vl")
    dom = db.session.scalar(sa.select(Domain).where(Domain.code == "A"))
    dom.title, dom.goal = short("dt"), p("dgl")
    db.session.scalar(sa.select(Objective).where(Objective.code == "A1")).text = p("ot")
    db.session.commit()
    rnd = factories.make_round(name=short("rn"), description=p("rd"))
    factories.make_rating(member, factories.objective("A1"), rnd, 4, 2)
    top = factories.make_comment(member, "A1", body=p("cm"))
    factories.make_comment(admin, "A1", body=p("rp"), parent=top)
    hidden = factories.make_comment(member, "A2", body="Hidden later.")
    hidden.status, hidden.hidden_reason = "hidden", short("hid")
    flagged = factories.make_comment(admin, "A3", body="Flag me.")
    from portal.feedback.comment_services import flag_comment

    flag_comment(member, flagged, "other", short("fn"), threshold=99)
    factories.make_update(leader, "A1", heard=p("hr"), doing=p("dg"))
    record(admin, "user.rename", member, {"display_name": short("dn")})
    db.session.commit()

    definition = factories.survey_definition()
    definition.update(title=short("st"), introduction=p("si"))
    section = definition["sections"][0]
    section.update(title=short("ss"), description=p("sd"))
    section["questions"][0].update(prompt=p("qp"), help=p("qh"))
    section["questions"][0]["options"][0]["label"] = short("ol")
    survey = factories.make_survey(definition)
    factories.add_response(survey, {"q1": {"option": "yes", "other": None}, "q10": p("ta")},
                           career_stage="early")
    db.session.commit()
    return {"survey": survey, "round": rnd}


class PageCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "xss-probe":
            self.problems.append("probe tag rendered as HTML")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.problems.append(f"inline or foreign script {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action", "formaction", "xlink:href", "data"):
                scheme = (value or "").strip().lower().replace("\t", "").split(":", 1)[0]
                if ":" in (value or "") and scheme in ("javascript", "vbscript", "data") \
                        and not (tag == "img" and (value or "").startswith("data:image/")):
                    self.problems.append(f"{scheme}: URL in <{tag} {name}>")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


SKIP = ("/static/", "/auth/logout", "/auth/verify", "/auth/reset")
SEEDS = ["/", "/plan/objectives/A1", "/plan/objectives/A2", "/plan/domains/A",
         "/feedback/mine", "/feedback/progress", "/surveys/", "/account", "/reports/",
         "/reports/updates/", "/reports/comments", "/reports/objectives/A1",
         "/reports/surveys/", "/admin", "/admin/users", "/admin/audit", "/admin/rounds/",
         "/admin/moderation/", "/admin/plan", "/admin/plan/domains/A",
         "/admin/plan/objectives/A1", "/admin/plan/statements", "/admin/surveys/"]


def crawl(client, extra_seeds: list[str], limit: int = 120) -> tuple[list[str], str, int]:
    """Follow same-site links breadth first; returns problems, all page text, pages seen."""
    queue = deque(SEEDS + extra_seeds)
    seen_paths: dict[str, int] = {}
    done: set[str] = set()
    problems: list[str] = []
    texts: list[str] = []
    while queue and len(done) < limit:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc or url in done or url.startswith(SKIP):
            continue
        # At most three query-string variants of one path (sorting links multiply).
        if seen_paths.get(parts.path, 0) >= 3:
            continue
        seen_paths[parts.path] = seen_paths.get(parts.path, 0) + 1
        done.add(url)
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        if "text/html" not in resp.headers.get("Content-Type", ""):
            # Close it: a streamed export (CSV, XLSX) left open pops its request
            # context later, out of order.
            resp.close()
            continue
        check = PageCheck()
        check.feed(resp.get_data(as_text=True))
        problems += [f"{url}: {p}" for p in check.problems]
        texts.append(" ".join(check.text))
        for link in check.links:
            target = urljoin(url, link).split("#")[0]
            if target.startswith("/") and target not in done:
                queue.append(target)
    return problems, "\n".join(texts), len(done)


def test_payloads_in_every_text_field_stay_text_on_every_page(app, client, login, hostile,
                                                              member, leader, admin):
    survey = hostile["survey"]
    extra = [f"/surveys/{survey.id}", f"/surveys/{survey.id}/sections/1",
             f"/reports/surveys/{survey.id}", f"/reports/surveys/{survey.id}/questions/q10/texts",
             f"/admin/surveys/{survey.id}", f"/admin/users/{member.id}"]
    all_problems: list[str] = []
    all_text = []
    pages = 0
    for who in (None, member, leader, admin):
        if who is not None:
            g.pop("csrf_token", None)
            login(who)
        if who is member:
            client.post_form(f"/surveys/{survey.id}/start")
        problems, text, count = crawl(client, extra)
        all_problems += problems
        all_text.append(text)
        pages += count
    assert not all_problems, "\n".join(all_problems[:40])
    text = "\n".join(all_text)
    unseen = [f"{tag} ({name})" for tag, name in FIELDS.items() if f"XSS{tag} " not in text]
    assert not unseen, f"fields no page displayed: {unseen}"
    assert pages > 100


def test_the_checker_catches_an_unescaped_payload():
    check = PageCheck()
    check.feed("<p>" + payload("zz") + "</p>")
    kinds = " ".join(check.problems)
    assert "probe tag" in kinds and "event handler onerror" in kinds
    assert "inline or foreign script" in kinds and "javascript: URL" in kinds


def test_display_names_with_markup_are_stored_as_typed_and_shown_as_text(client, login,
                                                                         member, plan):
    login(member)
    name = "<b>Bold</b> & \"quoted\""
    assert client.post_form("/account", {"display_name": name}).status_code == 302
    assert db.session.get(User, member.id).display_name == name
    page = client.get("/account").get_data(as_text=True)
    assert "<b>Bold</b>" not in page and "&lt;b&gt;Bold&lt;/b&gt;" in page


def test_round_names_are_text_in_the_admin_pages(client, login, admin):
    login(admin)
    db.session.add(FeedbackRound(name="<i>R</i>", description="**x**", status="draft",
                                 opens_at=factories.now_utc(), closes_at=factories.now_utc()))
    db.session.commit()
    page = client.get("/admin/rounds/").get_data(as_text=True)
    assert "<i>R</i>" not in page
