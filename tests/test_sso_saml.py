"""Single sign-on with SAML 2.0 against a real identity provider (Debian's SimpleSAMLphp
on 127.0.0.1): SP metadata, the journey, signed assertions required, tampered, expired,
replayed and misdirected answers, a provider that is down, sign-out, and the admin's
save-time checks."""

from __future__ import annotations

import base64
import html
import logging
import re
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ExternalIdentity, IdentityProvider, SamlAssertion, User
from portal.sso import saml, services
from tests.sso_support import PORTAL, free_port, mapping_json, portal_path
from tools.saml_idp import LocalSamlProvider, simplesamlphp_available

pytestmark = pytest.mark.skipif(
    not simplesamlphp_available() or saml.shutil.which("xmlsec1") is None,
    reason="needs Debian's simplesamlphp, php-cli, php-xml and xmlsec1 (see .ci/run)")

INPUT_RE = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def _idp(slug: str, **kw) -> LocalSamlProvider:
    acs = kw.pop("acs", f"{PORTAL}/sso/{slug}/acs")
    return LocalSamlProvider(port=free_port(), sp_entity_id=f"{PORTAL}/sso/{slug}/metadata",
                             acs_url=acs, slo_url=f"{PORTAL}/sso/{slug}/slo", **kw)


@pytest.fixture(scope="module")
def idps():
    started = {
        "saml": _idp("saml"),
        "unsigned": _idp("unsigned", sign_assertion=False),
        "elsewhere": _idp("elsewhere", acs=f"{PORTAL}/sso/other/acs"),
        "short": _idp("short", assertion_lifetime=1),
    }
    try:
        for idp in started.values():
            idp.start()
        yield started
    finally:
        for idp in started.values():
            idp.stop()


@pytest.fixture
def app_config():
    return {"BASE_URL": PORTAL}


@pytest.fixture(autouse=True)
def _fresh(idps):
    saml.clear_caches()


def add_provider(idp, slug="saml", **changes):
    data = {"slug": slug, "name": "Member records", "button_label": "Sign in with ALA",
            "discovery_url": idp.metadata_url, "client_id": "", "secret_ref": "",
            "scopes": "openid", "attribute_mapping": mapping_json(), "allow_password": True,
            "enabled": True, "protocol": "saml"}
    data.update(changes)
    saved = services.save_provider(None, services.ProviderInput(**data))
    db.session.commit()
    return saved


@pytest.fixture
def provider(app, idps):
    return add_provider(idps["saml"])


class Browser:
    """The person's browser at the identity provider (its own cookies)."""

    def __init__(self):
        self.session = requests.Session()

    def sign_in(self, url: str, login: str, password: str) -> tuple[str, str]:
        """Sign in at the IdP; return (ACS URL, SAMLResponse) of its auto-posting form."""
        page = self.session.get(url, timeout=10)
        if 'name="SAMLResponse"' not in page.text:
            fields = dict(INPUT_RE.findall(page.text))
            fields.update({"username": login, "password": password})
            page = self.session.post(page.url, data=fields, timeout=10)
        action = re.search(r'<form[^>]*action="([^"]*)"', page.text)
        fields = dict(INPUT_RE.findall(page.text))
        assert action and "SAMLResponse" in fields, page.text[:800]
        return html.unescape(action.group(1)), html.unescape(fields["SAMLResponse"])


def start(client, slug="saml"):
    resp = client.get(f"/sso/{slug}/start")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"]


def journey(client, login="M-1001", password="member-pass", slug="saml", browser=None):
    browser = browser or Browser()
    acs, answer = browser.sign_in(start(client, slug), login, password)
    assert acs == f"{PORTAL}/sso/{slug}/acs"
    return client.post(portal_path(acs), data={"SAMLResponse": answer}), answer


def signed_in_as(client):
    page = client.get("/account")
    if page.status_code != 200:
        return None
    return page.get_data(as_text=True).split("Signed in as <strong>")[1].split("</strong>")[0]


def decoded(answer: str) -> str:
    return base64.b64decode(answer).decode()


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def test_sp_metadata_is_published_at_a_url(client, provider):
    resp = client.get("/sso/saml/metadata")
    assert resp.status_code == 200 and resp.mimetype == "application/samlmetadata+xml"
    text = resp.get_data(as_text=True)
    assert f'entityID="{PORTAL}/sso/saml/metadata"' in text
    assert f'Location="{PORTAL}/sso/saml/acs"' in text
    assert 'WantAssertionsSigned="true"' in text
    assert client.get("/sso/nope/metadata").status_code == 404


