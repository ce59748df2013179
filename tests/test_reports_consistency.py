"""The report summaries stay exact through every real way ratings and members change.

Each test changes things the way the portal does (the rating forms, the profile
page, account deletion, the admin console, e-mail verification) and ends with
`flask reports verify`, which recomputes every summary from the raw rows.
"""

from __future__ import annotations

import csv
import io
import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Rating, ReportParticipation, ReportRater, User
from portal.reports import participation
from tests.factories import PASSWORD, make_members, make_round, make_user, objective


@pytest.fixture
def app_config() -> dict:
    # One member is enough to see figures, so the pages can be checked after a few ratings.
    return {"PRIVACY_MIN_N": 1}


@pytest.fixture
def rnd(app):
    return make_round("Spring 2027")


@pytest.fixture
def rater(app):
    return make_user(email="rater@example.org", career_stage="early", library_type="public",
                     work_role="librarian", region="west", membership_type="regular")


def _verify(runner) -> None:
    db.session.expire_all()
    result = runner.invoke(args=["reports", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: Spring 2027" in result.output


def _rate(client, code: str, importance: str | None, performance: str | None = None) -> None:
    data = {k: v for k, v in (("importance", importance), ("performance", performance)) if v}
    resp = client.post_form(f"/feedback/objectives/{code}/rating", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def _rate_domain(client, code: str, answers: dict[str, tuple[str | None, str | None]]) -> None:
    data = {}
    for obj_code, (imp, perf) in answers.items():
        oid = objective(obj_code).id
        if imp is not None:
            data[f"importance_{oid}"] = imp
        if perf is not None:
            data[f"performance_{oid}"] = perf
    resp = client.post_form(f"/feedback/domains/{code}/ratings", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def _priorities(client, rnd) -> dict[str, list[str]]:
    resp = client.get(f"/reports/export/dashboard/priorities.csv?round={rnd.id}")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    header = rows[0]
    return {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}


def _participation(rnd) -> dict[tuple[str, str], tuple[int, int]]:
    db.session.expire_all()
    return participation.counts(rnd.id, "live")  # the live rows (pages read snapshots)


def _raters(rnd) -> dict[int, int]:
    return dict(db.session.execute(sa.select(ReportRater.user_id, ReportRater.n).where(
        ReportRater.round_id == rnd.id, ReportRater.n != 0)).all())


# ---------------------------------------------------------------------------
# Ratings through the forms


def test_rating_through_the_forms_keeps_the_summaries_and_dashboard_exact(
        client, login, plan, rnd, rater, leader, runner):
    login(rater)
    _rate(client, "A1", "5", "2")
    _verify(runner)
    _rate(client, "A1", "3", "4")          # the same row changes: old values move out
    _verify(runner)
    _rate_domain(client, "A", {"A1": ("1", None), "A2": ("4", "4"), "A3": ("0", None)})
    _verify(runner)
    _rate_domain(client, "A", {"A2": (None, "5"), "A3": ("2", "2")})
    _verify(runner)
    assert _raters(rnd) == {rater.id: 3}
    assert _participation(rnd)[("", "")] == (1, 1)     # the leader is staff: not eligible
    assert _participation(rnd)[("region", "west")] == (1, 1)

    login(leader)
    rows = _priorities(client, rnd)
    assert rows["A1"]["Raters"] == "1" and rows["A2"]["Raters"] == "1"
    assert rows["A4"]["Raters"] in ("0", "–", "")
    # A1 was last rated importance 1 (not important): the mean is exactly 1.
    assert float(rows["A1"]["Mean importance"]) == pytest.approx(1.0)
    html = client.get(f"/reports/priorities?round={rnd.id}").get_data(as_text=True)
    assert "There are no ratings" not in html
    part = client.get(f"/reports/export/dashboard/participation.csv?round={rnd.id}")
    assert "All eligible members,1,1" in part.get_data(as_text=True).replace('"', "")


def test_many_members_through_the_form_give_the_dashboard_their_counts(
        client, login, plan, rnd, leader, runner):
    members = make_members(3, career_stage="mid")
    for i, m in enumerate(members):
        login(m)
        _rate(client, "B2", str(i + 3), str(i + 1))
    _verify(runner)
    login(leader)
    rows = _priorities(client, rnd)
    assert rows["B2"]["Raters"] == "3"
    assert float(rows["B2"]["Mean importance"]) == pytest.approx(4.0)
    assert float(rows["B2"]["Mean performance"]) == pytest.approx(2.0)


# ---------------------------------------------------------------------------
# Member changes


def test_profile_segment_changes_move_participation(client, login, plan, rnd, rater, runner):
    login(rater)
    _rate(client, "C1", "4", "4")
    assert _participation(rnd)[("career_stage", "early")] == (1, 1)
    resp = client.post_form("/account", {
        "display_name": "Rae Rater", "career_stage": "senior", "library_type": "public",
        "work_role": "", "region": "west", "membership_type": "regular"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    counts = _participation(rnd)
    assert counts.get(("career_stage", "early"), (0, 0)) == (0, 0)
    assert counts[("career_stage", "senior")] == (1, 1)
    assert counts[("work_role", "")] == (1, 1)
    _verify(runner)
    # The next rating copies the new segments; the old row's cells move with it.
    _rate(client, "C1", "2", "4")
    assert db.session.scalar(sa.select(Rating.career_stage)) == "senior"
    _verify(runner)


def test_account_deletion_keeps_ratings_in_the_cells_but_not_in_participation(
        client, login, plan, rnd, rater, member, runner):
    login(member)
    _rate(client, "D1", "5", "5")
    login(rater)
    _rate(client, "D1", "1", "1")
    _rate(client, "D2", "2", None)
    assert _participation(rnd)[("", "")] == (2, 2)
    resp = client.post_form("/account/delete", {"password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert db.session.get(User, rater.id) is None
    # The deleted member's ratings still count (anonymised) ...
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Rating).where(
        Rating.user_id.is_(None))) == 2
    # ... but they are no longer a member, so no longer a rater or eligible.
    assert set(_raters(rnd)) == {member.id}
    assert _participation(rnd)[("", "")] == (1, 1)
    assert _participation(rnd).get(("region", "west"), (0, 0)) == (0, 0)
    _verify(runner)


def test_anonymising_feedback_alone_keeps_the_summaries_exact(app, plan, rnd, rater, runner):
    """The deletion hook on its own (without the user row going) must leave verify green."""
    from portal.feedback.services import anonymise_member_feedback, save_ratings

    save_ratings(rater, rnd, {objective("E1"): (4, 3), objective("E2"): (None, 1)})
    db.session.commit()
    assert _raters(rnd) == {rater.id: 2}
    anonymise_member_feedback(rater)
    db.session.commit()
    assert _raters(rnd) == {}
    assert _participation(rnd)[("", "")] == (1, 0)
    _verify(runner)


def test_deactivation_and_reactivation_move_eligibility(client, login, plan, rnd, rater,
                                                         admin, runner):
    login(rater)
    _rate(client, "A4", "3", "3")
    login(admin)
    assert client.post_form(f"/admin/users/{rater.id}/deactivate").status_code == 302
    # Nobody is eligible now (the admin is staff).
    assert _participation(rnd).get(("", ""), (0, 0)) == (0, 0)
    _verify(runner)
    assert client.post_form(f"/admin/users/{rater.id}/reactivate").status_code == 302
    assert _participation(rnd)[("", "")] == (1, 1)
    _verify(runner)


def test_verifying_an_address_makes_the_member_count(app, client, plan, rnd, runner):
    from portal.auth import services as auth
    from portal.feedback.services import save_rating

    user = make_user(verified=False, region="south")
    save_rating(user, rnd, objective("B1"), 5, 1)   # the service does not check verification
    db.session.commit()
    assert _participation(rnd).get(("", ""), (0, 0)) == (0, 0)
    _verify(runner)
    token = auth.issue_verification(user)
    db.session.commit()
    resp = client.post_form(f"/auth/verify/{token}")
    assert resp.status_code in (200, 302), resp.get_data(as_text=True)[:2000]
    assert _participation(rnd)[("region", "south")] == (1, 1)
    _verify(runner)


# ---------------------------------------------------------------------------
# Races


def _threads(target, args_list) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(*args):
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _submit(c, token, value, code, barrier, statuses) -> None:
    barrier.wait()
    resp = c.post(f"/feedback/objectives/{code}/rating",
                  data={"csrf_token": token, "importance": value, "performance": value})
    statuses.append(resp.status_code)


def test_simultaneous_form_submissions_store_one_row_and_exact_summaries(app, plan, rnd,
                                                                         rater, runner):
    from tests.conftest import PortalClient

    for attempt in range(3):
        clients = []
        for _ in range(2):
            c = PortalClient(app)
            c.post_form("/auth/login", {"email": rater.email, "password": PASSWORD})
            clients.append(c)
        tokens = [c.csrf_token() for c in clients]
        barrier = threading.Barrier(2, timeout=20)
        statuses: list[int] = []
        code = ("D3", "D3", "D4")[attempt]
        assert _threads(_submit, [(c, t, v, code, barrier, statuses) for c, t, v in
                                  zip(clients, tokens, ("2", "5"), strict=True)]) == []
        assert statuses == [302, 302]
        db.session.expire_all()
        rows = db.session.scalars(sa.select(Rating).where(
            Rating.objective_id == objective(code).id)).all()
        assert len(rows) == 1 and rows[0].importance in (2, 5)
        _verify(runner)
    assert _raters(rnd) == {rater.id: 2}


def test_service_level_races_of_one_member_keep_the_summaries_exact(app, plan, rnd, rater,
                                                                    runner):
    from portal.feedback.services import save_ratings
    from portal.models import FeedbackRound, Objective

    user_id, round_id = rater.id, rnd.id
    codes = ("C2", "C3")
    barrier = threading.Barrier(4, timeout=20)

    def worker(value: int):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                r = db.session.get(FeedbackRound, round_id)
                objs = db.session.scalars(sa.select(Objective).where(
                    Objective.code.in_(codes))).all()
                barrier.wait()
                save_ratings(user, r, dict.fromkeys(objs, (value, 5 - value)))
                db.session.commit()
            finally:
                db.session.remove()

    for _ in range(2):
        assert _threads(worker, [(v,) for v in (1, 2, 3, 4)]) == []
        db.session.expire_all()
        rows = db.session.scalars(sa.select(Rating)).all()
        assert len(rows) == 2
        assert len({(r.importance, r.performance) for r in rows}) == 1
        _verify(runner)
    assert _raters(rnd) == {rater.id: 2}


def test_a_first_rating_racing_a_profile_change_keeps_participation_exact(
        app, plan, rnd, runner, monkeypatch):
    """The profile change commits while a first rating is between reading the member
    and committing: the rating must not count the member under the old segments."""
    from portal.account.services import update_profile
    from portal.feedback.services import save_rating
    from portal.models import FeedbackRound, Objective

    [m] = make_members(1, career_stage="early")
    user_id, round_id = m.id, rnd.id
    member_read = threading.Event()
    real_lock = participation.lock_member

    def slow_lock(conn, uid):
        row = real_lock(conn, uid)
        if threading.current_thread().name == "rating":
            member_read.set()          # let the profile change go now ...
            threading.Event().wait(0.5)  # ... and give it time to commit if it can
        return row

    monkeypatch.setattr(participation, "lock_member", slow_lock)

    def rate():
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                r = db.session.get(FeedbackRound, round_id)
                obj = db.session.scalar(sa.select(Objective).where(Objective.code == "E3"))
                save_rating(user, r, obj, 4, 2)
                db.session.commit()
            finally:
                db.session.remove()

    def move():
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                answers = user.segment_values() | {"career_stage": "senior"}
                assert member_read.wait(20)
                update_profile(user, user.display_name, answers)
                db.session.commit()
            finally:
                db.session.remove()

    errors: list[BaseException] = []

    def run(fn):
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            member_read.set()

    threads = [threading.Thread(target=run, args=(rate,), name="rating"),
               threading.Thread(target=run, args=(move,), name="profile")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = _participation(rnd)
    assert counts[("career_stage", "senior")] == (1, 1)
    assert counts.get(("career_stage", "early"), (0, 0)) == (0, 0)
    assert db.session.scalar(sa.select(sa.func.sum(ReportParticipation.n)).where(
        ReportParticipation.round_id == rnd.id, ReportParticipation.dimension == "")) == 1
    _verify(runner)


# ---------------------------------------------------------------------------
# Cost


def test_a_rating_post_issues_few_statements(client, login, plan, rnd, rater, query_counter):
    login(rater)
    _rate(client, "A1", "4", "4")           # warm up: the first rating creates the rater row
    token = client.csrf_token()
    with query_counter() as first:
        client.post("/feedback/objectives/A2/rating",
                    data={"csrf_token": token, "importance": "5", "performance": "1"})
    with query_counter() as change:
        client.post("/feedback/objectives/A2/rating",
                    data={"csrf_token": token, "importance": "2", "performance": "1"})
    summary = [s for s in first + change if "report_" in s]
    # One statement per summary table, however many cells a rating touches.
    assert sum("report_cells" in s for s in first) == 1
    assert sum("report_cross_cells" in s for s in first) == 1
    assert sum("report_cross_cells" in s for s in change) == 1
    assert len(summary) <= 5, summary
    # The whole request: objective, round schedule and open round, member lock, old
    # values, the rating upsert, the summaries (cells, crossed cells, raters for a new
    # rating) and the user reloaded after the commit for the access log.
    assert len(first) <= 10, "\n".join(first)
    assert len(change) <= 9, "\n".join(change)
