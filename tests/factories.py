"""Factories for test objects. They flush and commit, like a finished request would."""

from __future__ import annotations

import itertools

from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.models import User
from portal.plan import planfile
from portal.plan import services as plan_services
from portal.timeutil import now_utc

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def load_plan():
    plan_services.import_plan(planfile.parse(planfile.bundled_plan_text()))
    db.session.commit()
    return plan_services.current_plan()


def make_user(role: str = "member", email: str | None = None, display_name: str | None = None,
              password: str = PASSWORD, verified: bool = True, active: bool = True,
              **segments) -> User:
    n = next(_seq)
    user = User(
        email=(email or f"user{n}@example.org").lower(),
        display_name=display_name or f"User {n}",
        password_hash=hash_password(password),
        role=role,
        active=active,
        email_verified_at=now_utc() if verified else None,
        **segments,
    )
    db.session.add(user)
    db.session.commit()
    return user


# --- Leadership reports --------------------------------------------------------------

def make_round(name: str | None = None, status: str = "open", days_ago: int = 10):
    """A feedback round; `status` open/closed/draft. Older rounds: larger days_ago."""
    from datetime import timedelta

    from portal.models import FeedbackRound

    n = next(_seq)
    now = now_utc()
    rnd = FeedbackRound(name=name or f"Round {n}", opens_at=now - timedelta(days=days_ago),
                        closes_at=now + timedelta(days=30 - days_ago), status="draft")
    if status in ("open", "closed"):
        rnd.open(now - timedelta(days=days_ago))
    if status == "closed":
        rnd.close(now - timedelta(days=max(days_ago - 5, 0)))
    db.session.add(rnd)
    db.session.commit()
    return rnd


def make_members(count: int, **segments) -> list[User]:
    """Many verified members at once (one cheap password hash shared)."""
    hashed = hash_password(PASSWORD)
    users = []
    for _ in range(count):
        n = next(_seq)
        users.append(User(email=f"m{n}@example.org", display_name=f"Member {n}",
                          password_hash=hashed, role="member", active=True,
                          email_verified_at=now_utc(), **segments))
    db.session.add_all(users)
    db.session.commit()
    return users


def make_rating(user: User, objective, rnd, importance: int | None, performance: int | None,
                commit: bool = True):
    """A rating through the ORM (the report summaries follow automatically)."""
    from portal import segments as seg
    from portal.models import Rating

    rating = Rating(user_id=user.id, objective_id=objective.id, round_id=rnd.id,
                    importance=importance, performance=performance,
                    **{k: getattr(user, k) for k in seg.KEYS})
    db.session.add(rating)
    if commit:
        db.session.commit()
    return rating


def make_comment(objective, rnd, body: str, user: User | None = None, parent=None,
                 endorsements: int = 0, status: str = "visible", commit: bool = True,
                 **segments):
    from portal import sentiment
    from portal.models import Comment

    comment = Comment(objective_id=objective.id, round_id=rnd.id if rnd else None,
                      user_id=user.id if user else None, parent_id=parent.id if parent else None,
                      body=body, status=status, endorsement_count=endorsements,
                      sentiment=sentiment.score(body), **segments)
    db.session.add(comment)
    if commit:
        db.session.commit()
    return comment