def test_the_journey_creates_the_account_with_segments(client, provider):
    resp, _ = journey(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    user = db.session.scalar(sa.select(User).where(User.email == "sso-member@example.org"))
    assert (user.membership_type, user.career_stage, user.library_type) == (
        "regular", "mid", "public")
    assert db.session.scalar(sa.select(ExternalIdentity.subject)) == "M-1001"
    assert signed_in_as(client) == "sso-member@example.org"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SamlAssertion)) == 1


def test_a_lapsed_member_is_turned_away(client, provider):
    resp, _ = journey(client, "M-1002", "lapsed-pass")
    assert resp.status_code == 403 and b"do not show you as a member" in resp.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_an_unsigned_assertion_is_refused(client, app, idps):
    add_provider(idps["unsigned"], slug="unsigned")
    resp, answer = journey(client, slug="unsigned")
    assert "<ds:Signature" in decoded(answer)  # the response is signed, the assertion not
    assert resp.status_code == 400 and b"failed the portal&#39;s checks" in resp.data
    assert signed_in_as(client) is None


def test_a_tampered_answer_is_refused(client, provider):
    browser = Browser()
    acs, answer = browser.sign_in(start(client), "M-1001", "member-pass")
    xml = decoded(answer)
    assert ">mid<" in xml
    resp = client.post(portal_path(acs), data={"SAMLResponse": encoded(
        xml.replace(">mid<", ">senior<"))})
    assert resp.status_code == 400 and b"failed the portal&#39;s checks" in resp.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_replayed_answer_is_refused(client, provider):
    browser = Browser()
    url = start(client)
    with client.session_transaction() as sess:
        flow = dict(sess["sso_flow"])
    acs, answer = browser.sign_in(url, "M-1001", "member-pass")
    assert client.post(portal_path(acs), data={"SAMLResponse": answer}).status_code == 302
    client.post_form("/auth/logout")
    # The same answer again, even with the very request it answered put back in the session.
    with client.session_transaction() as sess:
        sess["sso_flow"] = flow
    resp = client.post(portal_path(acs), data={"SAMLResponse": answer})
    assert resp.status_code == 400 and b"already used" in resp.data
    # And in a new sign-in: it does not answer that one.
    start(client)
    resp = client.post(portal_path(acs), data={"SAMLResponse": answer})
    assert resp.status_code == 400
    assert signed_in_as(client) is None


def test_an_expired_assertion_is_refused(client, app, idps):
    app.config["SSO_CLOCK_SKEW_SECONDS"] = 0
    add_provider(idps["short"], slug="short")
    browser = Browser()
    acs, answer = browser.sign_in(start(client, "short"), "M-1001", "member-pass")
    time.sleep(2.5)  # the IdP's assertions live one second
    resp = client.post(portal_path(acs), data={"SAMLResponse": answer})
    assert resp.status_code == 400 and b"failed the portal&#39;s checks" in resp.data


def test_an_answer_for_another_recipient_is_refused(client, app, idps):
    add_provider(idps["elsewhere"], slug="elsewhere")
    browser = Browser()
    acs, answer = browser.sign_in(start(client, "elsewhere"), "M-1001", "member-pass")
    assert acs == f"{PORTAL}/sso/other/acs"
    resp = client.post("/sso/elsewhere/acs", data={"SAMLResponse": answer})
    assert resp.status_code == 400 and b"failed the portal&#39;s checks" in resp.data


def test_an_answer_for_another_audience_is_refused(client, provider, idps):
    browser = Browser()
    url = start(client)
    request_id = client.get_cookie("session") and None
    with client.session_transaction() as sess:
        request_id = sess["sso_flow"]["saml_request"]
    _, answer = browser.sign_in(url, "M-1001", "member-pass")
    ends = saml.Endpoints(entity_id=f"{PORTAL}/another-service", acs=f"{PORTAL}/sso/saml/acs",
                          slo=f"{PORTAL}/sso/saml/slo")
    with pytest.raises(saml.TokenRejected):
        saml.finish(idps["saml"].metadata_url, ends, answer, request_id, provider.id)
    right = saml.Endpoints(entity_id=f"{PORTAL}/sso/saml/metadata", acs=ends.acs, slo=ends.slo)
    assert saml.finish(idps["saml"].metadata_url, right, answer, request_id,
                       provider.id).subject == "M-1001"


