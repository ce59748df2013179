"""Anonymous visitors share a short-lived copy of the public plan pages; nobody else does."""

from __future__ import annotations

import pytest

from portal.extensions import cache, db
from tests import factories


@pytest.fixture
def app_config() -> dict:
    return {"PUBLIC_PAGE_CACHE_SECONDS": 30}


@pytest.fixture
def anonymous(app):
    return app.test_client()


def _rename_domain_a(title: str) -> None:
    dom = factories.objective("A1").domain
    dom.title = title
    db.session.commit()


def test_an_anonymous_visitor_gets_the_shared_copy_without_a_query(plan, anonymous,
                                                                    query_counter):
    first = anonymous.get("/plan/domains/A")
    assert first.status_code == 200
    with query_counter() as statements:
        second = anonymous.get("/plan/domains/A")
    assert second.status_code == 200
    assert second.data == first.data
    assert statements == []


def test_the_copy_lasts_its_few_seconds_then_the_page_is_rendered_anew(plan, anonymous):
    before = anonymous.get("/").get_data(as_text=True)
    _rename_domain_a("Advocacy, renamed")
    assert "Advocacy, renamed" not in anonymous.get("/").get_data(as_text=True)
    cache.clear()  # what the end of PUBLIC_PAGE_CACHE_SECONDS does
    after = anonymous.get("/").get_data(as_text=True)
    assert "Advocacy, renamed" in after and after != before


def test_signed_in_members_always_see_the_page_as_it_is_now(plan, member, client, login,
                                                            anonymous):
    anonymous.get("/plan/domains/A")  # an anonymous copy exists
    login(member)
    _rename_domain_a("Seen at once by members")
    page = client.get("/plan/domains/A").get_data(as_text=True)
    assert "Seen at once by members" in page
    assert "Mia Member" in page or "Sign out" in page


def test_a_signed_in_rendering_is_never_shared_with_anonymous_visitors(plan, member, client,
                                                                      login, anonymous,
                                                                      query_counter):
    login(member)
    assert "Sign out" in client.get("/").get_data(as_text=True)
    with query_counter() as statements:
        page = anonymous.get("/").get_data(as_text=True)
    assert statements, "the anonymous visitor must get a fresh rendering, not the member's"
    assert "Sign out" not in page and "Mia Member" not in page


def test_a_visitor_with_a_message_waiting_gets_their_own_page(plan, member, client, login,
                                                              anonymous):
    anonymous.get("/")  # the shared copy, without any message
    login(member)
    resp = client.post_form("/auth/logout", follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "signed out" in text.lower()
    # ... and that page with its message is nobody else's.
    assert "signed out" not in anonymous.get("/").get_data(as_text=True).lower()


def test_comment_pages_and_sort_orders_are_kept_apart(plan, member, anonymous):
    factories.make_comment(member, "A1", body="First comment on A1.")
    factories.make_comment(member, "A1", body="Second comment on A1.")
    endorsed = anonymous.get("/plan/objectives/A1?sort=endorsed").get_data(as_text=True)
    newest = anonymous.get("/plan/objectives/A1?sort=newest").get_data(as_text=True)
    assert 'aria-current="true">Most endorsed' in endorsed
    assert 'aria-current="true">Newest' in newest


def test_a_missing_page_is_not_kept(plan, anonymous, query_counter):
    assert anonymous.get("/plan/objectives/Z9").status_code == 404
    with query_counter() as statements:
        assert anonymous.get("/plan/objectives/Z9").status_code == 404
    assert statements, "a 404 is looked up again, not served from a copy"


def test_with_zero_seconds_nothing_is_kept(plan, app, query_counter):
    from portal import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "PUBLIC_PAGE_CACHE_SECONDS": 0})
    visitor = other.test_client()
    with other.app_context():
        visitor.get("/")
        with query_counter() as statements:
            assert visitor.get("/").status_code == 200
        assert statements
        db.session.remove()
        db.engine.dispose()  # its own engine: close its connections, not leave them to GC
