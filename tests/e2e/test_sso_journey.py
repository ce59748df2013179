"""Single sign-on in a real browser: a member signs in with one click at the local
OpenID Connect provider, sees their verified segments and signs out at both ends; a
lapsed member gets the clear failure page; the owner of an existing account links it;
the admin's provider pages. axe-core and reflow on every page of the journey."""

from __future__ import annotations

import json
import re

import pytest

from portal import create_app
from portal.extensions import db
from portal.sso import services
from tests import factories
from tests.e2e.conftest import LiveServer, check_page, screenshot, sign_in, sign_out
from tests.sso_support import MAPPING, free_port, needs_node
from tools.sso_idp import LocalProvider

pytestmark = needs_node
SECRET_ENV = "SSO_E2E_CLIENT_SECRET"


@pytest.fixture(scope="module")
def sso_site(tmp_path_factory):
    """A portal of its own (BASE_URL must be its address: the provider sends the browser
    back there) and the provider, registered with each other."""
    import os

    from flask_migrate import upgrade

    path = tmp_path_factory.mktemp("e2e-sso") / "portal.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "RATELIMIT_ENABLED": False})
    server = LiveServer(app)
    app.config["BASE_URL"] = server.url
    idp = LocalProvider(port=free_port(), redirect_uris=[f"{server.url}/sso/assoc/callback"],
                       post_logout_redirect_uris=[f"{server.url}/sso/signed-out"])
    idp.accounts["M-1003"] = {"password": "owner-pass", "claims": {
        "email": "owner@example.org", "email_verified": True, "name": "Olu Owner",
        "membership_status": "active", "membership_type": "Student"}}
    idp.start()
    os.environ[SECRET_ENV] = idp.client_secret
    with app.app_context():
        upgrade(revision="heads")
        factories.load_plan()
        factories.make_user(role="admin", email="admin@example.org", display_name="Ada Admin")
        factories.make_user(role="member", email="owner@example.org", display_name="Owner")
        services.save_provider(None, services.ProviderInput(
            slug="assoc", name="ALA member records", button_label="Sign in with ALA",
            discovery_url=idp.discovery_url, client_id=idp.client_id,
            secret_ref=f"env:{SECRET_ENV}", scopes="openid email profile membership",
            attribute_mapping=json.dumps(MAPPING), allow_password=True, enabled=True))
        db.session.commit()
        db.session.remove()
    server.start()
    yield server, idp
    server.stop()
    idp.stop()
    os.environ.pop(SECRET_ENV, None)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def sso_page(browser, sso_site):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(10_000)
    page.base = sso_site[0].url  # type: ignore[attr-defined]
    yield page
    ctx.close()


