"""SQL aggregates over survey responses. Every read is a GROUP BY; nothing loops over rows.

A `Slice` narrows the responses by one segment value and/or the answer to one
choice question; every function takes one. While an anonymous survey is open, every
query reads only the responses of the slice's snapshot (`snapshots.py`), through
`_in_snapshot`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from portal import privacy, segments
from portal.admin.roster import roster_size
from portal.extensions import db
from portal.models import (
    RosterEntry,
    Survey,
    SurveyAnswer,
    SurveyAnswerCount,
    SurveyParticipation,
    SurveyQuestion,
    SurveyQuestionCount,
    SurveyResponse,
    User,
)
from portal.models.survey_counts import value_of
from portal.survey_results import snapshots
from portal.surveys.services import audience_clause


@dataclass(frozen=True)
class Slice:
    segment: str | None = None          # dimension key
    segment_value: str | None = None    # code; "none" = not answered
    question_id: int | None = None      # a choice question ...
    option_id: int | None = None        # ... answered with this option

    @property
    def is_filtered(self) -> bool:
        return bool(self.segment or self.question_id)

    def query_args(self) -> dict[str, str]:
        args = {}
        if self.segment:
            args["segment"] = f"{self.segment}:{self.segment_value}"
        if self.question_id:
            args["answer"] = f"{self.question_id}:{self.option_id}"
        return args


ALL = Slice()


def _in_snapshot(survey: Survey, where: Slice, by: str | None = None):
    """The snapshot rule, the one place it enters a query: a condition on
    survey_responses keeping `batch <= cutoff` of the slice, or None when no
    restriction applies (closed or attributed survey; all respondents, whose every
    batch is PRIVACY_MIN_N or more, when its snapshot holds the newest batch).

    With `by` (a segment dimension), the figures are per value of `by` inside the
    slice, and each value keeps the cutoff of its own (crossed) slice."""
    if not snapshots.governed(survey):
        return None
    parts = snapshots.segment_parts(where.segment, where.segment_value)
    answer = (where.question_id, where.option_id) if where.question_id else None
    dims = (*survey.breakdown_keys, *parts, *([by] if by else []))
    st = snapshots.state(survey, dims, answer)
    if by is None:
        cutoff = st.cutoff(parts)
        if not where.is_filtered and cutoff >= st.latest:
            return None
        return SurveyResponse.batch <= cutoff
    col = getattr(SurveyResponse, by)
    outer = st.cutoff(parts)
    clauses = []
    for value in sorted(st.values.get(by, ())):
        if parts.get(by, value) != value:
            continue
        inner = {**parts, by: value}
        cutoff = st.cutoff(inner)
        # A value still below the threshold at the slice's own snapshot is counted
        # there, so that it is hidden as a small group (with its complement) rather
        # than missing: the slice's figures minus the other values must not give it.
        if cutoff < outer and st.count(inner, outer) < privacy.min_n():
            cutoff = outer
        clauses.append(sa.and_(col.is_(None) if value == snapshots.NONE else col == value,
                               SurveyResponse.batch <= cutoff))
    return sa.or_(*clauses) if clauses else sa.false()


def snapshot_of(survey: Survey, where: Slice = ALL) -> snapshots.Shown | None:
    """What the page says about the slice's snapshot (None: final or live figures)."""
    if not snapshots.governed(survey):
        return None
    parts = snapshots.segment_parts(where.segment, where.segment_value)
    answer = (where.question_id, where.option_id) if where.question_id else None
    st = snapshots.state(survey, (*survey.breakdown_keys, *parts), answer)
    return snapshots.Shown(taken_at=st.taken_at(parts))


def response_ids(survey: Survey, where: Slice):
    """SELECT of the ids of the responses in the slice (in its snapshot)."""
    q = sa.select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id)
    snapshot = _in_snapshot(survey, where)
    if snapshot is not None:
        q = q.where(snapshot)
    if where.segment and segments.get(where.segment):
        col = getattr(SurveyResponse, where.segment)
        q = q.where(col.is_(None) if where.segment_value == "none" else
                    col == where.segment_value)
    if where.question_id:
        q = q.where(sa.exists().where(SurveyAnswer.response_id == SurveyResponse.id,
                                      SurveyAnswer.question_id == where.question_id,
                                      SurveyAnswer.item == where.option_id))
    return q


