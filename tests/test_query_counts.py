"""No query per row: every main page runs as many SQL statements with 15 of everything
as with 3.

"Everything" is what the pages list or count: members and their ratings in two
rounds, comments, replies, endorsements and flags (some by the signed-in member),
hidden comments and earlier versions, survey responses, the pages and questions of
a survey, surveys in every state, rounds, users, invitations, roster entries, audit
rows and leadership updates.

Each page is rendered from a fresh database session, as a server would: once to
warm up and once measured with the small data, then measured again after the data
grew. Downloads are read to their end inside the measurement, so a streamed export
is counted in full.

The small data already holds every kind of row, so a query that runs only once
there is a row (an eager load, a figures branch) is not mistaken for growth. The
privacy thresholds are lowered and members come in groups of three with the same
segment values, so both sizes show figures: an N+1 in a figures branch cannot hide
behind "fewer than 10".
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest

from portal import segments
from portal.auth.passwords import hash_password
from portal.disclosure import surveys as surveys_disclosure
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Comment,
    CommentFlag,
    CommentVersion,
    Endorsement,
    FeedbackRound,
    Invitation,
    ObjectiveUpdate,
    RosterEntry,
    Survey,
    SurveyAttribution,
    SurveyDraft,
    SurveyOption,
    SurveyParticipation,
    SurveyQuestion,
    SurveySection,
    User,
)
from portal.reports import snapshots
from portal.reports.queries import report_objectives
from portal.survey_admin.services import create_from_definition
from portal.surveys.definition import validate
from portal.timeutil import now_utc
from tests import factories

SMALL, LARGE = 3, 15


@pytest.fixture
def app_config() -> dict:
    return {"PRIVACY_MIN_N": 2, "PRIVACY_MIN_COMMENTS": 3}


def _segments(i: int) -> dict[str, str]:
    """Segment values shared by members 0-2, 3-5, ...: every group is reportable."""
    return {d.key: d.codes[(i // 3) % len(d.codes)] for d in segments.DIMENSIONS}


def _answers(i: int) -> dict:
    extra = {f"q{100 + j}": {"option": "ab"[(i + j) % 2], "other": None} for j in range(i + 1)}
    return {**extra, "q1": {"option": "yes" if i % 3 else "no", "other": None},
            "q2": {"options": ["a"] if i % 2 else ["a", "b"], "other": None},
            "q3": (i % 5) + 1, "q4": i % 11, "q5": i,
            "q7": {"s1": 1 + i % 5, "s2": 1 + (i + 2) % 5},
            "q8": ["course", "web"] if i % 4 else ["web", "mentor"],
            "q9": f"Title {i}", "q10": f"Goal number {i}"}


def _pulse(i: int, objective: str) -> Survey:
    """A one-question survey about `objective`, odd ones anonymous, in the states the
    member's lists show by i % 5: answered, started, not started, closed, draft."""
    survey = create_from_definition(validate({
        "format": "portal-survey/1", "title": f"Pulse {i}", "introduction": "",
        "anonymous": bool(i % 2), "objective": objective, "audience": {},
        "sections": [{"title": "Only", "description": "", "show_if": None, "questions": [
            {"code": "q1", "type": "rating_0_10", "prompt": "Recommend us?", "help": "",
             "required": True, "settings": {}, "show_if": None, "options": []}]}]}),
        None, audit_action=None)
    if i % 5 != 4:
        survey.open()
    if i % 5 == 3:
        survey.close()
    return survey


def _grow_survey(survey: Survey, i: int) -> None:
    """One more page with a choice question, so a lookup per section, question or
    option would show; `_answers` answers it."""
    section = SurveySection(title=f"Extra page {i}", description="", show_if=None,
                            position=len(survey.sections))
    question = SurveyQuestion(code=f"q{100 + i}", type="single_choice", required=False,
                              prompt=f"Extra question {i}?", settings={}, position=0,
                              next_option_number=3, survey=survey)
    question.options = [SurveyOption(code=c, label=f"Answer {c}", position=n)
                        for n, c in enumerate(("a", "b"))]
    section.questions.append(question)
    survey.sections.append(section)


