"""Data at association scale for the in-process benchmarks.

Members who rate every objective in two rounds, comments, survey responses in bulk,
survey answers submitted through the member's own services, and a signed-in leader's
test client. Bulk writes go around the ORM (as `flask demo-data` does) and keep the
report summaries in step themselves.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from urllib.parse import urlencode

import numpy as np
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from portal import create_app, segments
from portal.extensions import db
from portal.models import (
    Comment,
    FeedbackRound,
    Objective,
    Rating,
    Survey,
    SurveyAnswer,
    SurveyResponse,
    User,
)
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.reports import bulk, bulkload, demo_text, participation
from portal.survey_admin.services import create_from_definition
from portal.surveys import answers as ans
from portal.surveys import definition, services, submission
from portal.surveys.templates import template_text
from portal.timeutil import now_utc

SURVEY_TEMPLATE = "pd-needs"
COMMENT_SHARE = 0.10   # members writing one comment per round (the demo data's rate)


# The anonymity key of the servers the benchmarks start (bench/harness.py): a survey
# opened or answered here records the key's check value, and a server holding another
# key would refuse every anonymous survey (503).
BENCH_ANONYMITY_KEY = "5e" * 32


def bench_app(url: str):
    """The portal on `url`, quiet (warnings only) and without rate limits, with the
    benchmark servers' anonymity key."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING",
                       "RATELIMIT_ENABLED": False, "ANONYMITY_KEY": BENCH_ANONYMITY_KEY})


def _stamp(url: str):
    stamp = now_utc()
    return stamp, (stamp.strftime("%Y-%m-%d %H:%M:%S.%f") if url.startswith("sqlite")
                   else stamp)


def build_ratings(url: str, members: int, seed: int, comments: bool = False) -> None:
    """A fresh schema with the plan, `members` members (random segment mix) and a
    leader, and two open rounds in which every member rates every objective; with
    `comments`, COMMENT_SHARE of the members also comment once per round."""
    app = bench_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
        db.session.flush()
        rng = np.random.default_rng(seed)
        stamp, ts = _stamp(url)
        seg = {}
        for dim in segments.DIMENSIONS:
            codes = np.array([*dim.codes, ""], dtype=object)
            seg[dim.key] = codes[rng.integers(0, len(codes), members)]
        t0 = time.perf_counter()
        cols = ("email", "display_name", "password_hash", "role", "active",
                "email_verified_at", "session_version", "created_at",
                "updated_at", *segments.KEYS)
        rows = [(f"bench{i}@example.org", f"Bench {i}", None, "member", True, ts, 1, ts, ts,
                 *(seg[k][i] or None for k in segments.KEYS)) for i in range(members)]
        rows.append(("bench-leader@example.org", "Bench Leader", None, "leader", True, ts, 1,
                     ts, ts, *(None for _ in segments.KEYS)))
        bulkload.insert_rows(User.__table__, cols, rows)
        ids = np.array(db.session.scalars(sa.select(User.id).where(User.role == "member")
                                          .order_by(User.id)).all())
        objectives = db.session.scalars(sa.select(Objective).order_by(Objective.id)).all()
        obj = np.array([o.id for o in objectives])
        n_obj = len(obj)
        base_imp = rng.uniform(2.8, 4.4, n_obj)
        base_perf = rng.uniform(2.5, 3.8, n_obj)
        # Round 1 is over (one round at most may be open); round 2 is open.
        for r, (name, opens, closes) in enumerate((
                ("Bench round 1", stamp - timedelta(days=400), stamp - timedelta(days=300)),
                ("Bench round 2", stamp - timedelta(days=10), stamp + timedelta(days=30)))):
            rnd = FeedbackRound(name=name, opens_at=opens, closes_at=closes, status="draft")
            rnd.open(opens)
            if closes < stamp:
                rnd.close(closes)
            db.session.add(rnd)
            db.session.flush()
            imp = np.clip(np.rint(base_imp + rng.normal(0, 0.9, (members, n_obj))), 1, 5)
            perf = np.clip(np.rint(base_perf + 0.1 * r + rng.normal(0, 0.9, (members, n_obj))),
                           1, 5)
            imp = imp.astype(np.int64).ravel()
            perf = perf.astype(np.int64).ravel()
            perf[rng.random(perf.size) < 0.08] = 0
            imp[rng.random(imp.size) < 0.03] = -1
            user = np.repeat(ids, n_obj)
            objective = np.tile(obj, members)
            member = np.repeat(np.arange(members), n_obj)
            segcols = [seg[k][member] for k in segments.KEYS]
            rcols = ("user_id", "objective_id", "round_id", "importance", "performance",
                     *segments.KEYS, "created_at", "updated_at")
            rows_iter = ((int(u), int(o), rnd.id, None if i < 0 else int(i), int(p),
                          *(s[k] or None for s in segcols), ts, ts)
                         for k, (u, o, i, p) in enumerate(zip(user, objective, imp, perf,
                                                              strict=True)))
            n = bulkload.insert_rows(Rating.__table__, rcols, rows_iter)
            cells, cross, raters = bulk.summarise(rnd.id, objective, user, imp, perf,
                                                  {k: seg[k][member] for k in segments.KEYS})
            bulk.insert_summaries(cells, cross, raters)
            written = _add_comments(rng, rnd.id, ids, seg, objectives, ts) if comments else 0
            print(f"  {name}: {n:,} ratings, {len(cells):,} cells, {len(cross):,} crossed "
                  f"cells" + (f", {written:,} comments" if comments else ""), flush=True)
        participation.rebuild_participation()
        db.session.commit()
        _analyze()
        print(f"  built in {time.perf_counter() - t0:.1f} s", flush=True)
        db.engine.dispose()


