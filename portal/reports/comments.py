"""Comment reads for leadership: summaries and the explorer.

Comments are public: every member reads them, with the author's name unless the
author chose to show "A member". So a selection made only of public properties
(round, domain, objective, phrase) is shown whatever its size;
only visible comments count, never removed, hidden or pending ones.

A segment filter is different: it tells which members wrote what. A segment-filtered
selection is published (count, texts, themes) only when `decide()` allows
it, and every refusal looks the same, whether nothing or a few comments match, so the
answer is no oracle and two allowed answers cannot be subtracted to reveal a refused
one. See `decide` for the rule.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import privacy, segments
from portal.extensions import db
from portal.models import Comment, CommentStatus, Domain, FeedbackRound, Objective
from portal.reports.tables import csv_safe
from portal.reports.themes import MAX_DOCS, Theme, find_themes

PAGE_SIZE = 20


@dataclass
class CommentFilter:
    round_id: int | None = None
    domain_id: int | None = None
    objective_id: int | None = None
    dimension: str | None = None
    value: str | None = None        # "" = not answered
    keyword: str = ""

    @property
    def segmented(self) -> bool:
        """True when the selection is narrowed by a member segment."""
        return self.dimension in segments.KEYS and self.value is not None

    def parent(self) -> CommentFilter:
        """The same selection without its segment filter (public by itself)."""
        return replace(self, dimension=None, value=None)

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
        if self.segmented:
            col = getattr(c, self.dimension)
            cond.append(col.is_(None) if self.value == "" else col == self.value)
        if self.keyword:
            escaped = (self.keyword.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_"))
            cond.append(c.body.ilike(f"%{escaped}%", escape="\\"))
        return cond


# ---------------------------------------------------------------------------
# The one decision: may this selection be published?


def withheld_reason() -> str:
    """The words of every refusal: the same whether none, a few or many comments match."""
    t, n = privacy.min_comments(), privacy.min_n()
    return (f"With a segment filter, comments are shown only when the selection holds at "
            f"least {t} comments from at least {n} members, and every other group of that "
            f"segment among the comments matching the other filters holds none or at least "
            f"as many. This selection does not meet that rule (which also covers a selection "
            f"that nothing matches), so nothing about it is shown, not even a count: the "
            f"answer would tell who wrote what. Remove the segment filter or widen the "
            f"other filters.")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    total: int          # the published count; 0 when refused (never the real one)

    @property
    def reason(self) -> str | None:
        return None if self.allowed else withheld_reason()


def _small(comments: int, authors: int) -> bool:
    return comments > 0 and (comments < privacy.min_comments() or authors < privacy.min_n())


def decide(flt: CommentFilter) -> Decision:
    """Whether `flt` may be published, in one GROUP BY.

    Without a segment filter the comments are public: always allowed. With one, the
    parent selection (the same filters without the segment) is split by every value
    of the dimension, "not answered" and values unknown to the portal included. A
    cell is small when it holds 1 to PRIVACY_MIN_COMMENTS - 1 comments or fewer than
    PRIVACY_MIN_N authors. Small cells are withheld, and so are the next smallest
    cells until the withheld ones hold at least that many together, so that listing
    every allowed value cannot single out a withheld one by elimination. The
    selection is allowed only when its own cell is non-empty and not withheld; an
    empty cell is refused like a small one, so "none" and "a few" read alike. This
    implies that the selection and its complement in the parent are each 0 or at
    least the threshold.
    """
    parent = flt.parent()
    if not flt.segmented:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Comment)
                                  .where(*parent.conditions())) or 0
        return Decision(True, total)
    col = getattr(Comment, flt.dimension)
    cells = {value: (n, authors) for value, n, authors in db.session.execute(
        sa.select(col, sa.func.count(), sa.func.count(sa.distinct(Comment.user_id)))
        .where(*parent.conditions()).group_by(col))}
    hidden = {v for v, (n, a) in cells.items() if _small(n, a)}
    if hidden:
        rest = sorted((n, a, str(v)) for v, (n, a) in cells.items() if v not in hidden and n)
        by_name = {str(v): v for v in cells}
        while rest and _small(sum(cells[v][0] for v in hidden),
                              sum(cells[v][1] for v in hidden)):
            hidden.add(by_name[rest.pop(0)[2]])
    mine = None if flt.value == "" else flt.value
    n, _authors = cells.get(mine, (0, 0))
    if n == 0 or mine in hidden:
        return Decision(False, 0)
    return Decision(True, n)


def author_name(c: Comment) -> str:
    """The name members see on the comment: "A member" when the author hid it or left."""
    return c.author.display_name if c.show_name and c.author else "A member"


@dataclass
class CommentSummary:
    total: int                    # published count (0 when withheld)
    shown: bool                   # texts and themes may be shown
    replies: int = 0
    themes: list[Theme] = field(default_factory=list)
    top: list[Comment] = field(default_factory=list)
    withheld: bool = False        # a segment-filtered selection that may not be shown

    @property
    def reason(self) -> str | None:
        return withheld_reason() if self.withheld else None

    @property
    def total_display(self) -> str:
        if self.withheld:
            return (f"withheld for this segment (it, or another group of comments beside "
                    f"it, holds fewer than {privacy.min_comments()})")
        return f"{self.total:,}" if self.total else "none"


def summarise(flt: CommentFilter, with_themes: bool = True, top_n: int = 5) -> CommentSummary:
    """Counts by kind in one GROUP BY, themes and the most endorsed comments; all of
    it public without a segment filter, and with one only when `decide` allows the
    selection."""
    decision = decide(flt)
    if not decision.allowed:
        return CommentSummary(0, False, withheld=True)
    is_reply = sa.case((Comment.parent_id.is_(None), 0), else_=1)
    rows = db.session.execute(
        sa.select(is_reply, sa.func.count()).where(*flt.conditions())
        .group_by(is_reply)).all()
    total = sum(n for _, n in rows)
    summary = CommentSummary(total, total > 0)
    if not summary.shown:
        return summary
    summary.replies = sum(n for r, n in rows if r)
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
    total: int                    # published count (0 when withheld)
    shown: bool                   # the page lists the matching comments
    page: int
    pages: int
    items: list[Comment]
    segmented: bool = False       # listed under a segment filter: no names
    withheld: bool = False

    @property
    def reason(self) -> str | None:
        return withheld_reason() if self.withheld else None


def search(flt: CommentFilter, page: int = 1) -> CommentPage:
    """One page of the matching comments, newest first, or the withheld page."""
    decision = decide(flt)
    if not decision.allowed:
        return CommentPage(0, False, 1, 1, [], segmented=True, withheld=True)
    total = decision.total
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    items = list(db.session.scalars(
        sa.select(Comment).where(*flt.conditions())
        .options(selectinload(Comment.objective), selectinload(Comment.round),
                 selectinload(Comment.author))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return CommentPage(total, True, page, pages, items, segmented=flt.segmented)


EXPORT_HEADER = ["Round", "Objective", "Date", "Kind", "Endorsements", "Comment"]


def export_csv(flt: CommentFilter) -> str | None:
    """CSV of every matching comment without names; None when `decide` withholds it."""
    if not decide(flt).allowed:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADER)
    stmt = (sa.select(FeedbackRound.name, Objective.code, Comment.created_at,
                      Comment.parent_id, Comment.endorsement_count, Comment.body)
            .join(Objective, Objective.id == Comment.objective_id)
            .outerjoin(FeedbackRound, FeedbackRound.id == Comment.round_id)
            .where(*flt.conditions()).order_by(Comment.created_at.desc(), Comment.id.desc()))
    for rnd, code, created, parent, endorsements, body in db.session.execute(stmt):
        writer.writerow([rnd or "", code, created.date().isoformat(),
                         "reply" if parent else "comment", endorsements, csv_safe(body)])
    return buf.getvalue()


def domains() -> list[Domain]:
    return list(db.session.scalars(sa.select(Domain).order_by(Domain.position)))