@dataclass
class World:
    """What the pages show, grown by `add(n)` units. Only ids are kept, because
    every measurement starts from a fresh session."""

    member: int     # the signed-in member: rates, comments, endorses, takes surveys
    leader: int
    admin: int
    previous: int   # a closed round and the open one, both rated (for trends)
    current: int
    survey: int     # an open survey with every question type, answered by everyone
    thread: int | None = None    # the first comment: gets every reply, flag and version
    count: int = 0

    def ids(self) -> dict:
        return {"survey": self.survey, "thread": self.thread, "member": self.member}

    def add(self, n: int) -> None:
        units = range(self.count, self.count + n)
        self.count += n
        objectives = report_objectives([])
        domain_a = [o for o in objectives if o.code.startswith("A")]
        get = db.session.get
        member = get(User, self.member)
        previous, current = get(FeedbackRound, self.previous), get(FeedbackRound, self.current)
        survey = get(Survey, self.survey)
        now, hashed = now_utc(), hash_password(factories.PASSWORD)
        with db.session.no_autoflush:
            pulses = [_pulse(i, domain_a[i % len(domain_a)].code) for i in units]
            raters = [User(email=f"rater{i}@example.org", display_name=f"Rater {i}",
                           password_hash=hashed, email_verified_at=now, **_segments(i))
                      for i in units]
            db.session.add_all(raters)
            db.session.flush()
            comments, notes = [], []
            for i, rater in zip(units, raters, strict=True):
                for rnd, shift in ((previous, 0), (current, 1)):
                    for j, obj in enumerate(domain_a):
                        factories.make_rating(rater, obj, rnd, 1 + (i + j) % 5,
                                              1 + (i + j + shift) % 5, commit=False)
                mine = objectives[i % len(objectives)]
                factories.make_rating(member, mine, current, 1 + i % 5, 1 + (i + 1) % 5,
                                      commit=False)
                # Half on A1, the others spread over objectives and both rounds, so a
                # lookup per objective or round would show.
                status = {1: "pending_review", 2: "hidden"}.get(i % 4, "visible")
                comments.append(factories.make_raw_comment(
                    domain_a[0] if i % 2 == 0 else mine, previous if i % 3 == 2 else current,
                    f"Comment {i} on advocacy toolkits", user=rater, endorsements=1 + i % 4,
                    status=status, commit=False, **_segments(i)))
                notes.append(factories.make_raw_comment(mine, current, f"My note {i}",
                                                        user=member, commit=False))
                _grow_survey(survey, i)
            db.session.flush()
            self.thread = self.thread or comments[0].id
            thread = get(Comment, self.thread)
            # Replies, flags and versions go to the first comment, to grow one thread.
            # Updates, audit rows and invitations name a different person each
            # (raters stand in for leaders and admins), so a lookup per author would show.
            for i, rater, comment, note in zip(units, raters, comments, notes, strict=True):
                factories.make_raw_comment(domain_a[0], current, f"Reply {i}", user=rater,
                                           parent=thread, commit=False, **_segments(i))
                db.session.add_all([
                    Endorsement(user_id=member.id, comment_id=comment.id),
                    Endorsement(user_id=rater.id, comment_id=note.id),
                    CommentVersion(comment_id=thread.id, body=f"Earlier text {i}"),
                ])
                for target in {comment, thread}:
                    db.session.add(CommentFlag(user_id=rater.id, comment_id=target.id,
                                               reason="spam", note=f"Flag {i}"))
                    target.flag_count += 1
                factories.add_response(survey, _answers(i), **_segments(i))
                self._take_part(i, member, pulses[i - units.start])
                db.session.add_all([
                    ObjectiveUpdate(objective_id=domain_a[i % 2].id, author_id=rater.id,
                                    status="in_progress", progress=i, heard=f"Heard {i}",
                                    doing=f"Doing {i}", published_at=now - timedelta(hours=i)),
                    FeedbackRound(name=f"Old round {i}", status="closed",
                                  opens_at=now - timedelta(days=1000 + 10 * i),
                                  closes_at=now - timedelta(days=995 + 10 * i),
                                  opened_at=now - timedelta(days=1000 + 10 * i),
                                  closed_at=now - timedelta(days=995 + 10 * i)),
                    AuditEvent(actor_id=rater.id, actor_label=rater.email,
                               action=f"test.action{i % 4}", target_type="users",
                               target_id=str(rater.id), detail=f"Audit {i}"),
                    Invitation(email=f"invitee{i}@example.org", token_hash=f"{i:064x}",
                               invited_by_id=rater.id, expires_at=now + timedelta(days=7)),
                    RosterEntry(email=f"roster{i}@example.org", member_number=f"R{i}",
                                **_segments(i)),
                ])
        db.session.commit()

    @staticmethod
    def _take_part(i: int, member: User, pulse: Survey) -> None:
        if i % 5 == 0:
            db.session.add(SurveyParticipation(survey_id=pulse.id, user_id=member.id))
            if not pulse.anonymous:
                rid = factories.add_response(pulse, {"q1": i % 11})
                db.session.add(SurveyAttribution(response_id=rid, survey_id=pulse.id,
                                                 user_id=member.id))
        elif i % 5 == 1:
            db.session.add(SurveyDraft(survey_id=pulse.id, user_id=member.id,
                                       answers={"q1": i % 11}, completed_sections=[]))


