"""Read models for the objective and domain pages: a fixed number of queries each."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.feedback import visits
from portal.models import (
    Comment,
    CommentFlag,
    CommentStatus,
    Endorsement,
    FeedbackRound,
    Objective,
    ObjectiveUpdate,
    Rating,
    User,
)
from portal.rounds.services import current_round, next_round

COMMENTS_PER_PAGE = 20
SORTS = {"endorsed": "Most endorsed", "newest": "Newest"}
_MODERATED = (CommentStatus.HIDDEN.value, CommentStatus.PENDING_REVIEW.value)


@dataclass
class RatingStatus:
    """Where the member stands in the current round."""

    round: FeedbackRound | None
    next_round: FeedbackRound | None
    rated_ids: set[int]
    total: int
    next_unrated: Objective | None
    # The member's ratings in the open round by objective id (answered or not).
    ratings: dict[int, Rating] = field(default_factory=dict)

    @property
    def rated(self) -> int:
        return len(self.rated_ids)


@dataclass
class CommentPage:
    comments: list[Comment]
    replies: dict[int, list[Comment]]
    total: int
    page: int
    pages: int
    sort: str
    endorsed_ids: set[int] = field(default_factory=set)
    flagged_ids: set[int] = field(default_factory=set)


def rating_status(user: User | None, ordered: list[Objective],
                  current: Objective | None = None) -> RatingStatus:
    """The open round, the member's ratings and progress in it and the next objective
    to rate (the ratings come in the same query: at most 22 rows per member)."""
    rnd = current_round()
    upcoming = next_round() if rnd is None else None
    ratings: dict[int, Rating] = {}
    if rnd is not None and user is not None:
        ratings = {r.objective_id: r for r in db.session.scalars(sa.select(Rating).where(
            Rating.user_id == user.id, Rating.round_id == rnd.id))}
    rated = {oid for oid, r in ratings.items()
             if r.importance is not None or r.performance is not None}
    active_ids = {o.id for o in ordered}
    start = 0
    if current is not None and current in ordered:
        start = ordered.index(current) + 1
    rotation = ordered[start:] + ordered[:start]
    next_unrated = next((o for o in rotation if o.id not in rated and o is not current), None)
    return RatingStatus(rnd, upcoming, rated & active_ids, len(ordered),
                        next_unrated if rnd is not None else None, ratings)


@dataclass(frozen=True)
class DomainRating:
    """How many of one domain's active objectives the member rated in the open round."""

    code: str
    title: str
    rated: int
    total: int

    @property
    def complete(self) -> bool:
        return self.rated >= self.total


def domain_ratings(ordered: list[Objective], rated_ids: set[int]) -> list[DomainRating]:
    """The member's progress per domain, in plan order, from the objectives in plan order
    (with their domains loaded) and the ids they rated: no query of its own."""
    counts: dict[str, list] = {}
    for o in ordered:
        entry = counts.setdefault(o.domain.code, [o.domain.title, 0, 0])
        entry[1] += o.id in rated_ids
        entry[2] += 1
    return [DomainRating(code, title, rated, total)
            for code, (title, rated, total) in counts.items()]


def next_unrated_domain(domains: list[DomainRating], current_code: str | None = None
                        ) -> DomainRating | None:
    """The first domain after the current one (going round) with an objective the member
    has not rated; never the current domain itself."""
    codes = [d.code for d in domains]
    start = codes.index(current_code) + 1 if current_code in codes else 0
    rotation = domains[start:] + domains[:start]
    return next((d for d in rotation if not d.complete and d.code != current_code), None)


@dataclass
class RatingOverview:
    """The home page's view of a member's ratings: the round, each domain, what is next."""

    status: RatingStatus
    domains: dict[str, DomainRating]
    next_domain: DomainRating | None


def rating_overview(user: User | None, ordered: list[Objective]) -> RatingOverview | None:
    """Progress per domain for a verified member while a round is open, else None."""
    if user is None or not user.is_verified:
        return None
    status = rating_status(user, ordered)
    if status.round is None:
        return None
    domains = domain_ratings(ordered, status.rated_ids)
    return RatingOverview(status, {d.code: d for d in domains}, next_unrated_domain(domains))


def last_rating(user: User, objective: Objective) -> Rating | None:
    """The member's rating of the objective in the most recent round they rated it."""
    return db.session.scalar(
        sa.select(Rating).join(Rating.round).options(joinedload(Rating.round))
        .where(Rating.user_id == user.id, Rating.objective_id == objective.id)
        .order_by(FeedbackRound.opens_at.desc()).limit(1))


# A comment shows its author's name only: loading whole user rows (password hash, login
# times ...) for every comment and reply would be most of the page's database work.
_AUTHOR_NAME = joinedload(Comment.author).load_only(User.id, User.display_name)

