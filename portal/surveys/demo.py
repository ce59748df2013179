"""Demo survey responses: the professional-development needs survey, open, with
realistic answers from a share of the demo members. Used by `flask demo-data`.

Answers have structure a reader of the results can find: school librarians want
youth services, managers leadership, students cheap self-paced formats, members
without employer support name cost and rate that support low, and so on. The
answers are deterministic for a seed; bulk inserts keep 50,000 members fast.

The anonymity rules of portal/surveys/submission.py hold for these rows too:
the participations are committed in one transaction and the responses in
another (so on PostgreSQL no `xmin` is shared), the responses have random UUID
keys and are written in key order, which is unrelated to the members' order;
they carry only the survey's breakdown dimensions, recoded within each release
batch as a release would (portal/surveys/generalise.py), the day of their
batch's release and its number (`batch`), and nothing else. No log line names a member.
(The answers are fake and follow from the seed, so the seed itself is the only
secret a demo database has.)
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import numpy as np
import sqlalchemy as sa

from portal import privacy, segments
from portal.extensions import db
from portal.models import (
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyResponse,
    User,
)
from portal.reports import bulkload
from portal.surveys import pool, templates
from portal.surveys.generalise import Recoder
from portal.timeutil import now_utc

TEMPLATE = "pd-needs"
SHARE_ANSWERING = 0.35
OPEN_DAYS = 21

# Topic interest (q1) by option code, and shifts by segment (dimension, value).
TOPICS = {"advocacy": 1.0, "intel_freedom": 0.9, "literacy": 1.3, "data_tech": 1.2, "ai": 2.0,
          "equity": 1.0, "leadership": 1.1, "youth_school": 0.6, "collections": 0.7,
          "accessibility": 0.8, "community": 1.0}
TOPIC_SHIFTS = {
    ("library_type", "school"): {"youth_school": 3.0, "literacy": 1.5},
    ("library_type", "academic"): {"data_tech": 1.6, "ai": 1.3, "collections": 1.5},
    ("library_type", "public"): {"community": 1.8, "advocacy": 1.3, "intel_freedom": 1.3},
    ("work_role", "manager"): {"leadership": 2.5, "advocacy": 1.4},
    ("career_stage", "early"): {"leadership": 1.5, "ai": 1.2},
    ("career_stage", "student"): {"data_tech": 1.5, "collections": 1.3},
}
# Formats (q2) and their appeal by career stage.
FORMATS = {"webinar": 1.6, "self_paced": 1.5, "workshop": 1.1, "conference": 0.9,
           "mentoring": 0.8, "certification": 0.7, "cohort": 0.6}
FORMAT_SHIFTS = {
    ("career_stage", "student"): {"self_paced": 2.0, "mentoring": 1.6, "conference": 0.5},
    ("career_stage", "early"): {"mentoring": 1.8, "certification": 1.6, "cohort": 1.4},
    ("career_stage", "senior"): {"conference": 1.7, "workshop": 1.3, "self_paced": 0.7},
    ("career_stage", "retired"): {"conference": 1.5, "webinar": 1.3, "certification": 0.3},
}
HOURS = (("lt1", .15), ("h1_2", .35), ("h3_5", .30), ("h6_10", .14), ("gt10", .06))
PAY = (("none", .18), ("lt100", .27), ("d100_249", .25), ("d250_499", .14),
       ("d500_999", .07), ("d1000", .03), ("undisclosed", .06))
LOW_PAY = (("none", .40), ("lt100", .35), ("d100_249", .12), ("d250_499", .04),
           ("d500_999", .01), ("d1000", .0), ("undisclosed", .08))
EMPLOYER = (("yes", .42), ("partly", .33), ("no", .20), ("not_employed", .05))
NOT_WORKING = (("yes", .05), ("partly", .10), ("no", .15), ("not_employed", .70))
# Barrier probabilities (q5) by employer support (q6).
BARRIERS = {"yes": {"cost": .20, "time": .55, "employer": .05, "travel": .25,
                    "relevance": .15, "access": .05},
            "partly": {"cost": .45, "time": .55, "employer": .30, "travel": .30,
                       "relevance": .15, "access": .06},
            "no": {"cost": .70, "time": .45, "employer": .65, "travel": .35,
                   "relevance": .20, "access": .08},
            "not_employed": {"cost": .75, "time": .20, "employer": .05, "travel": .40,
                             "relevance": .25, "access": .10}}
SUPPORT_MEAN = {"yes": 3.9, "partly": 3.0, "no": 1.7}
GOALS = (
    "Move into a {role} role within the next few years, ideally in a {lib} library.",
    "Stay in my current job but become the person colleagues ask about {topic}.",
    "Finish a certification in {topic} and lead a project with it.",
    "Take on more responsibility for {topic}; I need practical training to get there.",
    "Mentor newer colleagues and keep up with {topic} without travelling far.",
    "Retire well informed; short sessions on {topic} would suit me.",
)


def add_demo_responses(user_ids: list[int], seed: int) -> int:
    """Load and open the PD-needs survey and add anonymous responses from a share of
    `user_ids`. Commits twice (participations, then responses); returns the number of
    responses."""
    rng = np.random.default_rng([seed, 2026])
    now = now_utc().replace(microsecond=0)
    survey, _created = templates.load_template(TEMPLATE)
    if survey.is_draft:
        survey.closes_at = now + timedelta(days=OPEN_DAYS)
        survey.open(now - timedelta(days=OPEN_DAYS))
    db.session.flush()
    # Read before the commits below: no ORM refresh may run while a COPY is open.
    survey_id, opened = survey.id, survey.opened_at.date()
    if db.session.scalar(sa.select(sa.func.count()).select_from(SurveyParticipation)
                         .where(SurveyParticipation.survey_id == survey_id)):
        return 0
    ids = np.array(sorted(user_ids), dtype=np.int64)
    who = ids[rng.random(len(ids)) < SHARE_ANSWERING]
    seg = _segments(who)
    answers, n = _answers(rng, survey, seg)
    batches = _release_batches(rng, n, pool.batch_size())
    days = np.zeros(n, dtype=np.int64)
    numbers = np.zeros(n, dtype=np.int64)
    for b, members in enumerate(batches):
        days[members] = (b * OPEN_DAYS) // len(batches)
        numbers[members] = b + 1   # survey_responses.batch, as pool.release numbers them
    stored = _stored_segments(survey.breakdown_keys, seg, n, batches, privacy.min_n())

    bulkload.insert_rows(SurveyParticipation.__table__, ("survey_id", "user_id"),
                         ((survey_id, int(u)) for u in who))
    db.session.commit()

    # A separate transaction. Every response gets a random key and the rows are
    # written in key order: an order unrelated to the members' (and, for the
    # primary-key-ordered SQLite tables, the cheapest one to insert).
    raw = rng.bytes(16 * n)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    keys = [_key(uuid.UUID(bytes=raw[16 * i:16 * i + 16], version=4), sqlite)
            for i in range(n)]
    order = sorted(range(n), key=lambda i: str(keys[i]))
    bulkload.insert_rows(
        SurveyResponse.__table__,
        ("id", "survey_id", "submitted_on", "batch", *segments.KEYS),
        ((keys[i], survey_id, _day(opened + timedelta(days=int(days[i])), sqlite),
          int(numbers[i]), *(stored[k][i] for k in segments.KEYS)) for i in order))
    answers.sort(key=lambda row: (str(keys[row[0]]), row[1], row[2]))
    bulkload.insert_rows(
        SurveyAnswer.__table__, ("response_id", "question_id", "item", "num_value", "text_value"),
        ((keys[i], q, item, num, text) for i, q, item, num, text in answers))
    db.session.commit()
    return n


def _release_batches(rng: np.random.Generator, n: int, size: int) -> list[np.ndarray]:
    """Respondents in a random order, cut into release batches of `size` (the last
    short batch joins the one before)."""
    order = rng.permutation(n)
    count = max(1, n // size)
    return [order[b * size:(n if b == count - 1 else (b + 1) * size)] for b in range(count)]


def _stored_segments(keys, seg: dict[str, list], n: int, batches, k: int
                     ) -> dict[str, list]:
    """What the releases store: only the breakdown dimensions, recoded within each
    batch so that every stored combination is shared by k members of it
    (generalise.py)."""
    out = {key: [None] * n for key in segments.KEYS}
    for members in batches:
        recode = Recoder(keys, [{key: seg[key][i] for key in keys} for i in members], k)
        for i in members:
            for key, value in recode({key: seg[key][i] for key in keys}).items():
                out[key][i] = value
    return out


def _key(value: uuid.UUID, sqlite: bool):
    # SQLAlchemy's Uuid type stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return value.hex if sqlite else value


def _day(value, sqlite: bool):
    return value.isoformat() if sqlite else value


def _segments(who: np.ndarray) -> dict[str, list]:
    """The members' segment values, copied as a submission would copy them."""
    cols = [getattr(User, k) for k in segments.KEYS]
    values: dict[int, tuple] = {}
    for start in range(0, len(who), 20_000):
        chunk = [int(u) for u in who[start:start + 20_000]]
        for row in db.session.execute(sa.select(User.id, *cols).where(User.id.in_(chunk))):
            values[row[0]] = tuple(row[1:])
    return {k: [values[int(u)][j] for u in who] for j, k in enumerate(segments.KEYS)}


