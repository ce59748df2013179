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


# Accounts ---------------------------------------------------------------------

def mail_outbox():
    """Messages sent so far with the memory mail backend (the test configuration's)."""
    from portal.mail import outbox

    return outbox()


def link_path(message, marker: str) -> str:
    """The site-relative path of the first link in `message` containing `marker`."""
    import re
    from urllib.parse import urlsplit

    for url in re.findall(r"https?://\S+", message.body):
        if marker in url:
            parts = urlsplit(url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link with {marker!r} in: {message.body}")


def make_roster_entry(email: str, member_number: str | None = None,
                      membership_type: str = "regular", **segments):
    from portal.models import RosterEntry

    entry = RosterEntry(email=email.lower(), member_number=member_number or f"M{next(_seq)}",
                        membership_type=membership_type, **segments)
    db.session.add(entry)
    db.session.commit()
    return entry

# Feedback -----------------------------------------------------------------------

def make_round(name: str | None = None, status: str = "open", opens_at=None, closes_at=None,
               description: str = ""):
    """A feedback round; by default open since yesterday and for another month."""
    from datetime import timedelta

    from portal.models import FeedbackRound

    now = now_utc()
    opens_at = opens_at or now - timedelta(days=1)
    closes_at = closes_at or now + timedelta(days=30)
    rnd = FeedbackRound(name=name or f"Round {next(_seq)}", description=description,
                        opens_at=opens_at, closes_at=closes_at, status=status,
                        opened_at=opens_at if status != "draft" else None,
                        closed_at=closes_at if status == "closed" else None)
    db.session.add(rnd)
    db.session.commit()
    return rnd


def objective(code: str):
    import sqlalchemy as sa

    from portal.models import Objective

    return db.session.scalar(sa.select(Objective).where(Objective.code == code))


def make_comment(user, code: str = "A1", body: str = "A thoughtful comment.", parent=None,
                 show_name: bool = True, **fields):
    """A comment written through the service, committed; extra fields are set afterwards."""
    from portal.feedback.comment_services import post_comment

    comment = post_comment(user, objective(code), body, show_name=show_name, parent=parent)
    for key, value in fields.items():
        setattr(comment, key, value)
    db.session.commit()
    return comment


def make_update(author, code: str = "A1", status: str = "in_progress", progress: int = 40,
                heard: str = "Members asked for more.", doing: str = "We are doing more.",
                published_at=None):
    from portal.models import ObjectiveUpdate

    update = ObjectiveUpdate(objective_id=objective(code).id, author_id=author.id, status=status,
                             progress=progress, heard=heard, doing=doing,
                             published_at=published_at or now_utc())
    db.session.add(update)
    db.session.commit()
    return update


# --- Leadership reports --------------------------------------------------------------

def make_past_round(name: str | None = None, status: str = "open", days_ago: int = 10):
    """A feedback round opened `days_ago` days ago; `status` open/closed/draft."""
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


def make_raw_comment(objective, rnd, body: str, user: User | None = None, parent=None,
                     endorsements: int = 0, status: str = "visible", commit: bool = True,
                 **segments):
    from portal.models import Comment

    comment = Comment(objective_id=objective.id, round_id=rnd.id if rnd else None,
                      user_id=user.id if user else None, parent_id=parent.id if parent else None,
                      body=body, status=status, endorsement_count=endorsements, **segments)
    db.session.add(comment)
    if commit:
        db.session.commit()
    return comment

# Surveys --------------------------------------------------------------------------------

def survey_definition(anonymous: bool = True) -> dict:
    """A survey with every question type and logic (section 3 only after q1 = "yes")."""
    agree = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
    return {
        "format": "portal-survey/1", "title": "Every type", "introduction": "Hello **all**.",
        "anonymous": anonymous, "objective": None, "audience": {},
        "sections": [
            {"title": "Basics", "description": "", "show_if": None, "questions": [
                {"code": "q1", "type": "single_choice", "prompt": "Do you work in a library?",
                 "help": "", "required": True, "settings": {}, "show_if": None,
                 "options": [{"code": "yes", "label": "Yes", "other": False},
                             {"code": "no", "label": "No", "other": False},
                             {"code": "other", "label": "Other, please specify",
                              "other": True}]},
                {"code": "q2", "type": "multiple_choice", "prompt": "Topics?", "help": "",
                 "required": False, "settings": {"min_selections": 1, "max_selections": 2},
                 "show_if": None,
                 "options": [{"code": "a", "label": "Advocacy", "other": False},
                             {"code": "b", "label": "AI", "other": False},
                             {"code": "c", "label": "Data", "other": False},
                             {"code": "x", "label": "Other, please specify", "other": True}]},
                {"code": "q3", "type": "likert", "prompt": "Satisfied?", "help": "",
                 "required": False, "settings": {"points": 5, "labels": agree,
                                                 "allow_na": True}, "show_if": None,
                 "options": []},
            ]},
            {"title": "Numbers", "description": "", "show_if": None, "questions": [
                {"code": "q4", "type": "rating_0_10", "prompt": "Recommend us?", "help": "",
                 "required": True, "settings": {}, "show_if": None, "options": []},
                {"code": "q5", "type": "number", "prompt": "Hours per month?", "help": "",
                 "required": False, "settings": {"min": 0, "max": 100, "integer": True},
                 "show_if": None, "options": []},
                {"code": "q6", "type": "date", "prompt": "When did you start?", "help": "",
                 "required": False, "settings": {"min": "1950-01-01", "max": None},
                 "show_if": None, "options": []},
            ]},
            {"title": "At work", "description": "", "show_if":
                {"question": "q1", "any_of": ["yes"]}, "questions": [
                {"code": "q7", "type": "likert_matrix", "prompt": "Your workplace", "help": "",
                 "required": False, "settings": {"points": 5, "labels": agree,
                                                 "allow_na": False}, "show_if": None,
                 "options": [{"code": "s1", "label": "Paid time", "other": False},
                             {"code": "s2", "label": "Fees paid", "other": False}]},
                {"code": "q8", "type": "ranking", "prompt": "Rank formats", "help": "",
                 "required": False, "settings": {"top_n": 2}, "show_if": None,
                 "options": [{"code": "web", "label": "Webinar", "other": False},
                             {"code": "course", "label": "Course", "other": False},
                             {"code": "mentor", "label": "Mentoring", "other": False}]},
            ]},
            {"title": "Words", "description": "", "show_if": None, "questions": [
                {"code": "q9", "type": "short_text", "prompt": "Job title?", "help": "",
                 "required": False, "settings": {"max_length": 20},
                 "show_if": {"question": "q1", "any_of": ["yes", "other"]}, "options": []},
                {"code": "q10", "type": "long_text", "prompt": "Career goals?", "help": "",
                 "required": False, "settings": {"max_length": 200}, "show_if": None,
                 "options": []},
            ]},
        ],
    }


def make_survey(definition: dict | None = None, *, status: str = "open", anonymous: bool = True,
                audience: dict | None = None, **fields):
    from portal.survey_admin.services import create_from_definition
    from portal.surveys import definition as survey_definition_module

    data = survey_definition_module.validate(definition or survey_definition(anonymous))
    if audience is not None:
        data["audience"] = audience
    survey = create_from_definition(data, None)
    for key, value in fields.items():
        setattr(survey, key, value)
    if status in ("open", "closed"):
        survey.open()
    if status == "closed":
        survey.close()
    db.session.commit()
    return survey


def add_response(survey, answers: dict, submitted_on=None, batch: int | None = 1,
                 **segment_values):
    """Store a response directly (for results and export tests); returns its id.

    All in release batch 1 unless `batch` says otherwise (tests of the snapshots of
    open surveys number their batches; survey_results/snapshots.py)."""
    import uuid

    import sqlalchemy as sa

    from portal.models import SurveyAnswer, SurveyResponse
    from portal.surveys.answers import to_rows

    rid = uuid.uuid4()
    db.session.execute(sa.insert(SurveyResponse), [{
        "id": rid, "survey_id": survey.id, "submitted_on": submitted_on or now_utc().date(),
        "batch": batch, **segment_values}])
    rows = [{**row, "question_id": q.id, "response_id": rid}
            for q in survey.ordered_questions() if q.code in answers
            for row in to_rows(q, answers[q.code])]
    if rows:
        db.session.execute(sa.insert(SurveyAnswer), rows)
    return rid
