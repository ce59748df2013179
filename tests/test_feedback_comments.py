"""Comments: posting, Markdown safety, replies, edits, deletion, endorsements, flags."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Comment, CommentFlag, CommentVersion, Endorsement
from tests.factories import make_comment, make_round, make_user, objective


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _comment(cid: int) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, cid)


@pytest.fixture
def other(app):
    return make_user(email="other@example.org", display_name="Otto Other")


def test_member_posts_a_comment(client, login, plan, member):
    rnd = make_round("Open round")
    member.region = "west"
    db.session.commit()
    login(member)
    resp = client.post_form("/feedback/objectives/A1/comments",
                            {"body": "I **love** this. See https://example.org"})
    assert resp.status_code == 302
    c = db.session.scalar(sa.select(Comment))
    assert resp.location.endswith(f"/plan/objectives/A1?sort=newest#comment-{c.id}")
    assert c.user_id == member.id and c.round_id == rnd.id and c.region == "west"
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "<strong>love</strong>" in html and "Mia Member" in html
    assert "Comments (1)" in html


def test_comments_without_a_round_have_no_round(client, login, plan, member):
    login(member)
    client.post_form("/feedback/objectives/A1/comments", {"body": "No round now."})
    assert db.session.scalar(sa.select(Comment.round_id)) is None


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write your comment before sending it."),
    ("   \n  ", "Write your comment before sending it."),
    ("x" * 5001, "Your comment must be 5,000 characters or fewer. It has 5,001 now: "
                 "shorten it by 1 character."),
])
def test_empty_or_overlong_comments_are_refused(client, login, plan, member, body, message):
    login(member)
    resp = client.post_form("/feedback/objectives/A1/comments", {"body": body})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    # The hint stating the limit is part of the description too (issue 18, point 2).
    assert message in html and 'aria-describedby="body-hint body-limit body-error"' in html
    assert _count(Comment) == 0


def test_exactly_5000_characters_is_accepted(client, login, plan, member):
    login(member)
    assert client.post_form("/feedback/objectives/A1/comments",
                            {"body": "y" * 5000}).status_code == 302
    assert _count(Comment) == 1


XSS = [
    "<script>alert('x')</script>",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    '<a href="#" onclick="alert(1)">hi</a>',
    "<svg onload=alert(1)><circle r=5/></svg>",
    "![pic](https://example.org/x.png)",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    '<iframe src="https://evil.example"></iframe>',
]


@pytest.mark.parametrize("payload", XSS)
def test_hostile_markdown_renders_harmlessly(client, login, plan, member, payload):
    login(member)
    assert client.post_form("/feedback/objectives/A1/comments",
                            {"body": f"Hello {payload} end"}).status_code == 302
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    start = html.index('class="comment-body"')
    body = html[start:html.index("</div>", start)]
    tags = _Tags()
    tags.feed(body.split(">", 1)[1])
    assert tags.names <= {"p", "a", "em", "strong", "code"}, tags.names
    for name, value in tags.attrs:
        assert not name.startswith("on"), (name, body)
        if name == "href":
            assert value.split(":", 1)[0] in ("http", "https", "mailto"), body
    assert "Hello" in body


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.attrs.extend((k.lower(), (v or "").strip().lower()) for k, v in attrs)


def test_reply_one_level_deep(client, login, plan, member, other):
    top = make_comment(other, "B2", "Top-level thought.")
    login(member)
    page = client.get(f"/feedback/comments/{top.id}/reply").get_data(as_text=True)
    assert "Reply to a comment" in page and "Top-level thought." in page
    resp = client.post_form("/feedback/objectives/B2/comments",
                            {"body": "I agree.", "parent_id": str(top.id)})
    assert resp.status_code == 302
    reply = db.session.scalar(sa.select(Comment).where(Comment.parent_id == top.id))
    assert resp.location.endswith(f"/feedback/comments/{top.id}#comment-{reply.id}")
    html = client.get("/plan/objectives/B2").get_data(as_text=True)
    assert 'class="comment reply"' in html and "I agree." in html
    assert "Comments (1)" in html  # replies do not count as top-level comments
    # A reply to the reply is refused and changes nothing.
    resp = client.post_form("/feedback/objectives/B2/comments",
                            {"body": "Deeper", "parent_id": str(reply.id)})
    assert resp.status_code == 400
    assert "Replies go one level deep" in resp.get_data(as_text=True)
    assert _count(Comment) == 2
    # A reply naming a comment on another objective is refused too.
    resp = client.post_form("/feedback/objectives/A1/comments",
                            {"body": "Wrong place", "parent_id": str(top.id)})
    assert resp.status_code == 400
    assert _count(Comment) == 2
    assert client.post_form("/feedback/objectives/B2/comments",
                            {"body": "x", "parent_id": "abc"}).status_code == 400
    assert client.post_form("/feedback/objectives/B2/comments",
                            {"body": "x", "parent_id": "99999"}).status_code == 404
    assert _count(Comment) == 2


def test_edit_keeps_earlier_versions_and_shows_edited(client, login, plan, member):
    c = make_comment(member, "A1", "First words.")
    login(member)
    assert "edited" not in client.get("/plan/objectives/A1").get_data(as_text=True).split(
        'id="comments"')[1].split("Add a comment")[0]
    resp = client.post_form(f"/feedback/comments/{c.id}/edit", {"body": "Second words."})
    assert resp.status_code == 302
    client.post_form(f"/feedback/comments/{c.id}/edit", {"body": "Third words."})
    c = _comment(c.id)
    assert c.body == "Third words." and c.edited_at is not None
    versions = db.session.scalars(sa.select(CommentVersion.body).where(
        CommentVersion.comment_id == c.id).order_by(CommentVersion.id)).all()
    assert versions == ["First words.", "Second words."]
    html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert 'class="comment-edited">edited' in html and "Third words." in html
    assert "First words." not in html
    resp = client.post_form(f"/feedback/comments/{c.id}/edit", {"body": ""})
    assert resp.status_code == 400
    assert _comment(c.id).body == "Third words."


def test_editing_someone_elses_comment_is_forbidden(client, login, plan, member, other):
    c = make_comment(other, "A1", "Mine, says Otto.")
    login(member)
    assert client.get(f"/feedback/comments/{c.id}/edit").status_code == 403
    resp = client.post_form(f"/feedback/comments/{c.id}/edit", {"body": "Hijacked"})
    assert resp.status_code == 403
    assert "You can only edit your own comments." in resp.get_data(as_text=True)
    assert _comment(c.id).body == "Mine, says Otto." and _count(CommentVersion) == 0
    assert client.post_form(f"/feedback/comments/{c.id}/delete").status_code == 403
    assert _comment(c.id).status == "visible"


def test_delete_leaves_a_placeholder_and_readable_replies(client, login, plan, member, other):
    top = make_comment(member, "C1", "Soon gone.")
    make_comment(other, "C1", "A reply that stays.", parent=top)
    lonely = make_comment(member, "C1", "Gone without replies.")
    login(member)
    assert client.post_form(f"/feedback/comments/{top.id}/delete").status_code == 302
    assert client.post_form(f"/feedback/comments/{lonely.id}/delete").status_code == 302
    assert _comment(top.id).status == "deleted" and _comment(top.id).deleted_at is not None
    html = client.get("/plan/objectives/C1").get_data(as_text=True)
    assert "Comment removed by its author." in html and "A reply that stays." in html
    assert "Soon gone." not in html and "Gone without replies." not in html
    assert html.count("Comment removed by its author.") == 1
    assert client.post_form(f"/feedback/comments/{top.id}/delete").status_code == 409


def test_endorse_once_and_not_ones_own(client, login, plan, member, other):
    c = make_comment(other, "D2", "Endorse me.")
    mine = make_comment(member, "D2", "My own.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse",
                            {"next": f"/plan/objectives/D2#comment-{c.id}"})
    assert resp.status_code == 302 and resp.location.endswith(f"/plan/objectives/D2#comment-{c.id}")
    assert _comment(c.id).endorsement_count == 1
    resp = client.post_form(f"/feedback/comments/{c.id}/endorse")
    assert resp.status_code == 409
    assert "You have already endorsed this comment." in resp.get_data(as_text=True)
    resp = client.post_form(f"/feedback/comments/{mine.id}/endorse")
    assert resp.status_code == 400
    assert "You cannot endorse your own comment." in resp.get_data(as_text=True)
    assert _comment(c.id).endorsement_count == 1 and _comment(mine.id).endorsement_count == 0
    assert _count(Endorsement) == 1
    html = client.get("/plan/objectives/D2").get_data(as_text=True)
    assert "Withdraw endorsement" in html
    assert client.post_form(f"/feedback/comments/{c.id}/unendorse").status_code == 302
    assert _comment(c.id).endorsement_count == 0 and _count(Endorsement) == 0
    assert client.post_form(f"/feedback/comments/{c.id}/unendorse").status_code == 409


def test_hidden_name_shows_a_member_and_says_moderators_see_it(client, login, plan, member,
                                                               other):
    login(member)
    form = client.get("/plan/objectives/A4").get_data(as_text=True)
    assert "Don&#39;t show my name to other members" in form or \
        "Don't show my name to other members" in form
    assert "Moderators can still see who wrote it." in form
    client.post_form("/feedback/objectives/A4/comments",
                     {"body": "Quietly said.", "hide_name": "y"})
    assert db.session.scalar(sa.select(Comment.show_name)) is False
    login(other)
    html = client.get("/plan/objectives/A4").get_data(as_text=True)
    assert "A member" in html and "Quietly said." in html
    assert "Mia Member" not in html and "member@example.org" not in html


def test_sorting_and_pagination(client, login, plan, member, other):
    from datetime import timedelta

    from portal.timeutil import now_utc

    base = now_utc() - timedelta(days=1)
    for i in range(25):
        make_comment(other, "E1", f"Comment number {i:02d}.", created_at=base +
                     timedelta(minutes=i))
    popular = db.session.scalar(sa.select(Comment).where(Comment.body == "Comment number 03."))
    popular.endorsement_count = 7
    db.session.commit()
    login(member)
    html = client.get("/plan/objectives/E1").get_data(as_text=True)
    first = html.index('class="comment-body"')
    assert "Comment number 03." in html[first:first + 200]
    assert "Page 1 of 2" in html and "Comments (25)" in html
    newest = client.get("/plan/objectives/E1?sort=newest").get_data(as_text=True)
    first = newest.index('class="comment-body"')
    assert "Comment number 24." in newest[first:first + 200]
    page2 = client.get("/plan/objectives/E1?sort=newest&page=2").get_data(as_text=True)
    assert page2.count('class="comment"') == 5 and "Comment number 00." in page2
    assert "Page 2 of 2" in page2
    # Nonsense parameters fall back to defaults instead of failing.
    assert client.get("/plan/objectives/E1?sort=evil&page=-3").status_code == 200
    assert client.get("/plan/objectives/E1?page=999").status_code == 200


def _seed_comments(n: int, authors) -> None:
    a1 = objective("A1")
    rows = []
    for i in range(n):
        rows.append(Comment(objective_id=a1.id, user_id=authors[i % len(authors)].id,
                            body=f"Bulk comment {i}", endorsement_count=i % 7,
                            show_name=bool(i % 2)))
    db.session.add_all(rows)
    db.session.flush()
    replies = [Comment(objective_id=a1.id, user_id=authors[(i + 1) % len(authors)].id,
                       parent_id=rows[i].id, body=f"Reply {i}") for i in range(0, n, 3)]
    db.session.add_all(replies)
    db.session.commit()


def test_objective_page_uses_a_constant_number_of_queries(client, login, plan, member,
                                                           query_counter):
    make_round("Counting")
    authors = [make_user() for _ in range(10)]
    login(member)
    _seed_comments(50, authors)
    client.get("/plan/objectives/A1")
    db.session.expire_all()  # both measurements start from the same session state
    with query_counter() as small:
        resp = client.get("/plan/objectives/A1")
    assert resp.status_code == 200
    _seed_comments(450, authors)
    db.session.expire_all()
    with query_counter() as large:
        html = client.get("/plan/objectives/A1").get_data(as_text=True)
    assert "Comments (500)" in html and "Page 1 of 25" in html
    assert len(large) == len(small), (len(small), len(large))
    assert len(large) <= 20


def test_flag_once_with_a_reason(client, login, plan, member, other):
    c = make_comment(other, "B3", "Buy cheap pills!")
    login(member)
    page = client.get(f"/feedback/comments/{c.id}/flag").get_data(as_text=True)
    assert "<legend>Why are you flagging this comment?" in page
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "other"})
    assert resp.status_code == 400
    assert "Tell the moderators what is wrong with this comment." in resp.get_data(as_text=True)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "nonsense"})
    assert resp.status_code == 400
    assert _count(CommentFlag) == 0
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "spam"})
    assert resp.status_code == 302
    flag = db.session.scalar(sa.select(CommentFlag))
    assert (flag.reason, flag.user_id) == ("spam", member.id)
    assert _comment(c.id).flag_count == 1 and _comment(c.id).status == "visible"
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "abusive"})
    assert resp.status_code == 409
    assert "You have already flagged this comment." in resp.get_data(as_text=True)
    assert _count(CommentFlag) == 1 and _comment(c.id).flag_count == 1
    assert "You flagged this comment" in client.get("/plan/objectives/B3").get_data(
        as_text=True)


def test_enough_flags_hide_the_comment_pending_review(client, login, plan, member, other):
    c = make_comment(member, "B4", "Controversial.")
    make_comment(other, "B4", "Reply under it.", parent=c)
    flaggers = [make_user() for _ in range(3)]
    for i, user in enumerate(flaggers):
        login(user)
        client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "off_topic"})
        assert _comment(c.id).status == ("pending_review" if i == 2 else "visible")
    assert _comment(c.id).flag_count == 3
    html = client.get("/plan/objectives/B4").get_data(as_text=True)
    assert "Comment awaiting moderation." in html and "Controversial." not in html
    assert "Reply under it." in html
    login(member)  # the author still sees it, with an explanation
    html = client.get("/plan/objectives/B4").get_data(as_text=True)
    assert "Controversial." in html and "hidden from them until a moderator" in html


@pytest.mark.parametrize("app_config", [{"FLAGS_TO_HIDE": 1}])
def test_flag_threshold_is_configurable(client, login, plan, member, other, app_config):
    c = make_comment(other, "B4", "One flag is enough here.")
    login(member)
    client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "abusive"})
    assert _comment(c.id).status == "pending_review"


def test_own_comment_cannot_be_flagged(client, login, plan, member):
    c = make_comment(member, "B4", "Mine.")
    login(member)
    resp = client.post_form(f"/feedback/comments/{c.id}/flag", {"reason": "spam"})
    assert resp.status_code == 400 and _count(CommentFlag) == 0


def test_thread_page_and_missing_comments(client, login, plan, member, other):
    c = make_comment(other, "A2", "A thread.")
    html = client.get(f"/feedback/comments/{c.id}").get_data(as_text=True)
    assert "A thread." in html and html.count("<h1") == 1
    assert client.get("/feedback/comments/424242").status_code == 404
    login(other)
    client.post_form(f"/feedback/comments/{c.id}/delete")
    assert client.get(f"/feedback/comments/{c.id}").status_code == 404


def test_unverified_members_cannot_comment(client, login, plan):
    login(make_user(verified=False))
    resp = client.post_form("/feedback/objectives/A1/comments", {"body": "Hi"})
    assert resp.status_code == 403 and _count(Comment) == 0