def _analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()


def _add_comments(rng, round_id: int, ids, seg, objectives, ts) -> int:
    writers = np.flatnonzero(rng.random(len(ids)) < COMMENT_SHARE)
    tones = (*demo_text.POSITIVE, *demo_text.NEUTRAL, *demo_text.NEGATIVE)
    def row(m: int):
        code = objectives[int(rng.integers(0, len(objectives)))]
        text = demo_text.fill(tones[int(rng.integers(0, len(tones)))], code.code,
                              int(rng.integers(0, 2)))
        return (code.id, round_id, int(ids[m]), text, True, "visible",
                int(rng.integers(0, 5)), 0, ts, ts,
                *(seg[k][m] or None for k in segments.KEYS))

    cols = ("objective_id", "round_id", "user_id", "body", "show_name", "status",
            "endorsement_count", "flag_count", "created_at", "updated_at", *segments.KEYS)
    return bulkload.insert_rows(Comment.__table__, cols, (row(m) for m in writers))


def leader_client(app):
    """A test client signed in as the benchmark's leader."""
    client = app.test_client()
    with app.app_context():
        leader = db.session.scalar(sa.select(User).where(User.role == "leader"))
        with client.session_transaction() as sess:
            sess["_user_id"] = leader.get_id()
            sess["_fresh"] = True
    return client


# Surveys ------------------------------------------------------------------------------

def open_survey() -> Survey:
    """The professional-development needs survey, loaded and opened (flushed)."""
    survey = create_from_definition(definition.parse(template_text(SURVEY_TEMPLATE)), None)
    survey.open()
    db.session.flush()
    return survey


