"""The admin console: users and roles, registration and roster, audit log."""

from __future__ import annotations

import io

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Invitation, RosterEntry, User
from tests.factories import PASSWORD, link_path, mail_outbox, make_user


def _audit(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_index_lists_the_sections(client, admin, login):
    login(admin)
    html = client.get("/admin").get_data(as_text=True)
    for href in ("/admin/users", "/admin/registration", "/admin/plan", "/admin/audit"):
        assert f'href="{href}"' in html


def test_user_list_search_filters_and_pagination(client, admin, login, query_counter):
    for i in range(30):
        make_user(email=f"person{i:02d}@example.org", verified=i % 2 == 0,
                  role="leader" if i < 3 else "member", active=i != 5)
    login(admin)
    html = client.get("/admin/users").get_data(as_text=True)
    assert "31 accounts found" in html and "Page 1 of 2" in html
    assert "person29@example.org" not in html
    assert "person29@example.org" in client.get("/admin/users?page=2").get_data(as_text=True)
    html = client.get("/admin/users?q=PERSON0").get_data(as_text=True)
    assert "10 accounts found" in html
    assert "3 accounts found" in client.get("/admin/users?role=leader").get_data(as_text=True)
    assert "1 account found" in client.get(
        "/admin/users?status=deactivated").get_data(as_text=True)
    html = client.get("/admin/users?verified=no").get_data(as_text=True)
    assert "15 accounts found" in html
    assert client.get("/admin/users?role=emperor").status_code == 400
    with query_counter() as statements:
        client.get("/admin/users?q=person")
    assert len(statements) <= 6, statements  # no query per row


def test_change_role_is_audited_and_ends_sessions(app, client, admin, member, login):
    login(member)
    stolen = client.get_cookie("session").value
    login(admin)
    resp = client.post_form(f"/admin/users/{member.id}/role", {"role": "leader"})
    assert resp.status_code == 302
    db.session.refresh(member)
    assert member.role == "leader"
    [event] = _audit("user.role")
    assert event.actor_id == admin.id and event.target_id == str(member.id)
    assert '"to": "leader"' in event.detail
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 302
    assert client.post_form(f"/admin/users/{member.id}/role",
                            {"role": "emperor"}).status_code == 400


def test_admins_cannot_demote_or_deactivate_themselves(client, admin, login):
    login(admin)
    assert client.post_form(f"/admin/users/{admin.id}/role",
                            {"role": "member"}).status_code == 409
    assert client.post_form(f"/admin/users/{admin.id}/deactivate").status_code == 409
    db.session.refresh(admin)
    assert admin.role == "admin" and admin.active


def test_deactivate_and_reactivate(client, admin, member, login):
    login(admin)
    assert client.post_form(f"/admin/users/{member.id}/deactivate").status_code == 302
    db.session.refresh(member)
    assert not member.active
    assert client.post_form(f"/admin/users/{member.id}/deactivate").status_code == 409
    assert client.post_form(f"/admin/users/{member.id}/reactivate").status_code == 302
    db.session.refresh(member)
    assert member.active
    assert len(_audit("user.deactivate")) == 1 and len(_audit("user.reactivate")) == 1


def test_missing_user_is_404_for_admins(client, admin, login):
    login(admin)
    assert client.get("/admin/users/9999").status_code == 404


def test_resend_verification(client, admin, login):
    pending = make_user(verified=False, email="pending@example.org")
    login(admin)
    resp = client.post_form(f"/admin/users/{pending.id}/resend-verification")
    assert resp.status_code == 302
    assert mail_outbox()[-1].to == "pending@example.org"
    assert len(_audit("user.resend_verification")) == 1
    path = link_path(mail_outbox()[-1], "/auth/verify/")
    client.post_form("/auth/logout")
    assert client.post_form(path).status_code == 302
    db.session.refresh(pending)
    assert pending.is_verified


def test_registration_mode_is_audited(client, admin, login):
    login(admin)
    assert client.post_form("/admin/registration/mode", {"mode": "roster"}).status_code == 302
    assert client.post_form("/admin/registration/mode", {"mode": "anarchy"}).status_code == 400
    from portal.auth.registration import get_mode

    assert get_mode() == "roster"
    assert len(_audit("registration.mode")) == 1


GOOD_CSV = ("member_id,email,membership_type,region,career_stage\n"
            "A1,one@example.org,regular,West (US),mid\n"
            "A2,Two@Example.org,student,,\n")


def _upload(client, text: str | bytes):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return client.post_form("/admin/registration/roster",
                            {"file": (io.BytesIO(raw), "roster.csv")},
                            content_type="multipart/form-data")


def test_roster_import_replaces_the_roster(client, admin, login):
    existing = make_user(email="two@example.org")
    login(admin)
    resp = _upload(client, GOOD_CSV)
    assert resp.status_code == 302
    rows = db.session.scalars(sa.select(RosterEntry).order_by(RosterEntry.member_number)).all()
    assert [(r.member_number, r.email, r.membership_type, r.region) for r in rows] == [
        ("A1", "one@example.org", "regular", "west"), ("A2", "two@example.org", "student", None)]
    db.session.refresh(existing)
    assert existing.member_number == "A2" and existing.membership_type == "student"
    assert len(_audit("roster.import")) == 1
    # Replacing asks first, shows what changes and keeps the file for the answer.
    replacement = "member_id,email,membership_type\nB1,three@example.org,retired\n"
    resp = _upload(client, replacement)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Replace the roster?" in html
    assert "1 would be added, 2 removed and" in html and "the file lists 1." in html
    assert len(db.session.scalars(sa.select(RosterEntry.email)).all()) == 2
    # Not ticked: still asks, nothing replaced.
    resp = client.post_form("/admin/registration/roster", {"pending": replacement})
    assert resp.status_code == 200 and "Replace the roster?" in resp.get_data(as_text=True)
    assert len(db.session.scalars(sa.select(RosterEntry.email)).all()) == 2
    resp = client.post_form("/admin/registration/roster",
                            {"pending": replacement, "confirm": "y"})
    assert resp.status_code == 302
    assert db.session.scalars(sa.select(RosterEntry.email)).all() == ["three@example.org"]


def test_roster_import_is_all_or_nothing_with_line_numbers(client, admin, login):
    login(admin)
    _upload(client, GOOD_CSV)
    bad = ("member_id,email,membership_type,region\n"
           "C1,ok@example.org,regular,west\n"
           ",noid@example.org,regular,\n"
           "C3,not-an-email,regular,\n"
           "C4,c4@example.org,platinum,\n"
           "C1,dup@example.org,regular,\n"
           "C6,ok@example.org,regular,mars\n"
           "C7,short@example.org\n")
    resp = _upload(client, bad)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    for line in ("line 3: member_id is empty", "line 4: &#39;not-an-email&#39;",
                 "line 5: membership_type &#39;platinum&#39;",
                 "line 6: member_id &#39;C1&#39; also",
                 "line 7: e-mail &#39;ok@example.org&#39; also appears on line 2",
                 "line 7: region &#39;mars&#39;", "line 8: expected 4 values"):
        assert line in html, line
    assert "Nothing was imported" in html
    assert sorted(db.session.scalars(sa.select(RosterEntry.email))) == [
        "one@example.org", "two@example.org"]


def test_roster_rejects_bad_headers_and_non_utf8(client, admin, login):
    login(admin)
    resp = _upload(client, "id,mail\n1,a@example.org\n")
    assert resp.status_code == 400 and "line 1: missing column" in resp.get_data(as_text=True)
    resp = _upload(client, "member_id,email,membership_type\nX,é@example.org,regular\n"
                   .encode("latin-1"))
    assert resp.status_code == 400 and "not UTF-8" in resp.get_data(as_text=True)
    assert client.post_form("/admin/registration/roster", {}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RosterEntry)) == 0


