"""Comment reads for leadership: summaries and the explorer. Never author names.

Only visible comments count. Texts, themes and sentiment shares are shown only
when the slice holds at least PRIVACY_MIN_COMMENTS comments
(`portal.privacy.min_comments`); below that a page shows "fewer than N".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import privacy, segments, sentiment
from portal.extensions import db
from portal.models import Comment, CommentStatus, Domain, FeedbackRound, Objective
from portal.reports.tables import csv_safe
from portal.reports.themes import MAX_DOCS, Theme, find_themes

SENTIMENTS = ("positive", "neutral", "negative")
PAGE_SIZE = 20


@dataclass
class CommentFilter:
    round_id: int | None = None
    domain_id: int | None = None
    objective_id: int | None = None
    dimension: str | None = None
    value: str | None = None        # "" = not answered
    keyword: str = ""
    sentiment: str | None = None

    def conditions(self) -> list[sa.ColumnElement]:
        c = Comment
        cond: list[sa.ColumnElement] = [c.status == CommentStatus.VISIBLE.value]
        if self.round_id is not None:
            cond.append(c.round_id == self.round_id)
        if self.objective_id is not None:
            cond.append(c.objective_id == self.objective_id)
        if self.domain_id is not None:
            cond.append(c.objective_id.in_(
                sa.select(Objective.id).where(Objective.domain_id == self.domain_id)))
        if self.dimension in segments.KEYS and self.value is not None:
            col = getattr(c, self.dimension)
            cond.append(col.is_(None) if self.value == "" else col == self.value)
        if self.keyword:
            escaped = (self.keyword.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_"))
            cond.append(c.body.ilike(f"%{escaped}%", escape="\\"))
        if self.sentiment == "positive":
            cond.append(c.sentiment >= sentiment.POSITIVE)
        elif self.sentiment == "negative":
            cond.append(c.sentiment <= sentiment.NEGATIVE)
        elif self.sentiment == "neutral":
            cond.append(sa.and_(c.sentiment > sentiment.NEGATIVE,
                                c.sentiment < sentiment.POSITIVE))
        return cond


def _sentiment_case() -> sa.ColumnElement:
    return sa.case((Comment.sentiment >= sentiment.POSITIVE, "positive"),
                   (Comment.sentiment <= sentiment.NEGATIVE, "negative"),
                   (Comment.sentiment.is_(None), "unknown"), else_="neutral")


@dataclass
class CommentSummary:
    total: int                    # real count (not for display unless shown)
    shown: bool                   # enough comments to describe the slice
    replies: int = 0
    sentiment: dict[str, int] = field(default_factory=dict)
    themes: list[Theme] = field(default_factory=list)
    top: list[Comment] = field(default_factory=list)

    @property
    def total_display(self) -> str:
        if self.shown:
            return f"{self.total:,}"
        return "none" if self.total == 0 else f"fewer than {privacy.min_comments()}"

    def sentiment_share(self, label: str) -> float | None:
        known = sum(v for k, v in self.sentiment.items() if k in SENTIMENTS)
        return self.sentiment.get(label, 0) / known if known else None


def summarise(flt: CommentFilter, with_themes: bool = True, top_n: int = 5) -> CommentSummary:
    """Counts by kind and sentiment in one GROUP BY; texts only above the threshold."""
    label = _sentiment_case()
    is_reply = sa.case((Comment.parent_id.is_(None), 0), else_=1)
    rows = db.session.execute(
        sa.select(is_reply, label, sa.func.count()).where(*flt.conditions())
        .group_by(is_reply, label)).all()
    total = sum(n for _, _, n in rows)
    summary = CommentSummary(total, total >= privacy.min_comments())
    if not summary.shown:
        return summary
    summary.replies = sum(n for r, _, n in rows if r)
    for _, lab, n in rows:
        summary.sentiment[lab] = summary.sentiment.get(lab, 0) + n
    summary.top = list(db.session.scalars(
        sa.select(Comment).where(*flt.conditions(), Comment.endorsement_count > 0)
        .order_by(Comment.endorsement_count.desc(), Comment.created_at.desc())
        .limit(top_n).options(selectinload(Comment.objective))))
    if with_themes:
        texts = list(db.session.scalars(
            sa.select(Comment.body).where(*flt.conditions())
            .order_by(Comment.created_at.desc()).limit(MAX_DOCS)))
        summary.themes = find_themes(texts)
    return summary


@dataclass
class CommentPage:
    total: int
    shown: bool
    page: int
    pages: int
    items: list[Comment]


def search(flt: CommentFilter, page: int = 1) -> CommentPage:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Comment)
                              .where(*flt.conditions())) or 0
    shown = total >= privacy.min_comments()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    items: list[Comment] = []
    if shown:
        items = list(db.session.scalars(
            sa.select(Comment).where(*flt.conditions())
            .options(selectinload(Comment.objective), selectinload(Comment.round))
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return CommentPage(total, shown, page, pages, items)


EXPORT_HEADER = ["Round", "Objective", "Date", "Kind", "Sentiment (rough)", "Endorsements",
                 "Comment"]


def export_csv(flt: CommentFilter) -> str | None:
    """CSV of every matching comment without names; None when the slice is too small."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Comment)
                              .where(*flt.conditions())) or 0
    if total < privacy.min_comments():
        return None
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADER)
    stmt = (sa.select(FeedbackRound.name, Objective.code, Comment.created_at,
                      Comment.parent_id, Comment.sentiment, Comment.endorsement_count,
                      Comment.body)
            .join(Objective, Objective.id == Comment.objective_id)
            .outerjoin(FeedbackRound, FeedbackRound.id == Comment.round_id)
            .where(*flt.conditions()).order_by(Comment.created_at.desc(), Comment.id.desc()))
    for rnd, code, created, parent, score, endorsements, body in db.session.execute(stmt):
        writer.writerow([rnd or "", code, created.date().isoformat(),
                         "reply" if parent else "comment", sentiment.label(score),
                         endorsements, csv_safe(body)])
    return buf.getvalue()


def domains() -> list[Domain]:
    return list(db.session.scalars(sa.select(Domain).order_by(Domain.position)))
