"""A comment sent again (a double click, a retry after the answer was lost) is the same
comment; the same words later, elsewhere or after deleting are new comments."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.feedback import comment_services
from portal.models import Comment
from tests import factories


def _bodies() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Comment.body).order_by(Comment.id)))


def test_the_same_form_sent_twice_stores_one_comment(client, login, plan, member):
    login(member)
    form = {"body": "Please add evening webinars."}
    first = client.post_form("/feedback/objectives/A1/comments", form)
    again = client.post_form("/feedback/objectives/A1/comments", form)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]  # the same #comment-id
    assert _bodies() == ["Please add evening webinars."]
    client.post_form("/feedback/objectives/A2/comments", form)  # another objective
    client.post_form("/feedback/objectives/A1/comments", {"body": "Something else."})
    assert len(_bodies()) == 3


def test_the_same_words_after_the_window_or_after_deleting_are_a_new_comment(app, plan,
                                                                            member):
    first = factories.make_comment(member, "A1", body="Same words.")
    first.created_at -= comment_services.RESEND_WINDOW + timedelta(seconds=1)
    db.session.commit()
    second = factories.make_comment(member, "A1", body="Same words.")
    assert second.id != first.id
    comment_services.delete_comment(member, second)
    db.session.commit()
    third = factories.make_comment(member, "A1", body="Same words.")
    assert third.id not in (first.id, second.id)


def test_another_member_may_say_the_same(app, plan, member):
    other = factories.make_user()
    a = factories.make_comment(member, "A1", body="Agreed.")
    b = factories.make_comment(other, "A1", body="Agreed.")
    assert a.id != b.id