def test_invitations(client, admin, member, login):
    login(admin)
    assert client.post_form("/admin/registration/invitations",
                            {"email": "Guest@Example.org"}).status_code == 302
    message = mail_outbox()[-1]
    assert message.to == "guest@example.org" and "/auth/register?invite=" in message.body
    assert client.post_form("/admin/registration/invitations",
                            {"email": member.email}).status_code == 409
    assert client.post_form("/admin/registration/invitations",
                            {"email": "<script>"}).status_code == 400
    invitation = db.session.scalar(sa.select(Invitation))
    assert client.post_form(f"/admin/registration/invitations/{invitation.id}/revoke"
                            ).status_code == 302
    db.session.refresh(invitation)
    assert invitation.status == "revoked"
    assert len(_audit("invitation.create")) == 1 and len(_audit("invitation.revoke")) == 1
    assert "guest@example.org" in client.get("/admin/registration").get_data(as_text=True)


def test_audit_log_page_filters(client, admin, member, login):
    login(admin)
    client.post_form(f"/admin/users/{member.id}/role", {"role": "leader"})
    client.post_form(f"/admin/users/{member.id}/deactivate")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "user.role" in html and "user.deactivate" in html and admin.email in html
    html = client.get("/admin/audit?action=user.role").get_data(as_text=True)
    assert "<td>user.role</td>" in html and "<td>user.deactivate</td>" not in html
    html = client.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert "No events match" in html
    html = client.get("/admin/audit?date_from=2000-01-01&date_to=2000-01-02")
    assert "No events match" in html.get_data(as_text=True)
    assert client.get("/admin/audit?date_from=yesterday").status_code == 400


def test_deactivated_users_cannot_sign_in(client, admin, member, login):
    login(admin)
    client.post_form(f"/admin/users/{member.id}/deactivate")
    client.post_form("/auth/logout")
    resp = client.post_form("/auth/login", {"email": member.email, "password": PASSWORD})
    assert resp.status_code == 401
    assert db.session.get(User, member.id).active is False