def _weights(base: dict[str, float], shifts: dict, seg: dict[str, list]) -> np.ndarray:
    """Per respondent and option, the appeal of each option (base times segment shifts)."""
    n, codes = len(seg["career_stage"]), list(base)
    w = np.tile(np.array([base[c] for c in codes]), (n, 1))
    for (dim, value), factors in shifts.items():
        rows = np.array([v == value for v in seg[dim]], dtype=bool)
        for c, f in factors.items():
            w[rows, codes.index(c)] *= f
    return w


def _ranked(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """Per row, the option indexes in the order of a weighted draw without replacement
    (Gumbel top-k): the first k columns are a weighted choice of k options."""
    gumbel = -np.log(-np.log(rng.random(weights.shape)))
    return np.argsort(-(np.log(weights) + gumbel), axis=1)


def _categorical(rng: np.random.Generator, mix, n: int) -> np.ndarray:
    probs = np.array([p for _, p in mix])
    return rng.choice(len(mix), size=n, p=probs / probs.sum())


def _answers(rng: np.random.Generator, survey: Survey, seg: dict[str, list]):
    """All answer rows (respondent index, question id, item, num_value, text_value)."""
    q = {x.code: x for x in survey.ordered_questions()}
    qid = {code: x.id for code, x in q.items()}
    opt = {code: {o.code: o.id for o in x.options} for code, x in q.items()}
    n = len(seg["career_stage"])
    stage = np.array([v or "" for v in seg["career_stage"]], dtype=object)
    rows: list[tuple] = []

    topics = list(TOPICS)
    order = _ranked(rng, _weights(TOPICS, TOPIC_SHIFTS, seg))
    how_many = rng.choice([1, 2, 3, 4, 5], size=n, p=[.12, .25, .30, .18, .15])
    for i in range(n):
        for j in order[i, :how_many[i]]:
            rows.append((i, qid["q1"], opt["q1"][topics[j]], None, None))
    other = (rng.random(n) < 0.02) & (how_many < 5)  # at most five choices in all
    for i in np.flatnonzero(other):
        rows.append((i, qid["q1"], opt["q1"]["other"], None, "Grant writing"))

    formats = list(FORMATS)
    order = _ranked(rng, _weights(FORMATS, FORMAT_SHIFTS, seg))
    for i in range(n):
        for rank, j in enumerate(order[i, :3], start=1):
            rows.append((i, qid["q2"], opt["q2"][formats[j]], float(rank), None))

    hours = _categorical(rng, HOURS, n)
    low = np.isin(stage, ["student", "retired"])
    pay = np.where(low, _categorical(rng, LOW_PAY, n), _categorical(rng, PAY, n))
    working = ~np.isin(stage, ["student", "retired"])
    employer = np.where(working, _categorical(rng, EMPLOYER, n),
                        _categorical(rng, NOT_WORKING, n))
    for i in range(n):
        rows.append((i, qid["q3"], opt["q3"][HOURS[hours[i]][0]], None, None))
        rows.append((i, qid["q4"], opt["q4"][PAY[pay[i]][0]], None, None))
        rows.append((i, qid["q6"], opt["q6"][EMPLOYER[employer[i]][0]], None, None))

    draws = rng.random((n, len(BARRIERS["yes"])))
    skip_q5 = rng.random(n) < 0.06
    for i in range(n):
        if skip_q5[i]:
            continue
        probs = BARRIERS[EMPLOYER[employer[i]][0]]
        chosen = [c for c, d in zip(probs, draws[i], strict=True) if d < probs[c]]
        for c in chosen or ["nothing"]:
            rows.append((i, qid["q5"], opt["q5"][c], None, None))

    # Section 3 is shown to members with an employer answer other than "not employed".
    emp_codes = np.array([code for code, _ in EMPLOYER], dtype=object)[employer]
    shown = emp_codes != "not_employed"
    level = np.array([SUPPORT_MEAN.get(c, 0.0) for c in emp_codes]) + rng.normal(0, 0.8, n)
    q7_values = np.clip(np.rint(level), 1, 5)
    statements = list(opt["q8"])
    matrix = np.clip(np.rint(level[:, None] + rng.normal(0, 0.9, (n, len(statements)))), 1, 5)
    matrix[rng.random(matrix.shape) < 0.05] = 0  # not applicable
    matrix_answered = shown & (rng.random(n) < 0.7)
    for i in np.flatnonzero(shown):
        rows.append((i, qid["q7"], 0, float(q7_values[i]), None))
    for i in np.flatnonzero(matrix_answered):
        for s, code in enumerate(statements):
            rows.append((i, qid["q8"], opt["q8"][code], float(matrix[i, s]), None))

    certs = np.clip(np.rint(3.0 + 0.6 * (stage == "early") + 0.5 * (stage == "student")
                            - 0.8 * (stage == "retired") + rng.normal(0, 1.0, n)), 1, 5)
    writes = rng.random(n) < 0.15
    goal = rng.integers(0, len(GOALS), n)
    topic_label = {o.code: o.label.lower() for o in q["q1"].options}
    first_topic = _ranked(rng, _weights(TOPICS, TOPIC_SHIFTS, seg))[:, 0]
    for i in range(n):
        rows.append((i, qid["q9"], 0, float(certs[i]), None))
        if writes[i]:
            text = GOALS[goal[i]].format(role=_label("work_role", seg, i, "manager"),
                                         lib=_label("library_type", seg, i, "public"),
                                         topic=topic_label[topics[first_topic[i]]])
            rows.append((i, qid["q10"], 0, None, text))
    return [(int(i), qid, item, num, text) for i, qid, item, num, text in rows], n


def _label(key: str, seg: dict[str, list], i: int, default: str) -> str:
    value = seg[key][i]
    if value in (None, "undisclosed", "other"):
        value = default
    return segments.BY_KEY[key].label_for(value).lower()