# Built once: a comment shown because a visible reply keeps its thread readable.
_reply = aliased(Comment)
_HAS_VISIBLE_REPLY = sa.exists().where(_reply.parent_id == Comment.id,
                                       _reply.status == CommentStatus.VISIBLE.value)


def _top_level_filter(objective: Objective, user: User | None):
    shown = [Comment.status == CommentStatus.VISIBLE.value, _HAS_VISIBLE_REPLY]
    if user is not None:
        # Authors see their own moderated comments, with the moderator's reason.
        shown.append(sa.and_(Comment.user_id == user.id, Comment.status.in_(_MODERATED)))
    return sa.and_(Comment.objective_id == objective.id, Comment.parent_id.is_(None),
                   sa.or_(*shown))


def comment_page(objective: Objective, user: User | None, page: int = 1,
                 sort: str = "endorsed") -> CommentPage:
    """One page of top-level comments with their replies: five queries at any size."""
    sort = sort if sort in SORTS else "endorsed"
    where = _top_level_filter(objective, user)
    total = db.session.scalar(sa.select(sa.func.count(Comment.id)).where(where)) or 0
    pages = max(1, math.ceil(total / COMMENTS_PER_PAGE))
    page = min(max(1, page), pages)
    order = ([Comment.endorsement_count.desc(), Comment.created_at.desc(), Comment.id.desc()]
             if sort == "endorsed" else [Comment.created_at.desc(), Comment.id.desc()])
    comments = list(db.session.scalars(
        sa.select(Comment).options(_AUTHOR_NAME).where(where).order_by(*order)
        .limit(COMMENTS_PER_PAGE).offset((page - 1) * COMMENTS_PER_PAGE)))
    return _with_replies(CommentPage(comments, {}, total, page, pages, sort), user)


def _with_replies(result: CommentPage, user: User | None) -> CommentPage:
    """Load the replies and the member's endorsements and flags: three queries."""
    comments = result.comments
    replies: dict[int, list[Comment]] = {c.id: [] for c in comments}
    result.replies = replies
    if comments:
        shown = [Comment.status == CommentStatus.VISIBLE.value]
        if user is not None:
            shown.append(sa.and_(Comment.user_id == user.id, Comment.status.in_(_MODERATED)))
        for r in db.session.scalars(
                sa.select(Comment).options(_AUTHOR_NAME)
                .where(Comment.parent_id.in_(list(replies)), sa.or_(*shown))
                .order_by(Comment.created_at, Comment.id)):
            replies[r.parent_id].append(r)
    ids = [c.id for c in comments] + [r.id for rs in replies.values() for r in rs]
    if user is not None and ids:
        result.endorsed_ids = set(db.session.scalars(sa.select(Endorsement.comment_id).where(
            Endorsement.user_id == user.id, Endorsement.comment_id.in_(ids))))
        result.flagged_ids = set(db.session.scalars(sa.select(CommentFlag.comment_id).where(
            CommentFlag.user_id == user.id, CommentFlag.comment_id.in_(ids))))
    return result


def comment_page_for_thread(top: Comment, user: User | None) -> CommentPage:
    """The thread of one top-level comment, with the same visibility rules as the page."""
    where = sa.and_(_top_level_filter(top.objective, user), Comment.id == top.id)
    comments = list(db.session.scalars(
        sa.select(Comment).options(_AUTHOR_NAME).where(where)))
    return _with_replies(CommentPage(comments, {}, len(comments), 1, 1, "newest"), user)


def updates_for(objective: Objective) -> list[ObjectiveUpdate]:
    """Leadership updates on the objective, newest first."""
    return list(db.session.scalars(
        sa.select(ObjectiveUpdate).where(ObjectiveUpdate.objective_id == objective.id)
        .order_by(ObjectiveUpdate.published_at.desc(), ObjectiveUpdate.id.desc())))


def updated_since_last_visit(user: User | None, objective_ids: list[int] | None = None
                             ) -> set[int]:
    """Objectives with a leadership update newer than the member's last look at them."""
    if user is None:
        return set()
    seen = visits.seen_map()
    if user.previous_login_at is None and not seen:
        return set()
    stmt = (sa.select(ObjectiveUpdate.objective_id, sa.func.max(ObjectiveUpdate.published_at))
            .group_by(ObjectiveUpdate.objective_id))
    if objective_ids is not None:
        stmt = stmt.where(ObjectiveUpdate.objective_id.in_(objective_ids))
    updated = set()
    for objective_id, latest in db.session.execute(stmt):  # one row per objective
        since = visits.last_seen(user, objective_id, seen)
        if since is not None and latest > since:
            updated.add(objective_id)
    return updated


def is_newer(updates: list[ObjectiveUpdate], since: datetime | None) -> bool:
    return bool(updates) and since is not None and updates[0].published_at > since
