"""Single sign-on with OpenID Connect against a real provider (oidc-provider on 127.0.0.1):
the full journey, just-in-time accounts, linking, segments, roles, tampered, expired and
misdirected tokens, a provider that is down, sign-out and session security."""

from __future__ import annotations

import html
import json
import logging
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from joserfc import jwt

from portal.extensions import db
from portal.mail import outbox
from portal.models import (
    AuditEvent,
    ExternalIdentity,
    IdentityProvider,
    SsoPendingLink,
    User,
    VerifiedSegment,
)
from portal.sso import oidc, services
from portal.timeutil import now_utc
from tests import factories
from tests.sso_support import (
    PORTAL,
    mapping_json,
    needs_node,
    new_provider,
    portal_path,
    sign_in_at_provider,
)
from tools.sso_idp import new_signing_key

pytestmark = needs_node

SECRET_ENV = "SSO_TEST_CLIENT_SECRET"
OTHER_CLIENT = {"client_id": "other-app", "client_secret": "other-app-secret-for-tests",
                "redirect_uris": [f"{PORTAL}/other/callback"], "grant_types":
                ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic"}


@pytest.fixture(scope="module")
def idp():
    provider = new_provider(slugs=("assoc", "board"))
    provider.extra_clients = [OTHER_CLIENT]
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def app_config(tmp_path):
    return {"BASE_URL": PORTAL, "SSO_SECRETS_DIR": str(tmp_path)}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, idp):
    monkeypatch.setenv(SECRET_ENV, idp.client_secret)
    oidc.clear_caches()
    yield
    oidc.clear_caches()


def provider_input(idp, **changes) -> services.ProviderInput:
    data = {"slug": "assoc", "name": "Association", "button_label": "Sign in with ALA",
            "discovery_url": idp.discovery_url, "client_id": idp.client_id,
            "secret_ref": f"env:{SECRET_ENV}", "scopes": "openid email profile membership",
            "attribute_mapping": mapping_json(), "allow_password": True, "enabled": True}
    data.update(changes)
    return services.ProviderInput(**data)


@pytest.fixture
def provider(app, idp):
    saved = services.save_provider(None, provider_input(idp))
    db.session.commit()
    return saved


def journey(client, login="M-1001", password="member-pass", slug="assoc"):
    resp = client.get(f"/sso/{slug}/start")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    back = sign_in_at_provider(resp.headers["Location"], login, password)
    return client.get(portal_path(back))


def signed_in_as(client) -> str | None:
    page = client.get("/account")
    if page.status_code != 200:
        return None
    text = page.get_data(as_text=True)
    return text.split("Signed in as <strong>")[1].split("</strong>")[0]


# The journey -----------------------------------------------------------------------------

def test_first_sign_in_creates_the_account_with_segments_from_the_records(client, provider,
                                                                          idp):
    page = client.get("/auth/login")
    assert b"Sign in with ALA" in page.data  # the button, above the password form
    resp = journey(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    assert user is not None and user.password_hash is None and user.is_verified
    assert user.display_name == "Sam Okafor" and user.role == "member"
    assert (user.membership_type, user.career_stage, user.library_type) == (
        "regular", "mid", "public")
    assert {v.segment_key for v in db.session.scalars(sa.select(VerifiedSegment))} == {
        "membership_type", "career_stage", "library_type"}
    identity = db.session.scalar(sa.select(ExternalIdentity))
    assert (identity.subject, identity.user_id) == ("M-1001", user.id)
    assert signed_in_as(client) == "sso-member@example.org"
    profile = client.get("/account").get_data(as_text=True)
    assert profile.count("From your association's records") == 3
    assert 'name="career_stage"' not in profile and 'name="region"' in profile


def test_members_cannot_edit_segments_from_the_records(client, provider):
    journey(client)
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    resp = client.post_form("/account", {"display_name": "Sam", "career_stage": "early",
                                         "region": "west"})
    assert resp.status_code == 400
    assert "comes from your association" in resp.get_data(as_text=True)
    db.session.refresh(user)
    assert user.career_stage == "mid" and user.region is None
    resp = client.post_form("/account", {"display_name": "Sam", "region": "west"})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.region, user.career_stage) == ("Sam", "west", "mid")