@pytest.fixture
def world(app, plan, member, leader, admin) -> World:
    previous = factories.make_past_round("Last year", "closed", days_ago=400)
    current = factories.make_past_round("This year", "open", days_ago=10)
    survey = factories.make_survey()
    db.session.add(SurveyDraft(survey_id=survey.id, user_id=member.id, answers={},
                               completed_sections=[]))
    db.session.commit()
    return World(member.id, leader.id, admin.id, previous.id, current.id, survey.id)


@dataclass(frozen=True)
class Page:
    who: str | None   # signed in as: member, leader, admin (None: anonymous)
    url: str          # {survey}, {thread} and {member} are filled in from the world
    shows: str        # text the larger page must contain: grown rows or figures


def page(who: str | None, url: str, shows: str = ""):
    return pytest.param(Page(who, url, shows), id=f"{who or 'anonymous'} {url}")


PAGES = [
    # Members' pages
    page(None, "/", "Advocacy"),
    page("member", "/", "Pulse 12"),
    page(None, "/plan/domains/A"),
    page("member", "/plan/domains/A"),
    page(None, "/plan/objectives/A1", "Comment 12"),
    page("member", "/plan/objectives/A1", "Comment 12"),
    page("member", "/feedback/comments/{thread}", "Reply 14"),
    page("member", "/feedback/mine", "My note 14"),
    page("member", "/feedback/activity", "Pulse 12"),
    page("member", "/feedback/activity/preferences"),
    page("member", "/feedback/progress", "In progress"),
    page("member", "/surveys/", "Pulse 12"),
    page("member", "/surveys/{survey}"),
    page("member", "/surveys/{survey}/sections/1"),
    page("member", "/account"),
    page("member", "/account/data", "Recommend us?"),
    # Leadership
    page("leader", "/reports/", "Top priorities"),
    page("leader", "/reports/priorities", "Priority class"),
    page("leader", "/reports/charts", "Possible overkill"),
    # Segments with small cells show shares, not means (portal.disclosure.segment_rows):
    # the grown table says which means it withholds; crossed cells still show means.
    page("leader", "/reports/segments?measure=importance_mean",
         "withheld to protect a small group"),
    page("leader", "/reports/segments?dimension=career_stage&by=region&measure=importance_mean",
         r're:<td class="num heat-(pos|neg|0)'),
    page("leader", "/reports/objectives/A1", r"re:Gap \(performance − importance\)</dt><dd>[+-]"),
    page("leader", "/reports/comments", "Comment 12"),
    page("leader", "/reports/trends", "-3 pts"),
    page("leader", "/reports/board", "Possible overkill"),
    page("leader", "/reports/updates/", "In progress"),
    page("leader", "/reports/surveys/", "Pulse 13"),
    page("leader", "/reports/surveys/{survey}", "answered by 15"),
    page("leader", "/reports/surveys/{survey}/questions/q10/texts", "Goal number 14"),
    page("leader", "/reports/surveys/{survey}/crosstab?question=q1&dimension=career_stage"),
    page("leader", "/reports/updates/A1/new", "Heard 14"),
    # Leadership downloads: every table of a page in one workbook, and one as CSV
    page("leader", "/reports/export/dashboard/all.xlsx"),
    page("leader", "/reports/export/dashboard/participation.csv"),
    page("leader", "/reports/export/charts/all.xlsx"),
    page("leader", "/reports/export/charts/gaps.csv"),
    page("leader", "/reports/export/segments/all.xlsx?dimension=region&by=career_stage"),
    page("leader", "/reports/export/segments/heatmap.csv"),
    page("leader", "/reports/export/trends/all.xlsx"),
    page("leader", "/reports/export/trends/trends.csv"),
    page("leader", "/reports/export/objective-A1/all.xlsx"),
    page("leader", "/reports/export/objective-A1/segments.csv"),
    page("leader", "/reports/export/board/all.xlsx"),
    page("leader", "/reports/export/board/headline.csv"),
    page("leader", "/reports/comments.csv", "Comment 12"),
    page("leader", "/reports/surveys/{survey}/responses.csv", "Goal number 14"),
    page("leader", "/reports/surveys/{survey}/responses.xlsx"),
    page("leader", "/reports/surveys/{survey}/codebook.csv"),
    page("leader", "/reports/surveys/{survey}/definition.json"),
    # Admin
    page("admin", "/admin"),
    page("admin", "/admin/users", "rater14@"),
    page("admin", "/admin/users/{member}"),
    page("admin", "/admin/registration", "invitee14@"),
    page("admin", "/admin/rounds/", "Old round 14"),
    page("admin", "/admin/surveys/", "Pulse 14"),
    page("admin", "/admin/surveys/{survey}"),
    page("admin", "/admin/surveys/{survey}/definition.json"),
    page("admin", "/admin/moderation/", "Comment 13"),
    page("admin", "/admin/moderation/?view=hidden", "Comment 14"),
    page("admin", "/admin/moderation/comments/{thread}", "Flag 14"),
    page("admin", "/admin/audit", "Audit 14"),
    page("admin", "/admin/plan"),
    page("admin", "/admin/plan/objectives/A1"),
]