def _answers_in(survey: Survey, where: Slice):
    """The answers of the responses in the slice, as WHERE conditions.

    By question (every question belongs to one survey), so that an unfiltered page
    reads the covering index on survey_answers alone; a filtered slice adds the
    responses it keeps."""
    conditions = [SurveyAnswer.question_id.in_(
        sa.select(SurveyQuestion.id).where(SurveyQuestion.survey_id == survey.id))]
    if not _live_counts(survey, where):
        conditions.append(SurveyAnswer.response_id.in_(response_ids(survey, where)))
    return conditions


def _live_counts(survey: Survey, where: Slice) -> bool:
    """Whether the counts the database keeps answer for the slice (all responses)."""
    return not where.is_filtered and _in_snapshot(survey, where) is None


# Question types stored as several answer rows per respondent (one per option chosen,
# statement rated or rank given); every other type has one row per respondent.
MULTI_ROW_TYPES = ("multiple_choice", "likert_matrix", "ranking")


def count_responses(survey: Survey, where: Slice = ALL) -> int:
    sub = response_ids(survey, where).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(sub)) or 0


def participation_count(survey: Survey) -> int:
    """Members recorded as having answered: released responses and those still waiting
    in the mixing pool (response rates use this, so they are exact at every moment)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyParticipation)
                             .where(SurveyParticipation.survey_id == survey.id)) or 0


def generalised_count(survey: Survey) -> int:
    """Responses with at least one segment stored as "Other or not shown"."""
    cols = [getattr(SurveyResponse, key) for key in survey.breakdown_keys]
    if not cols:
        return 0
    return db.session.scalar(sa.select(sa.func.count()).where(
        SurveyResponse.id.in_(response_ids(survey, ALL)),
        sa.or_(*[c == segments.GENERALISED for c in cols]))) or 0


def respondents_per_question(survey: Survey, where: Slice,
                             hists: dict[int, dict[tuple[int, float | None], int]]
                             ) -> dict[int, int]:
    """{question id: number of responses that answered it}.

    For all responses, the counts the database keeps (portal/models/survey_counts.py).
    For a slice: for a question with one answer row per respondent, the sum of its
    histogram (`hists`, from `histograms`); only the question types with several rows
    per respondent need a count of distinct responses."""
    if _live_counts(survey, where):
        return {qid: n for qid, n, _ in _question_counts(survey) if n}
    out = {qid: sum(h.values()) for qid, h in hists.items()}
    multi = sa.select(SurveyQuestion.id).where(SurveyQuestion.survey_id == survey.id,
                                               SurveyQuestion.type.in_(MULTI_ROW_TYPES))
    # DISTINCT pairs first: on SQLite cheaper than COUNT(DISTINCT ...) per group.
    pairs = (sa.select(SurveyAnswer.question_id, SurveyAnswer.response_id).distinct()
             .where(*_answers_in(survey, where), SurveyAnswer.question_id.in_(multi))
             .subquery())
    rows = db.session.execute(sa.select(pairs.c.question_id, sa.func.count())
                              .group_by(pairs.c.question_id))
    out.update(dict(rows.all()))
    return out


def _question_counts(survey: Survey):
    return db.session.execute(
        sa.select(SurveyQuestionCount.question_id, SurveyQuestionCount.respondents,
                  SurveyQuestionCount.texts)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyQuestionCount.question_id)
        .where(SurveyQuestion.survey_id == survey.id)).all()


def histograms(survey: Survey, where: Slice) -> dict[int, dict[tuple[int, float | None], int]]:
    """{question id: {(item, num_value): count}} for every question, in one query
    (for all responses, from the counts the database keeps)."""
    if _live_counts(survey, where):
        counted: dict[int, dict[tuple[int, float | None], int]] = defaultdict(dict)
        for qid, item, key, n in db.session.execute(
                sa.select(SurveyAnswerCount.question_id, SurveyAnswerCount.item,
                          SurveyAnswerCount.value_key, SurveyAnswerCount.n)
                .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswerCount.question_id)
                .where(SurveyQuestion.survey_id == survey.id, SurveyAnswerCount.n > 0)):
            counted[qid][(item, value_of(key))] = n
        return counted
    rows = db.session.execute(
        sa.select(SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value,
                  sa.func.count())
        .where(*_answers_in(survey, where))
        .group_by(SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value))
    out: dict[int, dict[tuple[int, float | None], int]] = defaultdict(dict)
    for qid, item, value, n in rows:
        out[qid][(item, value)] = n
    return out


def text_counts(survey: Survey, where: Slice) -> dict[int, int]:
    """{question id: number of non-empty texts} (text answers and "other" texts)."""
    if _live_counts(survey, where):
        return {qid: texts for qid, _, texts in _question_counts(survey) if texts}
    rows = db.session.execute(
        sa.select(SurveyAnswer.question_id, sa.func.count())
        # Texts are not in the covering index: read the answer rows response by response.
        .where(SurveyAnswer.response_id.in_(response_ids(survey, where)),
               SurveyAnswer.text_value.is_not(None), SurveyAnswer.text_value != "")
        .group_by(SurveyAnswer.question_id))
    return dict(rows.all())


def date_months(survey: Survey, where: Slice, question_ids: list[int]
                ) -> dict[int, dict[str, int]]:
    """{question id: {"YYYY-MM": count}} for date questions."""
    if not question_ids:
        return {}
    month = sa.func.substr(SurveyAnswer.text_value, 1, 7)
    rows = db.session.execute(
        sa.select(SurveyAnswer.question_id, month, sa.func.count())
        .where(*_answers_in(survey, where), SurveyAnswer.question_id.in_(question_ids))
        .group_by(SurveyAnswer.question_id, month))
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for qid, m, n in rows:
        out[qid][m] = n
    return out


def texts(survey: Survey, question: SurveyQuestion, where: Slice, search: str = "",
          page: int = 1, per_page: int = 20) -> tuple[list[str], int]:
    """One page of the texts written for `question` (in random key order, never in
    submission order), and how many match `search`."""
    q = (sa.select(SurveyAnswer.text_value)
         .where(SurveyAnswer.question_id == question.id,
                SurveyAnswer.response_id.in_(response_ids(survey, where)),
                SurveyAnswer.text_value.is_not(None), SurveyAnswer.text_value != ""))
    if search:
        pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        q = q.where(sa.func.lower(SurveyAnswer.text_value).like(pattern, escape="\\"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery())) or 0
    rows = db.session.scalars(q.order_by(SurveyAnswer.response_id, SurveyAnswer.item)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def crosstab(survey: Survey, question: SurveyQuestion, dimension: str, where: Slice
             ) -> tuple[dict[tuple[str | None, int], int], dict[str | None, int]]:
    """({(segment value, option id): count}, {segment value: respondents})."""
    col = getattr(SurveyResponse, dimension)
    columns = _by(survey, where, dimension)
    base = (sa.select(col, SurveyAnswer.item, sa.func.count())
            .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
            .where(SurveyAnswer.question_id == question.id,
                   SurveyResponse.id.in_(response_ids(survey, where)), *columns)
            .group_by(col, SurveyAnswer.item))
    cells = {(seg, item): n for seg, item, n in db.session.execute(base)}
    totals_q = (sa.select(col, sa.func.count(sa.distinct(SurveyResponse.id)))
                .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
                .where(SurveyAnswer.question_id == question.id,
                       SurveyResponse.id.in_(response_ids(survey, where)), *columns)
                .group_by(col))
    return cells, dict(db.session.execute(totals_q).all())


def _by(survey: Survey, where: Slice, dimension: str) -> list:
    """Figures per value of `dimension`: each value within its own crossed snapshot."""
    snapshot = _in_snapshot(survey, where, by=dimension)
    return [] if snapshot is None else [snapshot]


def segment_counts(survey: Survey, dimension: str, where: Slice) -> dict[str | None, int]:
    col = getattr(SurveyResponse, dimension)
    rows = db.session.execute(
        sa.select(col, sa.func.count()).where(SurveyResponse.id.in_(
            response_ids(survey, where)), *_by(survey, where, dimension)).group_by(col))
    return dict(rows.all())


@dataclass(frozen=True)
class Eligible:
    """The denominator of a survey's response rate, and where it comes from."""

    count: int
    source: str                          # "roster" or "accounts"
    unrestricted: tuple[str, ...] = ()   # audience dimensions the roster does not record

    @property
    def explanation(self) -> str:
        if self.source == "accounts":
            return ("Eligible members: active member accounts with a verified e-mail address "
                    "in the survey's audience, leaders' and admins' accounts left out (no "
                    "membership roster has been imported).")
        text = ("Eligible members: everyone on the imported membership roster in the "
                "survey's audience.")
        if self.unrestricted:
            labels = ", ".join(segments.get(k).label.lower() for k in self.unrestricted)
            text += (f" The roster does not record {labels}, so the audience could not be "
                     "applied to it there and the rate is a lower bound.")
        return text


