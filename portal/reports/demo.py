"""`flask demo-data`: realistic, deterministic demo data for the portal.

Members with a segment mix; two feedback rounds (the first closed, the second
open) whose ratings have structure: objectives differ in importance and
performance, segments disagree on some of them, some answers are missing or
"don't know", and a few things change between the rounds. Comments of varied
tone with replies and endorsements, and leadership updates. Survey responses come
from portal/surveys/demo.py; the command (portal/reports/demo_cli.py) adds them after
this part is committed, because the anonymity rules want them in their own transactions.

Bulk inserts (executemany on SQLite, COPY on PostgreSQL) and summaries counted
with numpy keep 50,000 members under a minute. Refuses to run in production.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
import numpy as np
import sqlalchemy as sa
from tqdm import tqdm

from portal import segments
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.models import (
    Action,
    Comment,
    Endorsement,
    FeedbackRound,
    Objective,
    ObjectiveUpdate,
    Rating,
    User,
)
from portal.reports import bulk, bulkload, demo_text, participation
from portal.reports.aggregates import NO_ANSWER, NOT_ANSWERED
from portal.timeutil import now_utc

DEMO_DOMAIN = "demo.example.org"
LOGINS = {"member": "demo-member@example.org", "leader": "demo-leader@example.org",
          "admin": "demo-admin@example.org"}

# Segment mix: (code, probability); "undisclosed" is "Prefer not to say", None unanswered.
MIX = {
    "career_stage": [("student", .08), ("early", .22), ("mid", .30), ("senior", .28),
                     ("retired", .07), ("undisclosed", .03), (None, .02)],
    "library_type": [("academic", .30), ("public", .35), ("school", .15), ("special", .10),
                     ("other", .06), ("undisclosed", .02), (None, .02)],
    "work_role": [("librarian", .50), ("support", .15), ("manager", .20), ("educator", .08),
                  ("other", .04), ("undisclosed", .02), (None, .01)],
    "region": [("northeast", .22), ("midwest", .22), ("south", .25), ("west", .20),
               ("international", .07), ("undisclosed", .02), (None, .02)],
}

# Latent importance and performance per objective (1..5 scale).
BASE = {
    "A1": (4.3, 3.2), "A2": (3.6, 3.4), "A3": (3.9, 2.8), "A4": (4.1, 3.5), "A5": (4.0, 2.9),
    "B1": (3.9, 3.0), "B2": (3.8, 2.5), "B3": (3.3, 3.1), "B4": (3.5, 3.2),
    "C1": (3.0, 2.9), "C2": (3.1, 2.7), "C3": (2.7, 2.9), "C4": (2.9, 3.2),
    "D1": (4.0, 2.6), "D2": (3.4, 3.0), "D3": (2.9, 3.0), "D4": (3.0, 3.1), "D5": (3.5, 2.8),
    "E1": (4.2, 3.6), "E2": (4.3, 3.4), "E3": (3.6, 3.3), "E4": (3.7, 3.8),
}
# Where segments disagree: (dimension, value) -> {objective code or domain letter:
# (importance shift, performance shift)}.
EFFECTS = {
    ("career_stage", "student"): {"E": (0.6, 0.0), "B3": (0.4, 0.0), "D1": (-0.4, 0.0),
                                  "B1": (0.3, -0.4)},
    ("career_stage", "early"): {"E": (0.4, 0.0), "B2": (0.0, -0.3), "C": (-0.2, 0.0)},
    ("career_stage", "senior"): {"C2": (0.3, -0.2), "D": (0.2, 0.0)},
    ("career_stage", "retired"): {"D1": (0.5, 0.0), "D5": (0.5, 0.0), "E2": (-0.6, 0.0)},
    ("library_type", "school"): {"A4": (0.5, 0.0), "A5": (0.6, 0.0), "E4": (-0.4, 0.0)},
    ("library_type", "academic"): {"E3": (0.4, 0.0), "E4": (0.7, 0.2), "A5": (-0.3, 0.0)},
    ("library_type", "public"): {"A1": (0.3, 0.0), "A5": (0.4, -0.2)},
    ("library_type", "special"): {"A": (-0.4, 0.0)},
    ("work_role", "manager"): {"D": (0.4, 0.0), "C4": (0.4, 0.0)},
    ("work_role", "support"): {"E2": (0.5, -0.3), "C2": (-0.3, 0.0), "B1": (0.3, -0.3)},
    ("work_role", "educator"): {"E4": (0.6, 0.0), "E3": (0.4, 0.0)},
    ("region", "international"): {"A2": (0.6, 0.0), "A4": (-0.5, 0.0), "*": (0.0, -0.3)},
    ("region", "south"): {"*": (0.0, 0.1), "A1": (0.2, -0.2)},
}
# What changed between the rounds: code -> (importance shift, performance shift) in round 2.
ROUND_TWO = {"B2": (0.0, 0.6), "A4": (0.0, 0.3), "D1": (0.2, -0.3), "A3": (0.35, 0.0),
             "E1": (0.0, 0.25)}
PARTICIPATION = (0.62, 0.5)


@dataclass
class DemoResult:
    password: str
    members: int = 0
    ratings: list[int] = field(default_factory=list)
    comments: int = 0
    endorsements: int = 0
    updates: int = 0
    actions: int = 0
    survey_responses: int = 0
    member_ids: list[int] = field(default_factory=list)


def _ts(dt: datetime):
    """Timestamps as the dialect stores them (SQLite: SQLAlchemy's text format)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return dt


def _choose(rng: np.random.Generator, mix, n: int) -> np.ndarray:
    codes = np.array([c if c is not None else NOT_ANSWERED for c, _ in mix], dtype=object)
    probs = np.array([p for _, p in mix])
    return codes[rng.choice(len(codes), size=n, p=probs / probs.sum())]


def _membership(rng: np.random.Generator, seg: dict[str, np.ndarray]) -> np.ndarray:
    n = len(seg["career_stage"])
    out = np.where(rng.random(n) < 0.92, "regular", "trustee_associate").astype(object)
    u = rng.random(n)
    out[(seg["career_stage"] == "student") & (u < 0.85)] = "student"
    out[(seg["career_stage"] == "retired") & (u < 0.8)] = "retired"
    out[(seg["work_role"] == "support") & (u < 0.6)] = "support_staff"
    r = rng.random(n)
    out[r < 0.02] = "undisclosed"
    out[(r >= 0.02) & (r < 0.03)] = NOT_ANSWERED
    return out


def _effect_matrix(codes: list[str], seg: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per member and objective, the segment shifts of importance and performance."""
    n, o = len(seg["career_stage"]), len(codes)
    imp, perf = np.zeros((n, o)), np.zeros((n, o))
    for (dim, value), targets in EFFECTS.items():
        who = seg[dim] == value
        for j, code in enumerate(codes):
            d = targets.get(code) or targets.get(code[:1]) or targets.get("*")
            if d:
                imp[who, j] += d[0]
                perf[who, j] += d[1]
    return imp, perf


def _scale(latent: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(latent), 1, 5).astype(np.int64)


def create_demo(members: int, seed: int, password: str | None = None,
                progress: bool = True) -> DemoResult:
    """Create everything; the caller commits. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    password = password or secrets.token_urlsafe(9)
    result = DemoResult(password)
    now = now_utc().replace(microsecond=0)
    objectives = list(db.session.scalars(
        sa.select(Objective).where(Objective.retired_at.is_(None)).order_by(
            Objective.domain_id, Objective.position)))
    if not objectives:
        raise click.ClickException("Load a plan first: flask plan import")
    codes = [o.code for o in objectives]
    bar = tqdm(total=members, desc="members", unit="", disable=not progress)

    # -- people -----------------------------------------------------------------
    hashed = hash_password(password)
    seg = {k: _choose(rng, MIX[k], members) for k in MIX}
    seg["membership_type"] = _membership(rng, seg)
    created = _ts(now - timedelta(days=500))
    staff = [(LOGINS["admin"], "Demo Admin", "admin"), (LOGINS["leader"], "Demo Leader", "leader"),
             (LOGINS["member"], "Demo Member", "member")]
    rows = [(email, name, hashed, role, True, created, 1, created, created,
             "mid", "public", "librarian", "midwest", "regular") for email, name, role in staff]
    rows += [(f"member{i:06d}@{DEMO_DOMAIN}", f"Demo Member {i}", hashed, "member", True,
              created, 1, created, created,
              *(seg[k][i] or None for k in segments.KEYS)) for i in range(members)]
    cols = ("email", "display_name", "password_hash", "role", "active", "email_verified_at",
            "session_version", "created_at", "updated_at", *segments.KEYS)
    bulkload.insert_rows(User.__table__, cols, rows, progress=bar)
    bar.close()
    ids = dict(db.session.execute(sa.select(User.email, User.id).where(
        User.email.like(f"%@{DEMO_DOMAIN}"))).all())
    user_ids = np.array([ids[f"member{i:06d}@{DEMO_DOMAIN}"] for i in range(members)])
    leader_id = db.session.scalar(sa.select(User.id).where(User.email == LOGINS["leader"]))
    result.members = members

    # -- rounds -----------------------------------------------------------------
    first = FeedbackRound(name="Member feedback 2025", opens_at=now - timedelta(days=400),
                          closes_at=now - timedelta(days=360),
                          description="The first annual round of feedback on the plan.",
                          status="draft")
    first.open(now - timedelta(days=400))
    first.close(now - timedelta(days=360))
    second = FeedbackRound(name="Member feedback 2026", opens_at=now - timedelta(days=20),
                           closes_at=now + timedelta(days=20),
                           description="This year's round: is the plan on track?",
                           status="draft")
    second.open(now - timedelta(days=20))
    db.session.add_all([first, second])
    db.session.flush()

    base_imp = np.array([demo_text_base(c)[0] for c in codes])
    base_perf = np.array([demo_text_base(c)[1] for c in codes])
    eff_imp, eff_perf = _effect_matrix(codes, seg)
    member_imp = rng.normal(0, 0.45, members)      # some members rate everything higher
    member_perf = rng.normal(0, 0.5, members)
    dk_perf = np.array([0.22 if c.startswith("C") else 0.08 for c in codes])
    obj_ids = np.array([o.id for o in objectives])
    gaps_by_round = []

    for r, rnd in enumerate((first, second)):
        shift = np.array([ROUND_TWO.get(c, (0, 0)) for c in codes]) if r else np.zeros(
            (len(codes), 2))
        takes_part = rng.random(members) < PARTICIPATION[r]
        who = np.flatnonzero(takes_part)
        n = len(who)
        imp_latent = (base_imp + shift[:, 0] + eff_imp[who] + member_imp[who, None]
                      + rng.normal(0, 0.75, (n, len(codes))))
        perf_latent = (base_perf + shift[:, 1] + eff_perf[who] + member_perf[who, None]
                       + rng.normal(0, 0.8, (n, len(codes))))
        imp, perf = _scale(imp_latent), _scale(perf_latent)
        imp[rng.random(imp.shape) < 0.02] = 0                      # don't know
        perf[rng.random(perf.shape) < dk_perf] = 0
        imp[rng.random(imp.shape) < 0.03] = NO_ANSWER              # skipped
        perf[rng.random(perf.shape) < 0.05] = NO_ANSWER
        # Most rate every objective; the rest a subset.
        partial = rng.random(n) < 0.3
        keep = ~partial[:, None] | (rng.random((n, len(codes))) < rng.uniform(0.3, 0.9, n)[:, None])
        pi, oj = np.nonzero(keep)
        member_idx = who[pi]
        flat_imp, flat_perf = imp[pi, oj], perf[pi, oj]
        stamp = _ts(rnd.opens_at + timedelta(days=3))
        seg_cols = [seg[k][member_idx] for k in segments.KEYS]
        total = len(pi)
        bar = tqdm(total=total, desc=f"ratings {rnd.name}", unit="", disable=not progress)
        rows = (
            (int(user_ids[m]), int(obj_ids[o]), rnd.id,
             None if i == NO_ANSWER else int(i), None if p == NO_ANSWER else int(p),
             *(s[k] or None for s in seg_cols), stamp, stamp)
            for k, (m, o, i, p) in enumerate(zip(member_idx, oj, flat_imp, flat_perf,
                                                 strict=True)))
        rcols = ("user_id", "objective_id", "round_id", "importance", "performance",
                 *segments.KEYS, "created_at", "updated_at")
        bulkload.insert_rows(Rating.__table__, rcols, rows, progress=bar)
        bar.close()
        cells, cross, raters = bulk.summarise(
            rnd.id, obj_ids[oj], user_ids[member_idx], flat_imp, flat_perf,
            {k: seg[k][member_idx] for k in segments.KEYS})
        bulk.insert_summaries(cells, cross, raters)
        result.ratings.append(total)
        gaps_by_round.append((rnd, who, imp, perf))

    participation.rebuild_participation()

    # -- comments, replies, endorsements ------------------------------------------
    for rnd, who, imp, perf in gaps_by_round:
        c, e = _comments(rng, rnd, who, imp, perf, objectives, user_ids, seg)
        result.comments += c
        result.endorsements += e

    # -- leadership updates ---------------------------------------------------------
    result.updates = _updates(rng, objectives, leader_id, first, second)
    result.actions = _actions(objectives, leader_id, second)
    result.member_ids = [int(u) for u in user_ids]
    return result


def demo_text_base(code: str) -> tuple[float, float]:
    return BASE.get(code, (3.5, 3.1))


def _comments(rng, rnd, who, imp, perf, objectives, user_ids, seg) -> tuple[int, int]:
    """About 6% of participants comment on one or two objectives, in a tone that follows
    their own ratings; some comments get replies and endorsements."""
    writers = who[rng.random(len(who)) < 0.06]
    pos = {m: i for i, m in enumerate(who)}
    bodies, rows, authors = [], [], []
    span = max((rnd.closes_at - rnd.opens_at).days, 1)
    for m in writers:
        for j in rng.choice(len(objectives), size=rng.integers(1, 3), replace=False):
            i, p = imp[pos[m], j], perf[pos[m], j]
            if p in (0, NO_ANSWER) or i in (0, NO_ANSWER):
                tone = demo_text.NEUTRAL
            elif p < i - 0.5 or p <= 2:
                tone = demo_text.NEGATIVE if rng.random() < 0.8 else demo_text.NEUTRAL
            elif p >= 4:
                tone = demo_text.POSITIVE if rng.random() < 0.8 else demo_text.NEUTRAL
            else:
                tone = (demo_text.NEUTRAL, demo_text.POSITIVE, demo_text.NEGATIVE)[
                    rng.integers(0, 3)]
            code = objectives[j].code
            text = demo_text.fill(tone[rng.integers(0, len(tone))], code, int(rng.integers(0, 2)))
            if rng.random() < 0.35:
                extra = demo_text.NEUTRAL[rng.integers(0, len(demo_text.NEUTRAL))]
                text += " " + demo_text.fill(extra, code, int(rng.integers(0, 2)))
            when = rnd.opens_at + timedelta(days=int(rng.integers(0, span)),
                                            minutes=int(rng.integers(0, 1440)))
            status = "visible" if rng.random() > 0.02 else "hidden"
            bodies.append(text)
            authors.append(m)
            rows.append([objectives[j].id, rnd.id, int(user_ids[m]), None, text,
                         bool(rng.random() < 0.7), status, 0, 0, when])
    # Endorsements: a skewed number per comment, from other participants.
    counts = np.minimum(rng.negative_binomial(1, 0.25, len(rows)), len(who) - 1)
    for row, k in zip(rows, counts, strict=True):
        row[7] = int(k)
    cols = ("objective_id", "round_id", "user_id", "parent_id", "body", "show_name", "status",
            "endorsement_count", "flag_count", "created_at", "updated_at", *segments.KEYS)

    def full(row, m):
        return (*row[:9], _ts(row[9]), _ts(row[9]), *(seg[k][m] or None for k in segments.KEYS))

    bulkload.insert_rows(Comment.__table__, cols, (full(r, m) for r, m in zip(rows, authors,
                                                                             strict=True)))
    ids = list(db.session.scalars(sa.select(Comment.id).where(Comment.round_id == rnd.id)
                                  .order_by(Comment.id)))
    # Replies to about 15% of comments.
    replies = []
    for cid, row in zip(ids, rows, strict=True):
        if rng.random() < 0.15:
            m = who[rng.integers(0, len(who))]
            pool = demo_text.REPLIES_AGREE if rng.random() < 0.7 else demo_text.REPLIES_DISAGREE
            text = pool[rng.integers(0, len(pool))]
            when = row[9] + timedelta(hours=int(rng.integers(1, 72)))
            replies.append((row[0], rnd.id, int(user_ids[m]), cid, text, True, "visible", 0, 0,
                            _ts(when), _ts(when),
                            *(seg[k][m] or None for k in segments.KEYS)))
    bulkload.insert_rows(Comment.__table__, cols, replies)
    endorsements = []
    stamp = _ts(rnd.opens_at + timedelta(days=5))
    for cid, k in zip(ids, counts, strict=True):
        if k:
            for m in rng.choice(len(who), size=int(k), replace=False):
                endorsements.append((int(user_ids[who[m]]), cid, stamp))
    bulkload.insert_rows(Endorsement.__table__, ("user_id", "comment_id", "created_at"),
                         endorsements)
    return len(rows) + len(replies), len(endorsements)


# Demo action plans: (title, status, progress, days from the latest round's opening to
# the due date, finding, published). Chosen by the objective's place, not drawn from the
# random generator, so the ratings and comments of a seed stay the same.
DEMO_ACTIONS = (
    ("Hold listening sessions with members on {code}", "in_progress", 40, 60, "shortfall",
     True),
    ("Report progress on {code} to the board", "planned", 0, 120, "priority", False),
    ("Review what members wrote about {code}", "done", 100, 20, "comments", True),
    ("Pilot a regional programme for {code}", "blocked", 10, 30, "segment", False),
)


def _actions(objectives, leader_id, latest) -> int:
    """An action on every third objective, with due dates around the latest round so
    that the overdue view and the roll-up have something to show."""
    n = 0
    for j, obj in enumerate(objectives):
        if j % 3:
            continue
        title, status, progress, days, kind, published = DEMO_ACTIONS[(j // 3)
                                                                      % len(DEMO_ACTIONS)]
        db.session.add(Action(
            objective_id=obj.id, title=title.format(code=obj.code), owner_id=leader_id,
            created_by_id=leader_id, due_on=(latest.opens_at + timedelta(days=days)).date(),
            status=status, progress=progress, finding_kind=kind, published=published,
            finding_url=f"/reports/objectives/{obj.code}?round={latest.id}"))
        n += 1
    db.session.flush()
    return n


def _updates(rng, objectives, leader_id, first, second) -> int:
    statuses = ("in_progress", "in_progress", "not_started", "achieved", "paused")
    n = 0
    for j, obj in enumerate(objectives):
        if j % 2:
            continue
        progress_by_round = ((first, int(rng.integers(0, 40))),
                             (second, int(rng.integers(30, 95))))
        for rnd, progress in progress_by_round:
            heard = demo_text.fill(demo_text.UPDATE_HEARD[rng.integers(0, 3)], obj.code)
            doing = demo_text.fill(demo_text.UPDATE_DOING[rng.integers(0, 3)], obj.code)
            status = statuses[int(rng.integers(0, len(statuses)))]
            # Keep the status and the percentage telling the same story.
            progress = {"achieved": 100, "not_started": 0}.get(status, progress)
            db.session.add(ObjectiveUpdate(
                objective_id=obj.id, author_id=leader_id, status=status, progress=progress,
                heard=heard, doing=doing, published_at=rnd.opens_at + timedelta(days=10)))
            n += 1
    db.session.flush()
    return n