def test_segments_follow_the_records_at_every_sign_in_across_a_key_rotation(client, provider,
                                                                           idp, login):
    journey(client)
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    client.post_form("/auth/logout")
    old_accounts, old_keys = idp.accounts, idp.keys
    idp.accounts = json.loads(json.dumps(old_accounts))
    idp.accounts["M-1001"]["claims"].update(membership_type="Student", career_stage="bogus")
    # The provider rotates: a new signing key the portal has not seen (its cache holds key-1).
    idp.keys = [new_signing_key("key-2")]
    try:
        idp.restart()
        resp = journey(client)
        assert resp.status_code == 302 and resp.headers["Location"] == "/"
    finally:
        idp.accounts, idp.keys = old_accounts, old_keys
        idp.restart()
    db.session.refresh(user)
    assert user.membership_type == "student"
    # An unmapped value is not from the records any more: the member's answer is theirs again.
    keys = set(db.session.scalars(sa.select(VerifiedSegment.segment_key)
                                  .where(VerifiedSegment.user_id == user.id)))
    assert keys == {"membership_type", "library_type"}


def test_not_eligible_gets_a_clear_page_and_no_account(client, provider):
    resp = journey(client, "M-1002", "lapsed-pass")
    assert resp.status_code == 403
    text = resp.get_data(as_text=True)
    assert "Sign-in did not work" in text and "do not show you as a member" in text
    assert "Sign in with your portal password" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert signed_in_as(client) is None


# Existing accounts: proof first ------------------------------------------------------------

def test_the_email_claim_alone_never_takes_over_an_account(client, provider):
    owner = factories.make_user(email="sso-member@example.org", display_name="Owner")
    resp = journey(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/sso/link"
    assert signed_in_as(client) is None  # not signed in: proof comes first
    with client.session_transaction() as sess:
        # The readable session cookie holds no link token (it would link without proof).
        assert set(sess["sso_link"]) == {"id", "next"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalIdentity)) == 0
    page = client.get("/sso/link")
    assert page.status_code == 200 and b"Link your association sign-in" in page.data
    resp = client.post_form("/sso/link", {"password": "not the password at all"})
    assert resp.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalIdentity)) == 0
    resp = client.post_form("/sso/link", {"password": factories.PASSWORD})
    assert resp.status_code == 302
    identity = db.session.scalar(sa.select(ExternalIdentity))
    assert identity.user_id == owner.id
    db.session.refresh(owner)
    assert owner.membership_type == "regular"
    assert signed_in_as(client) == "sso-member@example.org"
    # Linked now: the next sign-in goes straight in.
    client.post_form("/auth/logout")
    resp = journey(client)
    assert resp.headers["Location"] == "/"


def test_linking_by_a_link_sent_to_the_address(client, provider):
    owner = factories.make_user(email="sso-member@example.org")
    journey(client)
    resp = client.post_form("/sso/link", {"mail-csrf_token": client.csrf_token(),
                                          "action": "mail"})
    assert resp.status_code == 302 and "/auth/check-inbox" in resp.headers["Location"]
    message = outbox()[-1]
    assert message.to == owner.email
    link = next(w for w in message.body.split() if "/sso/link/" in w)
    path = portal_path(link)
    assert client.get(path).status_code == 200  # a GET shows a button, links nothing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalIdentity)) == 0
    resp = client.post_form(path)
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(ExternalIdentity.user_id)) == owner.id
    assert signed_in_as(client) == owner.email
    # The link works once.
    client.post_form("/auth/logout")
    assert client.post_form(path).status_code == 400


def test_a_pending_link_expires(client, provider):
    factories.make_user(email="sso-member@example.org")
    journey(client)
    db.session.execute(sa.update(SsoPendingLink).values(
        expires_at=now_utc() - timedelta(seconds=1)))
    db.session.commit()
    resp = client.post_form("/sso/link", {"password": factories.PASSWORD})
    assert resp.status_code == 400 and b"no sign-in waiting" in resp.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalIdentity)) == 0


def test_password_sign_in_can_be_switched_off_for_a_providers_members(client, provider, idp):
    journey(client)
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    from portal.auth.passwords import hash_password
    user.password_hash = hash_password(factories.PASSWORD)
    provider.allow_password = False
    db.session.commit()
    client.post_form("/auth/logout")
    resp = client.post_form("/auth/login", {"email": user.email,
                                            "password": factories.PASSWORD})
    assert resp.status_code == 403 and b"Your association signs you in" in resp.data
    assert signed_in_as(client) is None


# Roles only by explicit mapping ----------------------------------------------------------