def at_provider(page, login: str, password: str) -> None:
    page.get_by_label("Member login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_member_signs_in_with_one_click_and_sees_verified_segments(sso_page, sso_site):
    page = sso_page
    page.goto(page.base + "/auth/login")
    check_page(page, "sso login", shots=True)
    screenshot(page, "sso-login")
    # The keyboard: the association's button is the first control after the navigation.
    button = page.get_by_role("link", name="Sign in with ALA")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{sso_site[1].issuer}/**")
    at_provider(page, "M-1001", "member-pass")
    assert page.url == page.base + "/"
    assert "Welcome, Sam Okafor." in page.content()
    page.goto(page.base + "/account")
    badges = page.locator(".verified-segment")
    assert badges.count() == 3
    assert "Mid-career" in badges.nth(0).inner_text()
    assert page.locator("input[name=career_stage]").count() == 0
    check_page(page, "sso account", shots=True)
    screenshot(page, "sso-account")
    sign_out(page)  # the portal's page, then the provider's own sign-out page
    page.wait_for_url(f"{sso_site[1].issuer}/**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(page.base + "/sso/signed-out")
    check_page(page, "sso signed out")
    page.goto(page.base + "/account")
    assert page.url.startswith(page.base + "/auth/login")


def test_a_lapsed_member_gets_one_clear_page(sso_page, sso_site):
    page = sso_page
    page.goto(page.base + "/auth/login")
    page.get_by_role("link", name="Sign in with ALA").click()
    at_provider(page, "M-1002", "lapsed-pass")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign-in did not work"
    assert page.get_by_role("link", name="Sign in with your portal password").is_visible()
    check_page(page, "sso failed", shots=True)
    screenshot(page, "sso-failed")


def test_the_owner_of_an_existing_account_links_it(sso_page, sso_site):
    page = sso_page
    page.goto(page.base + "/auth/login")
    page.get_by_role("link", name="Sign in with ALA").click()
    at_provider(page, "M-1003", "owner-pass")
    assert page.url == page.base + "/sso/link"
    check_page(page, "sso link", shots=True)
    screenshot(page, "sso-link")
    page.get_by_role("button", name="Link and sign in").click()  # nothing typed
    page.wait_for_load_state()
    check_page(page, "sso link with an error")
    page.get_by_label("Your portal password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Link and sign in").click()
    page.wait_for_load_state()
    assert "is now linked to your account" in page.content()
    page.goto(page.base + "/account")
    assert page.locator(".verified-segment").count() == 1  # membership type: Student


def test_the_admin_provider_pages(sso_page, sso_site):
    page = sso_page
    sign_in(page, "admin@example.org")
    page.goto(page.base + "/admin/sso")
    check_page(page, "admin sso list")
    page.get_by_role("link", name="Add a provider").click()
    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_label("Short name (in addresses)").fill("broken")
    page.get_by_label("Button label").fill("Sign in")
    page.get_by_label("Discovery or metadata URL").fill("http://127.0.0.1:9/.well-known/openid-configuration")
    page.get_by_label("Client ID").fill("portal")
    page.get_by_role("button", name="Save provider").click()
    page.wait_for_load_state()
    assert "could not be fetched" in page.content()
    check_page(page, "admin sso refused")
    screenshot(page, "sso-admin-refused")
    sign_out(page)




@pytest.fixture(scope="module")
def saml_site(tmp_path_factory):
    """A portal and Debian's SimpleSAMLphp as its SAML identity provider."""
    from flask_migrate import upgrade

    from tools.saml_idp import LocalSamlProvider, simplesamlphp_available

    if not simplesamlphp_available():
        pytest.skip("needs Debian's simplesamlphp and php-cli (see .ci/run)")
    path = tmp_path_factory.mktemp("e2e-saml") / "portal.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "RATELIMIT_ENABLED": False})
    server = LiveServer(app)
    app.config["BASE_URL"] = server.url
    idp = LocalSamlProvider(port=free_port(), sp_entity_id=f"{server.url}/sso/saml/metadata",
                            acs_url=f"{server.url}/sso/saml/acs",
                            slo_url=f"{server.url}/sso/saml/slo", host="localhost").start()
    with app.app_context():
        upgrade(revision="heads")
        factories.load_plan()
        services.save_provider(None, services.ProviderInput(
            slug="saml", name="ALA member records", button_label="Sign in with ALA (SAML)",
            discovery_url=idp.metadata_url, client_id="", secret_ref="", scopes="openid",
            attribute_mapping=json.dumps(MAPPING), allow_password=True, enabled=True,
            protocol="saml"))
        db.session.commit()
        db.session.remove()
    server.start()
    yield server
    server.stop()
    idp.stop()
    with app.app_context():
        db.engine.dispose()


def _saml_sign_in(page) -> None:
    page.get_by_label("Username").fill("M-1001")
    page.get_by_label("Password").fill("member-pass")
    page.get_by_role("button", name=re.compile("Login", re.I)).click()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_member_signs_in_with_saml(browser, saml_site, javascript):
    """The IdP's cross-site POST carries no Lax session cookie: the portal's page carries
    the answer on in a same-site POST, by itself with JavaScript, with a button without."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                              java_script_enabled=javascript)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.goto(saml_site.url + "/auth/login")
        page.get_by_role("link", name="Sign in with ALA (SAML)").click()
        _saml_sign_in(page)
        if not javascript:
            page.get_by_role("button", name=re.compile("Submit", re.I)).click()  # at the IdP
            page.wait_for_url(saml_site.url + "/sso/saml/acs")
            assert page.get_by_role("heading", level=1).inner_text() == "Continue signing in"
            screenshot(page, "sso-saml-continue")
            page.get_by_role("button", name="Continue").click()
        else:
            # The IdP's page posts by itself; then the portal's continuation page does.
            page.wait_for_url(saml_site.url + "/")
        page.wait_for_url(saml_site.url + "/")
        assert "Welcome, Sam Okafor." in page.content()
        if javascript:
            page.goto(saml_site.url + "/account")
            assert page.locator(".verified-segment").count() == 3
            check_page(page, "saml account")
    finally:
        ctx.close()