def random_answer(q, rng: random.Random):
    """A valid answer to question `q`, as a draft value (see portal.surveys.answers)."""
    codes = [o.code for o in q.options if not o.is_other]
    t = q.type
    if t == "single_choice":
        return {"option": rng.choice(codes), "other": None}
    if t == "multiple_choice":
        hi = q.setting("max_selections") or len(codes)
        lo = max(q.setting("min_selections", 1) or 1, 1)
        return {"options": rng.sample(codes, rng.randint(lo, min(hi, len(codes)))),
                "other": None}
    if t == "likert":
        return rng.randint(1, q.setting("points", 5))
    if t == "likert_matrix":
        return {c: rng.randint(0 if q.setting("allow_na") else 1, q.setting("points", 5))
                for c in codes}
    if t == "rating_0_10":
        return rng.randint(0, 10)
    if t == "ranking":
        return rng.sample(codes, min(q.setting("top_n", 1), len(codes)))
    if t == "number":
        return rng.randint(int(q.setting("min") or 0), int(q.setting("max") or 100))
    if t == "date":
        return date.today().isoformat()
    if t in ("short_text", "long_text"):
        return "I would like to lead a team and learn more about data. " * rng.randint(1, 4)
    raise ValueError(f"no benchmark answer for question type {t}")


def section_pairs(section, answers: dict, rng: random.Random) -> list[tuple[str, str]]:
    """Form pairs answering every question of `section` visible given `answers`."""
    return [pair for q in ans.visible_questions(section, answers)
            for pair in ans.to_form(q, random_answer(q, rng))]


def section_forms(survey: Survey, number: int, count: int, seed: int) -> list[str]:
    """`count` different valid posts of section `number` with "next" (no CSRF token)."""
    rng = random.Random(seed)
    section = survey.sections[number - 1]
    return [urlencode([*section_pairs(section, {}, rng), ("action", "next")])
            for _ in range(count)]


def add_responses(survey: Survey, n: int, rng: random.Random, batch: int = 2000) -> None:
    """`n` anonymous responses in bulk (with segment values and answers). Commits."""
    sections = list(survey.sections)
    choices = {dim.key: [*dim.codes, None] for dim in segments.DIMENSIONS}
    for start in range(0, n, batch):
        responses, rows = [], []
        for _ in range(min(batch, n - start)):
            rid = uuid.uuid4()
            responses.append({"id": rid, "survey_id": survey.id, "submitted_on": date.today(),
                              **{k: rng.choice(v) for k, v in choices.items()}})
            answers: dict = {}
            for section in sections:
                if not ans.condition_holds(section.show_if, answers):
                    continue
                for q in ans.visible_questions(section, answers):
                    answers[q.code] = random_answer(q, rng)
                    rows.extend({**row, "question_id": q.id, "response_id": rid}
                                for row in ans.to_rows(q, answers[q.code]))
        db.session.execute(sa.insert(SurveyResponse), responses)
        # COPY on PostgreSQL, as the demo data does: one statement, so the counting
        # triggers on survey_answers run once per batch instead of once per row.
        sqlite = db.session.get_bind().dialect.name == "sqlite"
        bulkload.insert_rows(SurveyAnswer.__table__,
                             ("response_id", "question_id", "item", "num_value", "text_value"),
                             ((r["response_id"].hex if sqlite else r["response_id"],
                               r["question_id"], r["item"], r["num_value"], r["text_value"])
                              for r in rows))
        db.session.commit()
    _analyze()


def submit_responses(survey_id: int, count: int, seed: int) -> None:
    """`count` new members answer every section and submit, through the services."""
    rng = random.Random(seed)
    before = _response_count(survey_id)
    for i in range(count):
        user = User(email=f"respondent{time.time_ns()}-{i}@example.org",
                    display_name="Respondent", role="member", active=True,
                    email_verified_at=now_utc(), region="west", career_stage="mid")
        db.session.add(user)
        db.session.commit()
        survey = db.session.get(Survey, survey_id)
        page = services.start(survey, user)
        while (number := page.first_open_index()) <= page.total:
            pairs = section_pairs(page.section(number), page.answers, rng)
            page, _ = services.save_section(survey, user, number, MultiDict(pairs), "next")
        db.session.commit()
        submission.submit(survey, user)
    if _response_count(survey_id) != before + count:
        raise RuntimeError("the submitted survey responses were not all stored")


def _response_count(survey_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)
                             .where(SurveyResponse.survey_id == survey_id))