def test_roles_come_only_from_an_explicit_group_mapping_and_are_audited(client, app, idp,
                                                                      admin):
    idp.accounts["M-1001"]["claims"]["groups"] = ["board"]
    try:
        idp.restart()
        saved = services.save_provider(admin, provider_input(idp))
        db.session.commit()
        journey(client)
        user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
        assert user.role == "member"  # a group without a mapping grants nothing
        client.post_form("/auth/logout")
        roles = {"claim": "groups", "values": {"board": "leader"}}
        services.save_provider(admin, provider_input(idp, attribute_mapping=mapping_json(
            roles=roles)), saved)
        db.session.commit()
        changed = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "sso.role_mapping_changed"))
        assert changed is not None and changed.actor_id == admin.id and "leader" in changed.detail
        journey(client)
        db.session.refresh(user)
        assert user.role == "leader"
        assert db.session.scalar(sa.select(AuditEvent.action).where(
            AuditEvent.action == "sso.role_granted")) is not None
        client.post_form("/auth/logout")
        idp.accounts["M-1001"]["claims"]["groups"] = []
        idp.restart()
        journey(client)
        db.session.refresh(user)
        assert user.role == "member"
        assert db.session.scalar(sa.select(AuditEvent.action).where(
            AuditEvent.action == "sso.role_revoked")) is not None
    finally:
        idp.accounts["M-1001"]["claims"]["groups"] = []
        idp.restart()


def test_a_mapping_cannot_grant_roles_other_than_leader_or_admin(app, idp):
    bad = mapping_json(roles={"claim": "groups", "values": {"board": "owner"}})
    with pytest.raises(services.PortalError, match="only grant"):
        services.save_provider(None, provider_input(idp, attribute_mapping=bad))


# Tokens ------------------------------------------------------------------------------------

def _real_token(idp, client_id="portal", secret=None, redirect=f"{PORTAL}/sso/assoc/callback"):
    meta = oidc.fetch_metadata(idp.discovery_url)
    url, flow = oidc.start(meta, client_id, "openid email", redirect, 1, "/")
    back = sign_in_at_provider(url, "M-1001", "member-pass")
    code = parse_qs(urlsplit(back).query)["code"][0]
    result = oidc.finish(meta, client_id, secret or idp.client_secret, "openid email",
                         redirect, flow, code)
    return meta, flow, result, code


def _claims(idp, expected_nonce, **changes):
    now = int(time.time())
    claims = {"iss": idp.issuer, "sub": "M-1001", "aud": "portal", "iat": now,
              "exp": now + 300, "nonce": expected_nonce}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(idp, claims, alg="RS256", kid="key-1", key=None):
    return jwt.encode({"alg": alg, "kid": kid}, claims, key or idp.keys[0])


def test_a_real_token_validates_and_a_tampered_one_does_not(app, idp):
    meta, flow, result, _ = _real_token(idp)
    assert result.claims["sub"] == "M-1001" and result.claims["email"] == "sso-member@example.org"
    head, payload, sig = result.id_token.split(".")
    import base64
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["sub"] = "M-9999"
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    with pytest.raises(oidc.TokenRejected, match="signature"):
        oidc.validate_id_token(f"{head}.{forged}.{sig}", meta, "portal", flow.nonce)
    with pytest.raises(oidc.TokenRejected, match="signature"):
        oidc.validate_id_token(f"{head}.{payload}.{sig[:-4]}AAAA", meta, "portal", flow.nonce)


def test_a_code_works_once(app, idp):
    meta, flow, _, code = _real_token(idp)
    with pytest.raises(oidc.TokenRejected, match="refused"):
        oidc.finish(meta, "portal", idp.client_secret, "openid email",
                    f"{PORTAL}/sso/assoc/callback", flow, code)


def test_a_token_for_another_application_is_refused(app, idp):
    _, flow, result, _ = _real_token(idp, "other-app", OTHER_CLIENT["client_secret"],
                                     f"{PORTAL}/other/callback")
    meta = oidc.fetch_metadata(idp.discovery_url)
    assert oidc.validate_id_token(result.id_token, meta, "other-app", flow.nonce)
    with pytest.raises(oidc.TokenRejected, match="another application"):
        oidc.validate_id_token(result.id_token, meta, "portal", flow.nonce)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 1200}, "expired"),
    ({"aud": "other-app"}, "another application"),
    ({"aud": ["portal", "other-app"]}, "another application"),
    ({"iss": "http://127.0.0.1:1"}, "issued by someone else"),
    ({"nonce": "someone-elses-nonce"}, "nonce"),
    ({"nonce": None}, "nonce"),
    ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "future"),
    ({"exp": None}, "validity"),
    ({"sub": ""}, "names nobody"),
])
def test_claims_are_checked(app, idp, changes, reason):
    meta = oidc.fetch_metadata(idp.discovery_url)
    token = _sign(idp, _claims(idp, "the-nonce", **changes))
    with pytest.raises(oidc.TokenRejected, match=reason):
        oidc.validate_id_token(token, meta, "portal", "the-nonce")


