"""Admins set up identity providers; a provider that does not work is refused at save
time with the reason. Mapping and secret rules without a provider where none is needed."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, IdentityProvider
from portal.sso import credentials, mapping, oidc
from tests.sso_support import PORTAL, mapping_json, needs_node, new_provider
from tools.sso_idp import node_available

SECRET_ENV = "SSO_ADMIN_TEST_SECRET"


@pytest.fixture(scope="module")
def idp():
    if node_available():
        provider = new_provider(slugs=("assoc",)).start()
        yield provider
        provider.stop()
    else:
        yield None


@pytest.fixture
def app_config(tmp_path):
    return {"BASE_URL": PORTAL, "SSO_SECRETS_DIR": str(tmp_path)}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, idp):
    if idp is not None:
        monkeypatch.setenv(SECRET_ENV, idp.client_secret)
    oidc.clear_caches()


def form(idp, **changes):
    data = {"name": "ALA member system", "slug": "assoc", "button_label": "Sign in with ALA",
            "discovery_url": idp.discovery_url if idp else "https://idp.invalid/x",
            "client_id": "portal", "secret_ref": f"env:{SECRET_ENV}",
            "scopes": "openid email profile membership", "attribute_mapping": mapping_json(),
            "allow_password": "y", "enabled": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_only_admins_reach_the_provider_pages(client, login, member):
    login(member)
    assert client.get("/admin/sso").status_code == 403
    assert client.get("/admin/sso/new").status_code == 403
    assert client.post_form("/admin/sso/new", {}).status_code == 403


@needs_node
def test_an_admin_adds_a_provider_and_members_see_its_button(client, login, admin, idp):
    login(admin)
    assert client.get("/admin/sso/new").status_code == 200
    resp = client.post_form("/admin/sso/new", form(idp))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    row = db.session.scalar(sa.select(IdentityProvider))
    assert row.slug == "assoc" and row.secret_ref == f"env:{SECRET_ENV}"
    assert idp.client_secret not in json.dumps([getattr(row, c.key) for c in
                                                IdentityProvider.__table__.columns],
                                               default=str)
    assert db.session.scalar(sa.select(AuditEvent.action).where(
        AuditEvent.action == "sso.provider_created", AuditEvent.actor_id == admin.id))
    listing = client.get("/admin/sso").get_data(as_text=True)
    assert "ALA member system" in listing
    client.post_form("/auth/logout")
    assert b"Sign in with ALA" in client.get("/auth/login").data
    login(admin)
    resp = client.post_form(f"/admin/sso/{row.id}", form(idp, enabled=None))
    assert resp.status_code == 302
    client.post_form("/auth/logout")
    assert b"Sign in with ALA" not in client.get("/auth/login").data
    login(admin)
    resp = client.post_form(f"/admin/sso/{row.id}/delete")
    assert resp.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityProvider)) == 0


@needs_node
@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"discovery_url": "http://127.0.0.1:9/.well-known/openid-configuration"},
     "discovery_url", "could not be fetched"),
    ({"discovery_url": "https://127.0.0.1:9/nothing"}, "discovery_url", "does not work"),
    ({"discovery_url": "ftp://example.org/x"}, "discovery_url", "https://"),
    ({"attribute_mapping": mapping_json(segments={"career_stage": {"claim": "stage"}})},
     "attribute_mapping", "which the provider does not offer"),
    ({"attribute_mapping": mapping_json(segments={"shoe_size": {"claim": "name"}})},
     "attribute_mapping", "is not a segment of the portal"),
    ({"attribute_mapping": mapping_json(segments={"career_stage": {
        "claim": "career_stage", "values": {"Mid": "middling"}}})},
     "attribute_mapping", "not one of its codes"),
    ({"attribute_mapping": json.dumps({"segments": {}})}, "attribute_mapping", "eligibility"),
    ({"attribute_mapping": "{not json"}, "attribute_mapping", "not valid JSON"),
    ({"secret_ref": "env:SECRET_KEY"}, "secret_ref", "must be named SSO_"),
    ({"secret_ref": "env:SSO_NOT_SET_ANYWHERE"}, "secret_ref", "not set"),
    ({"secret_ref": "file:../../etc/passwd"}, "secret_ref", "inside the directory"),
    ({"secret_ref": "file:missing-secret"}, "secret_ref", "cannot be read"),
    ({"secret_ref": "the-secret-itself"}, "secret_ref", "env:SSO_NAME or file:NAME"),
    ({"scopes": "email profile"}, "scopes", "openid"),
    ({"slug": "Not A Slug"}, "slug", "lower-case"),
])
def test_a_misconfigured_provider_is_refused_with_the_reason(client, login, admin, idp,
                                                             changes, field, reason):
    login(admin)
    resp = client.post_form("/admin/sso/new", form(idp, **changes))
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert reason in text, text[:3000]
    assert f'href="#{field}"' in text  # the summary links the field
    assert ('value="' + changes.get("client_id", "portal") + '"') in text  # nothing typed lost
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityProvider)) == 0


@needs_node
def test_a_secret_from_a_file_in_the_secrets_directory(client, login, admin, idp, app):
    from pathlib import Path

    Path(app.config["SSO_SECRETS_DIR"], "assoc-secret").write_text(idp.client_secret + "\n")
    login(admin)
    resp = client.post_form("/admin/sso/new", form(idp, secret_ref="file:assoc-secret"))
    assert resp.status_code == 302
    assert credentials.resolve("file:assoc-secret") == idp.client_secret


def test_mapping_applies_values_case_blind_and_ignores_unmapped_ones():
    parsed = mapping.parse(mapping_json())
    outcome = mapping.apply(parsed, {"membership_status": " ACTIVE ",
                                     "membership_type": "regular", "career_stage": "Mid",
                                     "library_type": "Bookmobile"})
    assert outcome.eligible
    assert outcome.segments == {"membership_type": "regular", "career_stage": "mid"}
    assert not mapping.apply(parsed, {"membership_status": "lapsed"}).eligible
    assert not mapping.apply(parsed, {}).eligible
    assert mapping.apply(parsed, {"membership_status": ["grace", "x"]}).eligible


def test_mapping_roles_take_the_highest_mapped_group():
    parsed = mapping.parse(mapping_json(roles={"claim": "groups", "values": {
        "board": "leader", "staff-admins": "admin"}}))
    claims = {"membership_status": "active"}
    assert mapping.apply(parsed, {**claims, "groups": ["board"]}).role == "leader"
    assert mapping.apply(parsed, {**claims, "groups": ["board", "staff-admins"]}).role == "admin"
    assert mapping.apply(parsed, {**claims, "groups": ["chapter-7"]}).role is None
    assert mapping.apply(parsed, {**claims, "groups": "board"}).role == "leader"


def test_the_command_line_sets_up_a_provider_with_the_same_checks(runner, tmp_path, idp):
    path = tmp_path / "mapping.json"
    path.write_text(mapping_json(segments={"shoe_size": {"claim": "x"}}))
    result = runner.invoke(args=["sso", "set-provider", "--slug", "demo", "--name", "Demo",
                                 "--button-label", "Sign in", "--discovery-url",
                                 "http://127.0.0.1:9/.well-known/openid-configuration",
                                 "--client-id", "portal", "--mapping-file", str(path)])
    assert result.exit_code == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityProvider)) == 0
    if idp is None:
        return
    path.write_text(mapping_json())
    result = runner.invoke(args=["sso", "set-provider", "--slug", "demo", "--name", "Demo",
                                 "--button-label", "Sign in", "--discovery-url",
                                 idp.discovery_url, "--client-id", "portal", "--secret-ref",
                                 f"env:{SECRET_ENV}", "--mapping-file", str(path)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["sso", "list"]).output
    assert "demo" in listed and idp.client_secret not in listed


def test_dotted_claims_read_inside_object_claims_as_salesforce_sends_them():
    parsed = mapping.parse(json.dumps({
        "eligibility": {"claim": "custom_attributes.Membership_Status", "values": ["Active"]},
        "segments": {"membership_type": {"claim": "custom_attributes.Member_Type",
                                         "values": {"Student Member": "student"}}}}),
        supported_claims=["sub", "email", "custom_attributes"])
    outcome = mapping.apply(parsed, {"custom_attributes": {"Membership_Status": "Active",
                                                           "Member_Type": "Student Member"}})
    assert outcome.eligible and outcome.segments == {"membership_type": "student"}
    assert not mapping.apply(parsed, {"custom_attributes": "Active"}).eligible
    with pytest.raises(mapping.MappingError, match="does not offer"):
        mapping.parse(json.dumps({"eligibility": {"claim": "attrs.status", "values": ["a"]}}),
                      supported_claims=["sub", "custom_attributes"])