def _measure(client, url: str, query_counter, warm_up: bool = False) -> tuple[list[str], str]:
    """The statements of one request from a fresh session, its body read to the end."""
    for _ in range(2 if warm_up else 1):
        # Compare first requests of a survey state: survey disclosure decisions are
        # kept across requests (portal.disclosure.surveys), which would hide a build
        # whose statements grow with the data.
        surveys_disclosure._ACROSS_REQUESTS.clear()
        db.session.remove()
        with query_counter() as statements:
            resp = client.get(url)
            body = b"".join(resp.iter_encoded())
        assert resp.status_code == 200, (url, resp.status_code, body[:500])
    db.session.remove()
    # Moving survey snapshots forward is one statement, run when new batches have
    # arrived in a slice (not more when there are more data): the reads are compared.
    statements = [s for s in statements if not s.startswith("INSERT INTO survey_snapshots")]
    return statements, body.decode("utf-8", "replace")


def _difference(large: list[str], small: list[str]) -> str:
    """The statements the larger page ran more (+) or less (-) often."""
    more, fewer = Counter(large) - Counter(small), Counter(small) - Counter(large)
    return "\n".join([f"+{n} x {s}" for s, n in more.items()]
                     + [f"-{n} x {s}" for s, n in fewer.items()])


@pytest.mark.parametrize("case", PAGES)
def test_statements_do_not_grow_with_the_data(client, login, world, case, query_counter):
    if case.who:
        login(db.session.get(User, getattr(world, case.who)))
    world.add(SMALL)
    # The snapshot job catches up with new data on the next leadership request, a
    # fixed set of statements whatever the size; run it here so that both
    # measurements see the same (nothing or little due) and only the page differs.
    snapshots.advance_open_round()
    url = case.url.format(**world.ids())
    small, _ = _measure(client, url, query_counter, warm_up=True)
    world.add(LARGE - SMALL)
    snapshots.advance_open_round()
    large, body = _measure(client, url, query_counter)
    if case.shows.startswith("re:"):
        assert re.search(case.shows[3:], body), case.shows
    else:
        assert case.shows in body
    assert len(large) == len(small), _difference(large, small)