def test_a_crafted_token_with_the_providers_key_and_right_claims_passes(app, idp):
    """The checks above fail for their reason, not because every crafted token fails."""
    meta = oidc.fetch_metadata(idp.discovery_url)
    claims = oidc.validate_id_token(_sign(idp, _claims(idp, "n")), meta, "portal", "n")
    assert claims["sub"] == "M-1001"


def test_unsigned_symmetric_and_unknown_keys_are_refused(app, idp):
    meta = oidc.fetch_metadata(idp.discovery_url)
    claims = _claims(idp, "n")
    import base64

    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    with pytest.raises(oidc.TokenRejected, match="not accepted"):
        oidc.validate_id_token(f"{b64({'alg': 'none'})}.{b64(claims)}.", meta, "portal", "n")
    from joserfc.jwk import OctKey
    secret_key = OctKey.import_key(idp.client_secret.encode() * 2)
    with pytest.raises(oidc.TokenRejected, match="not accepted"):
        oidc.validate_id_token(jwt.encode({"alg": "HS256"}, claims, secret_key), meta,
                               "portal", "n")
    stranger = new_signing_key("key-1")  # same key id, a key the provider never published
    with pytest.raises(oidc.TokenRejected, match="signature"):
        oidc.validate_id_token(_sign(idp, claims, key=stranger), meta, "portal", "n")
    with pytest.raises(oidc.TokenRejected, match="does not publish"):
        oidc.validate_id_token(_sign(idp, claims, kid="key-x", key=stranger), meta,
                               "portal", "n")


# The callback refuses what does not belong to this sign-in ---------------------------------

def test_a_callback_with_the_wrong_state_is_refused(client, provider):
    resp = client.get("/sso/assoc/start")
    back = sign_in_at_provider(resp.headers["Location"], "M-1001", "member-pass")
    path = portal_path(back).replace("state=", "state=x")
    resp = client.get(path)
    assert resp.status_code == 400 and b"does not belong to this sign-in" in resp.data
    assert signed_in_as(client) is None
    # The flow is spent: the right state afterwards does not work either.
    assert client.get(portal_path(back)).status_code == 400


def test_a_callback_without_a_started_sign_in_is_refused(client, provider):
    resp = client.get("/sso/assoc/callback?code=abc&state=def")
    assert resp.status_code == 400 and b"not started from this browser" in resp.data


def test_a_refusal_at_the_provider_shows_the_page_without_its_text(client, provider):
    resp = client.get("/sso/assoc/start")
    state = parse_qs(urlsplit(resp.headers["Location"]).query)["state"][0]
    resp = client.get(f"/sso/assoc/callback?error=access_denied&state={state}"
                      "&error_description=<script>x</script>")
    assert resp.status_code == 400 and b"did not sign you in" in resp.data
    assert b"<script>x" not in resp.data


def test_start_needs_a_known_enabled_provider_and_keeps_next_local(client, provider):
    assert client.get("/sso/nope/start").status_code == 404
    resp = client.get("/sso/assoc/start?next=/account")
    back = sign_in_at_provider(resp.headers["Location"], "M-1001", "member-pass")
    assert client.get(portal_path(back)).headers["Location"] == "/account"
    client.post_form("/auth/logout")
    resp = client.get("/sso/assoc/start?next=https://evil.example/")
    back = sign_in_at_provider(resp.headers["Location"], "M-1001", "member-pass")
    assert client.get(portal_path(back)).headers["Location"] == "/"
    provider.enabled = False
    db.session.commit()
    assert client.get("/sso/assoc/start").status_code == 404


# A provider that is down -------------------------------------------------------------------

