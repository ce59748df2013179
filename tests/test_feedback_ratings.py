"""Ratings: the objective form, the domain form, progress, bad input and races."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Rating
from portal.timeutil import now_utc
from tests.factories import make_round, make_user, objective


def _ratings() -> list[Rating]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Rating).order_by(Rating.id)))


@pytest.fixture
def open_round(app):
    return make_round("Spring 2027")


@pytest.fixture
def segmented(app):
    return make_user(email="seg@example.org", career_stage="early", library_type="public",
                     work_role="librarian", region="west", membership_type="regular")


def test_member_rates_an_objective_and_changes_it(client, login, plan, open_round, segmented):
    login(segmented)
    page = client.get("/plan/objectives/A2").get_data(as_text=True)
    assert "How important is this objective to you?" in page
    assert "How well is the association doing on it?" in page
    assert page.count("Don&#39;t know") == 2 or page.count("Don't know") == 2
    assert "<fieldset" in page and "<legend>How important" in page
    assert "You have rated 0 of 22 objectives." in page
    resp = client.post_form("/feedback/objectives/A2/rating",
                            {"importance": "5", "performance": "0"})
    assert resp.status_code == 302 and resp.location.endswith("/plan/objectives/A2#rate")
    [r] = _ratings()
    assert (r.importance, r.performance, r.round_id) == (5, 0, open_round.id)
    assert r.objective_id == objective("A2").id and r.user_id == segmented.id
    assert (r.career_stage, r.library_type, r.work_role, r.region, r.membership_type) == (
        "early", "public", "librarian", "west", "regular")
    # Changing the answer updates the same row; performance left blank is stored as blank.
    client.post_form("/feedback/objectives/A2/rating", {"importance": "2"})
    [r] = _ratings()
    assert (r.importance, r.performance) == (2, None)
    page = client.get("/plan/objectives/A2").get_data(as_text=True)
    assert "You have rated 1 of 22 objectives." in page
    assert 'value="2" checked' in page or 'checked value="2"' in page or \
        ('id="importance-1"' in page and "checked" in page)
    # The next objective not yet rated, after this one.
    assert 'href="/plan/objectives/A3#rate">Rate the next objective you have not rated: A3' in page


def test_only_one_answer_is_needed(client, login, plan, open_round, member):
    login(member)
    assert client.post_form("/feedback/objectives/B1/rating",
                            {"performance": "4"}).status_code == 302
    [r] = _ratings()
    assert (r.importance, r.performance) == (None, 4)


@pytest.mark.parametrize(("data", "message"), [
    ({"importance": "9"}, "Choose one of the answers on the scale."),
    ({"importance": "-1", "performance": "3"}, "Choose one of the answers on the scale."),
    ({"performance": "abc"}, "Choose one of the answers on the scale."),
    ({"importance": "3", "performance": "6"}, "Choose one of the answers on the scale."),
    ({}, "Choose an answer to at least one question before saving."),
])
def test_ratings_off_the_scale_are_refused(client, login, plan, open_round, member, data,
                                           message):
    login(member)
    resp = client.post_form("/feedback/objectives/A1/rating", data)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert message in html and 'class="error-summary"' in html
    assert _ratings() == []


def test_rating_an_unknown_objective_is_a_404(client, login, plan, open_round, member):
    login(member)
    resp = client.post_form("/feedback/objectives/Z9/rating", {"importance": "3"})
    assert resp.status_code == 404
    assert "There is no objective with the code &#39;Z9&#39;." in resp.get_data(as_text=True)
    assert _ratings() == []


def test_rating_with_no_open_round_is_refused(client, login, plan, member):
    upcoming = make_round("Autumn", status="draft", opens_at=now_utc() + timedelta(days=7),
                          closes_at=now_utc() + timedelta(days=14))
    login(member)
    resp = client.post_form("/feedback/objectives/A1/rating", {"importance": "3"})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "No feedback round is open, so ratings cannot be saved." in html
    assert "The next round, &#39;Autumn&#39;, opens on" in html
    assert _ratings() == []
    assert upcoming.status == "draft"


def test_rating_after_the_round_closed_is_refused(client, login, plan, member):
    rnd = make_round("Short", opens_at=now_utc() - timedelta(days=3),
                     closes_at=now_utc() + timedelta(days=1))
    login(member)
    page = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "/feedback/objectives/A1/rating" in page
    rnd.closes_at = now_utc() - timedelta(seconds=1)
    db.session.commit()
    resp = client.post_form("/feedback/objectives/A1/rating", {"importance": "3"})
    assert resp.status_code == 409
    assert _ratings() == []


def test_a_retired_objective_cannot_be_rated(client, login, plan, open_round, member):
    objective("A1").retired_at = now_utc()
    db.session.commit()
    login(member)
    resp = client.post_form("/feedback/objectives/A1/rating", {"importance": "3"})
    assert resp.status_code == 400
    assert "has been retired" in resp.get_data(as_text=True)
    assert _ratings() == []


def test_rating_needs_a_verified_account(client, login, plan, open_round):
    unverified = make_user(verified=False)
    login(unverified)
    resp = client.post_form("/feedback/objectives/A1/rating", {"importance": "3"})
    assert resp.status_code == 403
    assert _ratings() == []
    assert "verify your e-mail address" in client.get("/plan/objectives/A1").get_data(
        as_text=True)


def test_anonymous_visitors_are_asked_to_sign_in(client, plan, open_round):
    page = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "to rate this objective" in page and "/auth/login?next=" in page
    resp = client.post_form("/feedback/objectives/A1/rating", {"importance": "3"})
    # The form comes back with sign-in fields and the answer still chosen
    # (tests/test_resubmit.py); nothing is stored.
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401 and 'name="password"' in html
    assert re.search(r'<input checked[^>]*name="importance"[^>]*value="3"', html)
    assert _ratings() == []


def test_outside_a_round_the_page_says_when_the_next_opens_and_shows_last_ratings(
        client, login, plan, member):
    old = make_round("Winter", opens_at=now_utc() - timedelta(days=30),
                     closes_at=now_utc() + timedelta(days=1))
    login(member)
    client.post_form("/feedback/objectives/C2/rating", {"importance": "4", "performance": "2"})
    old.status = "closed"
    old.closed_at = now_utc()
    db.session.commit()
    make_round("Summer", status="draft", opens_at=now_utc() + timedelta(days=60),
               closes_at=now_utc() + timedelta(days=90))
    html = client.get("/plan/objectives/C2").get_data(as_text=True)
    assert "No feedback round is open right now." in html
    assert "The next round, <strong>Summer</strong>, opens on" in html
    assert "Your ratings in Winter" in html
    assert "Very important" in html and "Poorly" in html
    assert "/feedback/objectives/C2/rating" not in html  # read-only
    assert "<dd>Not answered</dd>" not in html


def test_domain_page_rates_every_objective_in_one_form(client, login, plan, open_round, member):
    login(member)
    dom = client.get("/plan/domains/B").get_data(as_text=True)
    assert dom.count('class="objective-rating"') == 4
    # One outer fieldset per objective, each with an importance and a performance scale.
    assert dom.count("<legend>B") == 12
    assert "<legend>B2: How important is this objective to you?" in dom
    ids = {code: objective(code).id for code in ("B1", "B2", "B3", "B4")}
    resp = client.post_form("/feedback/domains/B/ratings", {
        f"importance_{ids['B1']}": "5", f"performance_{ids['B1']}": "4",
        f"importance_{ids['B3']}": "0"})
    assert resp.status_code == 302 and resp.location.endswith("/plan/domains/B#rate")
    stored = {(r.objective_id, r.importance, r.performance) for r in _ratings()}
    assert stored == {(ids["B1"], 5, 4), (ids["B3"], 0, None)}
    dom = client.get("/plan/domains/B").get_data(as_text=True)
    assert "You have rated 2 of 22 objectives." in dom
    assert dom.count("badge-done") == 2


def test_domain_form_with_one_bad_value_stores_nothing(client, login, plan, open_round, member):
    login(member)
    ids = {code: objective(code).id for code in ("E1", "E2")}
    resp = client.post_form("/feedback/domains/E/ratings", {
        f"importance_{ids['E1']}": "5", f"performance_{ids['E2']}": "77"})
    assert resp.status_code == 400
    assert "Choose one of the answers on the scale." in resp.get_data(as_text=True)
    assert _ratings() == []
    resp = client.post_form("/feedback/domains/E/ratings", {})
    assert resp.status_code == 400
    assert "Choose an answer to at least one question" in resp.get_data(as_text=True)
    assert client.post_form("/feedback/domains/Q/ratings", {}).status_code == 404


def test_simultaneous_submissions_store_one_row(app, plan, open_round, member):
    """Two requests from the same member at once: one row, two successes, no 500."""
    from tests.conftest import PortalClient
    from tests.factories import PASSWORD

    clients = []
    for _ in range(2):
        c = PortalClient(app)
        c.post_form("/auth/login", {"email": member.email, "password": PASSWORD})
        clients.append(c)
    barrier = threading.Barrier(2, timeout=20)
    statuses: list[int] = []
    tokens = [c.csrf_token() for c in clients]

    def submit(c, token, value):
        barrier.wait()
        resp = c.post("/feedback/objectives/D1/rating",
                      data={"csrf_token": token, "importance": value})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=submit, args=(c, t, v))
               for c, t, v in zip(clients, tokens, ("3", "4"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302, 302]
    rows = _ratings()
    assert len(rows) == 1 and rows[0].importance in (3, 4)


def test_service_level_race_stores_one_row(app, plan, open_round, member):
    from portal.feedback.services import save_rating
    from portal.models import FeedbackRound, Objective, User

    barrier = threading.Barrier(4, timeout=20)
    errors: list[BaseException] = []
    user_id, round_id = member.id, open_round.id  # read here: the main session is not shared

    def worker(value: int):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                rnd = db.session.get(FeedbackRound, round_id)
                obj = db.session.scalar(sa.select(Objective).where(Objective.code == "A3"))
                barrier.wait()
                save_rating(user, rnd, obj, value, value)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(v,)) for v in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = _ratings()
    assert len(rows) == 1 and rows[0].importance == rows[0].performance