def eligible_members(survey: Survey) -> Eligible:
    """Who the survey's response rate counts against.

    With an imported roster: the roster's members, restricted to the survey's
    audience on every dimension the roster records (a dimension with no value on
    the whole roster cannot be applied). Without one: active, verified member accounts
    (not staff) in the audience: the same base as feedback participation.
    """
    return eligible_counts([survey])[survey.id]


def eligible_counts(surveys: list[Survey]) -> dict[int, Eligible]:
    """`eligible_members` of several surveys, by survey id, in one counting query
    (one column per survey) after the roster checks."""
    if not surveys:
        return {}
    if roster_size():
        keys = sorted({k for s in surveys for k in (s.audience or {}) if hasattr(RosterEntry, k)})
        recorded = _roster_recorded(keys)
        clauses = [sa.and_(sa.true(), *[getattr(RosterEntry, k).in_(codes)
                                        for k, codes in (s.audience or {}).items()
                                        if k in recorded]) for s in surveys]
        row = db.session.execute(sa.select(*_counts(clauses)).select_from(RosterEntry)).one()
        return {s.id: Eligible(row[i] or 0, "roster",
                               tuple(k for k in (s.audience or {}) if k not in recorded))
                for i, s in enumerate(surveys)}
    row = db.session.execute(
        sa.select(*_counts([audience_clause(s) for s in surveys])).select_from(User).where(
            User.active.is_(True), User.email_verified_at.is_not(None),
            sa.func.coalesce(User.role, "member") == "member")).one()
    return {s.id: Eligible(row[i] or 0, "accounts") for i, s in enumerate(surveys)}