def _down_provider(allow_password=True):
    row = IdentityProvider(slug="down", name="Member system", button_label="Sign in with ALA",
                           discovery_url="http://127.0.0.1:9/.well-known/openid-configuration",
                           client_id="portal", secret_ref="", attribute_mapping=mapping_json(),
                           allow_password=allow_password)
    db.session.add(row)
    db.session.commit()
    return row


def test_a_provider_that_is_down_gets_a_clear_page_and_passwords_still_work(client, app,
                                                                           member):
    _down_provider()
    resp = client.get("/sso/down/start")
    assert resp.status_code == 502
    text = resp.get_data(as_text=True)
    assert "Member system cannot be reached just now" in text
    assert "Sign in with your portal password" in text
    assert "Traceback" not in text
    login_page = client.get("/auth/login")
    assert login_page.status_code == 200 and b'name="password"' in login_page.data
    resp = client.post_form("/auth/login", {"email": member.email,
                                            "password": factories.PASSWORD})
    assert resp.status_code == 302


def test_no_password_offer_when_the_provider_switched_passwords_off(client, app):
    _down_provider(allow_password=False)
    resp = client.get("/sso/down/start")
    assert resp.status_code == 502
    assert b"Sign in with your portal password" not in resp.data
    assert b"contact the association" in resp.data


def test_the_provider_going_down_during_the_sign_in(client, provider, idp):
    resp = client.get("/sso/assoc/start")
    back = sign_in_at_provider(resp.headers["Location"], "M-1001", "member-pass")
    idp.stop()
    try:
        resp = client.get(portal_path(back))
        assert resp.status_code == 502 and b"cannot be reached just now" in resp.data
    finally:
        idp.start()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


# Sign-out and sessions ---------------------------------------------------------------------

def test_sign_out_ends_the_portal_session_and_the_providers(client, provider, idp):
    journey(client)
    resp = client.post_form("/auth/logout")
    assert resp.status_code == 200
    match = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', resp.get_data(as_text=True))
    target = urlsplit(html.unescape(match.group(1)))
    assert f"{target.scheme}://{target.netloc}" == idp.issuer
    assert target.path == "/session/end"
    query = parse_qs(target.query)
    assert query["post_logout_redirect_uri"] == [f"{PORTAL}/sso/signed-out"]
    assert query["id_token_hint"][0].count(".") == 2
    assert signed_in_as(client) is None
    assert client.get("/sso/signed-out").status_code == 200


def test_sso_sessions_end_when_idle_and_when_the_session_version_changes(client, provider,
                                                                        app):
    journey(client)
    with client.session_transaction() as sess:
        assert "password_at" not in sess  # no password typed: sensitive pages ask again
        sess["seen_at"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    assert signed_in_as(client) is None
    journey(client)
    assert signed_in_as(client) is not None
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    user.end_all_sessions()
    db.session.commit()
    assert signed_in_as(client) is None


# Logs ----------------------------------------------------------------------------------------

def test_nothing_from_the_provider_but_the_subject_reaches_the_logs(client, provider, caplog):
    caplog.set_level(logging.DEBUG)
    journey(client)
    client.post_form("/auth/logout")
    journey(client, "M-1002", "lapsed-pass")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sub=M-1001 outcome=created" in text and "sub=M-1002 outcome=refused" in text
    for leaked in ("sso-member@example.org", "Sam Okafor", "Public Library", "lapsed@",
                   "membership_status", "id_token", "code="):
        assert leaked not in text, leaked


# The member's own data ---------------------------------------------------------------------

def test_a_member_without_a_portal_password_can_delete_their_account(client, provider, app):
    journey(client)
    data = client.get("/account/data").get_json()["single_sign_on"]
    assert data["linked_sign_ins"][0]["subject"] == "M-1001"
    assert {"segment": "career_stage", "value": "mid"}.items() <= \
        data["segments_from_association_records"][0].items()
    page = client.get("/account/delete")
    assert page.status_code == 200 and b'name="email"' in page.data
    assert client.post_form("/account/delete", {"email": "someone@else.org"}).status_code == 400
    with client.session_transaction() as sess:
        sess["started_at"] -= app.config["RECENT_LOGIN_MINUTES"] * 60 + 5
    resp = client.post_form("/account/delete", {"email": "sso-member@example.org"})
    assert resp.status_code == 400 and b"sign in again with your association" in resp.data
    client.post_form("/auth/logout")
    journey(client)
    resp = client.post_form("/account/delete", {"email": "SSO-member@example.org"})
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExternalIdentity)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerifiedSegment)) == 0
