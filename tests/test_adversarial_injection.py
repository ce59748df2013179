"""SQL-injection payloads in every query parameter, path segment and form field of every
route (walking url_map), and malformed or oversized bodies: never a 500, and no row
changed that the request had no business changing."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import g
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from portal.extensions import db
from portal.models import Comment, Rating, User
from portal.reports import snapshots
from tests import factories
from tests.test_access import _snapshot

SQLI = [
    "' OR '1'='1", "1' OR 1=1--", "1; DROP TABLE users;--", "\" OR \"\"=\"",
    "1 UNION SELECT password_hash, email FROM users--", "') OR ('a'='a",
    "'; SELECT pg_sleep(5);--", "1 AND 1=CAST((SELECT email FROM users LIMIT 1) AS int)",
    "%27%20OR%201%3D1", "\\'", "A1'--", "-1", "99999999999999999999999", "1e999", "\x00",
    "A1\x00' OR 1=1", "ﾠ'ʼ＇", "${7*7}{{7*7}}",
]
PARAMS = ["page", "sort", "dir", "q", "keyword", "search", "round", "compare", "domain",
          "objective", "segment", "dimension", "by", "measure", "value", "sentiment", "role",
          "status", "action", "question", "answer", "user", "next", "format", "id"]
FIELD_RE = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
SAFE_PATH_VALUES = {"code": "A1", "dimension": "region", "page": "dashboard",
                    "table": "priorities", "fmt": "csv", "filename": "css/portal.css",
                    "token": "x"}


@pytest.fixture
def data(app, plan, member, leader, admin):
    rnd = factories.make_round()
    factories.make_rating(member, factories.objective("A1"), rnd, 4, 3)
    comment = factories.make_comment(member, "A1", body="A plain comment.")
    survey = factories.make_survey()
    question = survey.ordered_questions()[0]
    return {"comment_id": comment.id, "survey_id": survey.id, "round_id": rnd.id,
            "user_id": member.id, "question_id": question.id,
            "section_id": question.section_id, "option_id": question.options[0].id,
            "invitation_id": 1, "number": 1, **SAFE_PATH_VALUES}


def _url(app, rule, values, override=None) -> str:
    args = {name: (override or {}).get(name, values.get(name, 1)) for name in rule.arguments}
    with app.test_request_context():
        return app.url_for(rule.endpoint, **args)


def _rules(app, method):
    return sorted((r for r in app.url_map.iter_rules() if method in r.methods
                   and r.endpoint != "static"), key=lambda r: r.rule)


def _signed_in_as_admin(client, login, admin):
    g.pop("csrf_token", None)
    login(admin)
    g.pop("csrf_token", None)


def test_sql_payloads_in_query_parameters_of_every_get_route(app, client, login, admin, data):
    _signed_in_as_admin(client, login, admin)
    # Leadership GETs take the open round's first report snapshots (a legitimate
    # write); take them now, so that any write the payloads cause still shows.
    snapshots.advance_open_round()
    db.session.expire_all()
    before = _snapshot()
    checked = 0
    for rule in _rules(app, "GET"):
        base = _url(app, rule, data)
        for p in SQLI:
            with client.get(base, query_string=dict.fromkeys(PARAMS, p)) as resp:
                assert resp.status_code < 500, (base, p, resp.status_code)
            checked += 1
    db.session.expire_all()
    assert _snapshot() == before
    assert checked > 500


def test_sql_payloads_in_path_segments(app, client, login, admin, data):
    _signed_in_as_admin(client, login, admin)
    # Leadership GETs take the open round's first report snapshots (a legitimate
    # write); take them now, so that any write the payloads cause still shows.
    snapshots.advance_open_round()
    db.session.expire_all()
    before = _snapshot()
    for rule in _rules(app, "GET"):
        for name in rule.arguments:
            converter = rule._converters[name]
            conv = "IntegerConverter" if isinstance(converter, IntegerConverter) \
                else type(converter).__name__
            values = SQLI if conv in ("UnicodeConverter", "PathConverter") else [
                "99999999999999999999999", "2147483648", "9223372036854775808", "0"]
            for p in values:
                url = _url(app, rule, data)
                marker = str(data.get(name, 1))
                segment = quote(p, safe="") if conv != "IntegerConverter" else p
                # Swap the one argument for the payload (the URL builder would quote it).
                url = _url(app, rule, data, {name: "__X__"}) if conv != "IntegerConverter" \
                    else url.replace(f"/{marker}", f"/{segment}", 1)
                url = url.replace("__X__", segment)
                with client.get(url) as resp:
                    assert resp.status_code < 500, (url, resp.status_code)
                    if conv == "IntegerConverter" and p != "0":
                        assert resp.status_code == 404, (url, resp.status_code)
    db.session.expire_all()
    assert _snapshot() == before


# Routes whose whole point is to delete or end something: the walk below checks that
# no table shrinks, so they are left out (their own tests cover them).
DESTRUCTIVE = ("delete", "remove", "logout", "deactivate", "revoke", "close", "unendorse",
               "dismiss")


def _fields(client, url) -> list[str]:
    resp = client.get(url)
    names = set(FIELD_RE.findall(resp.get_data(as_text=True))) if resp.status_code == 200 \
        else set()
    names.discard("csrf_token")
    return sorted(names | {"body", "importance", "performance", "display_name", "reason",
                           "note", "name", "title", "email", "password", "role", "q-q1",
                           "q-q10", "action"})


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


@pytest.mark.parametrize("who", ["member", "admin"])
def test_sql_payloads_in_every_form_field_of_every_post_route(app, client, login, member,
                                                              admin, data, who):
    user = {"member": member, "admin": admin}[who]
    g.pop("csrf_token", None)
    login(user)
    g.pop("csrf_token", None)
    db.session.expire_all()
    counts = _counts()
    accounts = db.session.execute(sa.select(User.id, User.email, User.role,
                                            User.password_hash)).all()
    ratings = db.session.execute(sa.select(Rating.user_id, Rating.importance)).all()
    checked = 0
    for rule in _rules(app, "POST"):
        if any(word in rule.endpoint for word in DESTRUCTIVE):
            continue
        if rule.endpoint.startswith("auth.") and rule.endpoint not in ("auth.login",
                                                                       "auth.register"):
            continue  # password changes and resets: covered by the auth tests
        url = _url(app, rule, data)
        fields = _fields(client, url)
        for p in SQLI[:10] + ["\x00"]:
            resp = client.post_form(url, dict.fromkeys(fields, p))
            assert resp.status_code < 500, (who, url, repr(p), resp.status_code)
            checked += 1
        if rule.endpoint == "auth.login":
            g.pop("csrf_token", None)
            login(user)  # a refused sign-in may have ended the session
            g.pop("csrf_token", None)
    db.session.expire_all()
    after = _counts()
    # The admin's statements form replaces the list of values with what was typed.
    legit = {"plan_values"} if who == "admin" else set()
    shrunk = {t: (counts[t], after[t]) for t in counts if after[t] < counts[t] and t not in legit}
    assert not shrunk
    assert db.session.execute(sa.select(User.id, User.email, User.role,
                                        User.password_hash)).all() == accounts
    assert db.session.execute(sa.select(Rating.user_id, Rating.importance)).all() == ratings
    # Payloads that were stored are stored verbatim, as text.
    for body in db.session.scalars(sa.select(Comment.body)):
        assert body == "A plain comment." or body.strip() in {p.strip() for p in SQLI}
    assert checked > 100


# Malformed and oversized bodies ------------------------------------------------------

@pytest.fixture
def signed_in(client, login, member, plan):
    factories.make_round()
    g.pop("csrf_token", None)
    login(member)
    g.pop("csrf_token", None)
    return client


def _comment_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Comment))


def _raw_post(client, url: str, body: bytes, content_type: str):
    return client.post(url, data=body, content_type=content_type)


def test_bad_encodings_and_charsets_are_refused_or_stored_safely(signed_in):
    client = signed_in
    token = client.csrf_token().encode()
    form = "application/x-www-form-urlencoded"
    cases = [
        (b"body=%FF%FE%FD&csrf_token=" + token, form),
        (b"body=\xff\xfe\xc3\x28&csrf_token=" + token, form),
        (b"body=ok&csrf_token=" + token, form + "; charset=klingon"),
        (b"body=ok&csrf_token=" + token, form + "; charset=utf-7"),
        (b"\x00\x01\x02body=x&csrf_token=" + token, form),
        (b"body=%uD800&csrf_token=" + token, form),
        (b"body=%ED%A0%80&csrf_token=" + token, form),  # a lone surrogate in UTF-8
        (b"=&==&&&csrf_token=" + token, form),
    ]
    for body, ctype in cases:
        resp = _raw_post(client, "/feedback/objectives/A1/comments", body, ctype)
        assert resp.status_code < 500, (body, ctype, resp.status_code)
    for text in db.session.scalars(sa.select(Comment.body)):
        assert "\x00" not in text


def test_duplicate_and_wrongly_typed_fields(signed_in):
    client = signed_in
    token = client.csrf_token()
    cases = [
        ("/feedback/objectives/A1/rating", [("importance", "1"), ("importance", "5"),
                                            ("performance", "2")]),
        ("/feedback/objectives/A1/rating", [("importance", "abc"), ("performance", "[]")]),
        ("/feedback/objectives/A1/rating", [("importance", "9"), ("performance", "-1")]),
        ("/feedback/objectives/A1/rating", [("importance", "1.5"), ("performance", "1e3")]),
        ("/feedback/objectives/A1/rating", [("importance", "99999999999999999999999")]),
        ("/feedback/objectives/A1/comments", [("body", "x"), ("body", "y"),
                                              ("parent_id", "abc")]),
        ("/feedback/objectives/A1/comments", [("body", "x"), ("parent_id", "-5")]),
        ("/feedback/objectives/A1/comments", [("body", "x"),
                                              ("parent_id", "99999999999999999999999")]),
        ("/feedback/objectives/A1/comments", [("body", "x"), ("hide_name", "maybe"),
                                              ("hide_name", "y")]),
        ("/account", [("display_name", "A"), ("display_name", "B"), ("region", "mars"),
                      ("career_stage", "[1]")]),
        ("/feedback/comments/1/flag", [("reason", "spam"), ("reason", "other"),
                                       ("note", "x" * 5000)]),
    ]
    for url, pairs in cases:
        resp = client.post(url, data=MultiDict([*pairs, ("csrf_token", token)]))
        assert resp.status_code < 500, (url, pairs, resp.status_code)
    db.session.expire_all()
    ratings = db.session.execute(sa.select(Rating.importance, Rating.performance)).all()
    # Only the first, well-formed value of a repeated field counts; nothing off-scale.
    assert ratings == [(1, 2)]
    bodies = db.session.scalars(sa.select(Comment.body)).all()
    assert set(bodies) <= {"x"} and len(bodies) <= 1


def test_json_multipart_and_empty_bodies(signed_in):
    client = signed_in
    token = client.csrf_token()
    before = _comment_count()
    resp = client.post("/feedback/objectives/A1/comments",
                       json={"body": "json body", "csrf_token": token})
    assert resp.status_code == 400
    resp = client.post("/feedback/objectives/A1/comments", content_type="multipart/form-data",
                       data={"body": (__import__("io").BytesIO(b"file as body"), "a.txt"),
                             "csrf_token": token})
    assert 400 <= resp.status_code < 500
    resp = client.post("/feedback/objectives/A1/comments", data=b"",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400
    resp = client.post("/feedback/objectives/A1/comments", data=b"garbage",
                       content_type="multipart/form-data; boundary=zzz")
    assert resp.status_code == 400
    assert _comment_count() == before


def test_oversized_bodies_get_413_and_store_nothing(app, signed_in):
    client = signed_in
    token = client.csrf_token()
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    big = "x" * (65 * 1024)
    resp = client.post("/feedback/objectives/A1/comments", data={"body": big,
                                                                 "csrf_token": token})
    assert resp.status_code == 413
    resp = client.post("/feedback/objectives/A1/comments",
                       data={"body": (__import__("io").BytesIO(big.encode()), "big.txt"),
                             "csrf_token": token}, content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "Too much data" in resp.get_data(as_text=True)
    assert _comment_count() == 0


def test_huge_query_strings_and_many_fields(signed_in):
    client = signed_in
    with client.get("/reports/", query_string={f"p{i}": "x" for i in range(5000)}) as resp:
        assert resp.status_code < 500
    with client.get("/plan/objectives/A1?" + "sort=" + "a" * 50_000) as resp:
        assert resp.status_code < 500
    token = client.csrf_token()
    data = [(f"f{i}", "y") for i in range(3000)] + [("body", "ok"), ("csrf_token", token)]
    resp = client.post("/feedback/objectives/A1/comments", data=MultiDict(data))
    assert resp.status_code in (302, 400, 413)