def _counts(clauses: list) -> list:
    return [sa.func.count(sa.case((clause, 1))).label(f"n{i}") for i, clause in enumerate(clauses)]


def _roster_recorded(keys: list[str]) -> set[str]:
    """The dimensions among `keys` that hold a value for at least one roster member."""
    if not keys:
        return set()
    row = db.session.execute(sa.select(*[
        sa.func.count(getattr(RosterEntry, k)).label(k) for k in keys])).one()
    return {k for k in keys if getattr(row, k)}


def response_counts(survey_ids: list[int]) -> dict[int, int]:
    """All responses per survey. Not snapshotted: all respondents move only by whole
    batches (each PRIVACY_MIN_N or more), so their snapshot is always the newest batch
    (`_in_snapshot` applies no cutoff to them either)."""
    if not survey_ids:
        return {}
    rows = db.session.execute(
        sa.select(SurveyResponse.survey_id, sa.func.count())
        .where(SurveyResponse.survey_id.in_(survey_ids)).group_by(SurveyResponse.survey_id))
    return dict(rows.all())


def histograms_by_segment(survey: Survey, dimension: str
                          ) -> dict[str | None, dict[int, dict[tuple[int, float | None], int]]]:
    """{segment value: histograms()} for all responses, in one grouped query: the
    children of the unfiltered tables along one dimension (portal/disclosure)."""
    col = getattr(SurveyResponse, dimension)
    rows = db.session.execute(
        sa.select(col, SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value,
                  sa.func.count())
        .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
        .where(SurveyResponse.survey_id == survey.id)
        .group_by(col, SurveyAnswer.question_id, SurveyAnswer.item, SurveyAnswer.num_value))
    out: dict = defaultdict(lambda: defaultdict(dict))
    for seg, qid, item, value, n in rows:
        out[seg][qid][(item, value)] = n
    return out


def multi_respondents_by_segment(survey: Survey, dimension: str
                                 ) -> dict[tuple[str | None, int], int]:
    """{(segment value, question id): respondents} for the question types with several
    answer rows per respondent."""
    col = getattr(SurveyResponse, dimension)
    pairs = (sa.select(col.label("seg"), SurveyAnswer.question_id, SurveyAnswer.response_id)
             .distinct()
             .join(SurveyAnswer, SurveyAnswer.response_id == SurveyResponse.id)
             .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
             .where(SurveyResponse.survey_id == survey.id,
                    SurveyQuestion.type.in_(MULTI_ROW_TYPES)).subquery())
    rows = db.session.execute(sa.select(pairs.c.seg, pairs.c.question_id, sa.func.count())
                              .group_by(pairs.c.seg, pairs.c.question_id))
    return {(seg, qid): n for seg, qid, n in rows}