def test_the_cross_site_post_continues_in_a_same_site_post(app, provider):
    """A real browser sends no Lax session cookie with the IdP's cross-site POST."""
    mine, cookieless = app.test_client(), app.test_client()
    acs, answer = Browser().sign_in(start(mine), "M-1001", "member-pass")
    page = cookieless.post(portal_path(acs), data={"SAMLResponse": answer})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'action="/sso/saml/acs/continue"' in text and "data-autosubmit" in text
    assert cookieless.get_cookie("session") is None  # it did not replace the real session
    assert cookieless.post("/sso/saml/acs/continue",
                           data={"SAMLResponse": answer}).status_code == 400
    resp = mine.post("/sso/saml/acs/continue", data={"SAMLResponse": answer})
    assert resp.status_code == 302 and signed_in_as(mine) == "sso-member@example.org"


def test_unsolicited_answers_are_refused(client, provider, idps):
    idp = idps["saml"]
    browser = Browser()
    acs, answer = browser.sign_in(
        f"{idp.base}/saml2/idp/SSOService.php?spentityid={PORTAL}/sso/saml/metadata",
        "M-1001", "member-pass")
    start(client)  # a sign-in is under way, but this answer is not to it
    resp = client.post(portal_path(acs), data={"SAMLResponse": answer})
    assert resp.status_code == 400
    assert signed_in_as(client) is None


def test_a_provider_that_is_down(client, app):
    db.session.add(IdentityProvider(
        slug="gone", name="Member records", button_label="Sign in", protocol="saml",
        discovery_url="http://127.0.0.1:9/metadata", client_id="", secret_ref="",
        attribute_mapping=mapping_json()))
    db.session.commit()
    resp = client.get("/sso/gone/start")
    assert resp.status_code == 502 and b"cannot be reached just now" in resp.data
    assert b"Sign in with your portal password" in resp.data


def test_sign_out_ends_the_session_and_asks_the_idp_to_log_out(client, provider, idps):
    browser = Browser()
    journey(client, browser=browser)
    resp = client.post_form("/auth/logout")
    assert resp.status_code == 200
    url = html.unescape(re.search(r'content="0;url=([^"]+)"', resp.get_data(as_text=True))
                        .group(1))
    assert url.startswith(f"{idps['saml'].base}/saml2/idp/SingleLogoutService.php?")
    assert "SAMLRequest" in parse_qs(urlsplit(url).query)
    assert signed_in_as(client) is None
    target = url
    for _ in range(5):  # the IdP ends its session, then sends its LogoutResponse back
        back = browser.session.get(target, allow_redirects=False, timeout=10)
        assert back.is_redirect, back.text[:500]
        target = urljoin(target, back.headers["Location"])
        if target.startswith(PORTAL):
            break
    assert target.startswith(f"{PORTAL}/sso/saml/slo?SAMLResponse=")
    assert client.get(portal_path(target)).headers["Location"] == "/sso/signed-out"


def test_nothing_from_the_provider_but_the_subject_reaches_the_logs(client, provider, caplog):
    caplog.set_level(logging.DEBUG)
    journey(client)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sub=M-1001 outcome=created" in text
    for leaked in ("sso-member@example.org", "Sam Okafor", "Public Library", "SAMLResponse",
                   "membership_status"):
        assert leaked not in text, leaked


@pytest.mark.parametrize(("changes", "reason"), [
    ({"discovery_url": "http://127.0.0.1:9/metadata"}, "could not be fetched"),
    ({"secret_ref": "env:SSO_X"}, "needs no client secret"),
    ({"attribute_mapping": mapping_json(segments={"shoe_size": {"claim": "x"}})},
     "not a segment of the portal"),
])
def test_a_misconfigured_saml_provider_is_refused(app, idps, changes, reason):
    with pytest.raises(services.PortalError, match=reason):
        add_provider(idps["saml"], **changes)


def test_metadata_that_is_not_saml_or_has_an_expired_certificate_is_refused(app, idps):
    with pytest.raises(services.PortalError, match="not XML|not one SAML entity"):
        add_provider(idps["saml"], discovery_url=f"{idps['saml'].base}/resources/default.css")
    expired = _idp("expired", cert_valid_days=-1).start()
    try:
        with pytest.raises(services.PortalError, match="expired"):
            add_provider(expired, slug="expired")
    finally:
        expired.stop()
