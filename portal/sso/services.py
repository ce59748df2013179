"""Single sign-on services: providers set up by admins, sign-in by a provider, just-in-time
accounts, linking to an existing account once its owner proves it, verified segments and
provider-granted roles. Flush, never commit, never flash, never log users in."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal import audit
from portal.auth import tokens
from portal.auth.registration import normalise_email
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.models import (
    ExternalIdentity,
    IdentityProvider,
    Protocol,
    Role,
    SsoPendingLink,
    User,
    VerifiedSegment,
)
from portal.sso import credentials, mapping, oidc, saml
from portal.timeutil import now_utc

log = logging.getLogger("portal.security")

SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class NotEligible(PortalError):
    status = 403


@dataclass
class ProviderInput:
    slug: str
    name: str
    button_label: str
    discovery_url: str
    client_id: str
    secret_ref: str
    scopes: str
    attribute_mapping: str
    allow_password: bool
    enabled: bool
    protocol: str = Protocol.OIDC.value


def list_providers() -> list[IdentityProvider]:
    return list(db.session.scalars(sa.select(IdentityProvider).order_by(IdentityProvider.name)))


def enabled_providers() -> list[IdentityProvider]:
    return list(db.session.scalars(sa.select(IdentityProvider)
                                   .where(IdentityProvider.enabled.is_(True))
                                   .order_by(IdentityProvider.name)))


def get_provider(slug: str, *, enabled_only: bool = True) -> IdentityProvider:
    provider = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.slug == slug))
    if provider is None or (enabled_only and not provider.enabled):
        raise NotFound("There is no such way to sign in.")
    return provider


def _check_input(data: ProviderInput, existing: IdentityProvider | None) -> str:
    """Validate everything and return the normalised mapping JSON (raises PortalError)."""
    if not SLUG_RE.fullmatch(data.slug or ""):
        raise PortalError("Use 1 to 40 lower-case letters, digits and hyphens.", field="slug")
    clash = db.session.scalar(sa.select(IdentityProvider.id)
                              .where(IdentityProvider.slug == data.slug))
    if clash is not None and (existing is None or clash != existing.id):
        raise PortalError("Another provider already uses this short name.", field="slug")
    if data.protocol == Protocol.SAML:
        return _check_saml(data)
    if data.protocol != Protocol.OIDC:
        raise PortalError("Choose OpenID Connect or SAML 2.0.", field="protocol")
    if not data.client_id.strip():
        raise PortalError("Enter the client ID the provider gave the portal.", field="client_id")
    scopes = data.scopes.split()
    if "openid" not in scopes or not all(re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s)
                                         for s in scopes):
        raise PortalError('List the scopes separated by spaces, "openid" among them.',
                          field="scopes")
    credentials.resolve(data.secret_ref)  # refuses a secret that cannot be read
    try:
        meta = oidc.fetch_metadata(data.discovery_url.strip(), fresh=True)
        oidc.fetch_keys(meta, fresh=True)
    except oidc.ProviderUnavailable as err:
        raise PortalError(f"The discovery URL does not work: {err.message}",
                          field="discovery_url")
    parsed = mapping.parse(data.attribute_mapping, meta.claims_supported)
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def _check_saml(data: ProviderInput) -> str:
    if data.secret_ref.strip():
        raise PortalError("A SAML provider needs no client secret: the portal does not sign "
                          "its requests. Leave the field empty.", field="secret_ref")
    try:
        xml, _ = saml.fetch_metadata(data.discovery_url.strip(), fresh=True)
    except oidc.ProviderUnavailable as err:
        raise PortalError(f"The metadata URL does not work: {err.message}",
                          field="discovery_url")
    parsed = mapping.parse(data.attribute_mapping, saml.offered_attributes(xml))
    return json.dumps(parsed, indent=2, ensure_ascii=False)


def save_provider(actor: User | None, data: ProviderInput,
                  provider: IdentityProvider | None = None) -> IdentityProvider:
    """Create or change a provider after checking that its discovery document, keys,
    client secret and attribute mapping all work. Audited, role mappings included."""
    normalised = _check_input(data, provider)
    before_roles = provider.mapping.get("roles") if provider is not None else None
    creating = provider is None
    if provider is None:
        provider = IdentityProvider()
        db.session.add(provider)
    provider.protocol = data.protocol
    provider.slug = data.slug
    provider.name = data.name.strip()
    provider.button_label = data.button_label.strip()
    provider.discovery_url = data.discovery_url.strip()
    provider.client_id = data.client_id.strip() if data.protocol == Protocol.OIDC else ""
    provider.secret_ref = data.secret_ref.strip()
    provider.scopes = " ".join(data.scopes.split())
    provider.attribute_mapping = normalised
    provider.allow_password = bool(data.allow_password)
    provider.enabled = bool(data.enabled)
    db.session.flush()
    audit.record(actor, "sso.provider_created" if creating else "sso.provider_changed",
                 provider, {"slug": provider.slug, "enabled": provider.enabled,
                            "allow_password": provider.allow_password})
    after_roles = provider.mapping.get("roles")
    if after_roles != before_roles:
        audit.record(actor, "sso.role_mapping_changed", provider,
                     {"before": before_roles, "after": after_roles})
    return provider


def delete_provider(actor: User, provider: IdentityProvider) -> None:
    audit.record(actor, "sso.provider_deleted", provider, {"slug": provider.slug})
    db.session.delete(provider)
    db.session.flush()


# Sign-in ------------------------------------------------------------------------------

@dataclass
class SignIn:
    """A provider's sign-in: an account to sign in, or a link waiting for proof."""

    user: User | None = None
    pending: SsoPendingLink | None = None
    created: bool = False


def outcome_for(provider: IdentityProvider, claims: dict) -> mapping.Outcome:
    outcome = mapping.apply(provider.mapping, claims)
    if not outcome.eligible:
        raise NotEligible("Your association's records do not show you as a member who can take "
                          "part here. If your membership is current, ask the association's "
                          "membership team to check your record.")
    return outcome


def sign_in(provider: IdentityProvider, claims: dict) -> SignIn:
    """What to do with a person the provider vouches for: the linked account, a new
    account (just in time), or a pending link to the account that has their e-mail
    address (its owner must prove it is theirs: an e-mail claim never takes it over)."""
    subject = claims["sub"]
    outcome = outcome_for(provider, claims)
    identity = db.session.scalar(sa.select(ExternalIdentity).where(
        ExternalIdentity.provider_id == provider.id, ExternalIdentity.subject == subject))
    if identity is not None:
        user = identity.user
        if not user.active:
            raise PortalError("This account is switched off. Contact the association.",)
        apply_outcome(user, provider, identity, outcome)
        return SignIn(user=user)
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise PortalError("Your association's records have no e-mail address for you, which "
                          "the portal needs. Ask the association to add one.")
    email = normalise_email(email)
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        if not existing.active:
            raise PortalError("This account is switched off. Contact the association.")
        # Its token is never sent: the person proves ownership with the password, or
        # asks for a link by e-mail (a fresh token, mailed to the account's address).
        pending, _ = _pending_link(existing, provider, subject, outcome)
        return SignIn(pending=pending)
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    user = User(email=email, display_name=(name.strip() or "Member")[:80], password_hash=None,
                role=Role.MEMBER.value,
                email_verified_at=now_utc() if claims.get("email_verified") is True else None)
    db.session.add(user)
    db.session.flush()
    identity = ExternalIdentity(provider_id=provider.id, subject=subject, user_id=user.id)
    db.session.add(identity)
    db.session.flush()
    apply_outcome(user, provider, identity, outcome)
    return SignIn(user=user, created=True)


def apply_outcome(user: User, provider: IdentityProvider, identity: ExternalIdentity,
                  outcome: mapping.Outcome) -> None:
    """Segments from the records replace the member's own answers and are marked as
    verified; a role comes only from an explicit group mapping, and goes when the group
    does (unless an admin has since given the account that role or a higher one)."""
    now = now_utc()
    db.session.execute(sa.delete(VerifiedSegment).where(
        VerifiedSegment.user_id == user.id, VerifiedSegment.provider_id == provider.id))
    for key, code in outcome.segments.items():
        setattr(user, key, code)
        db.session.merge(VerifiedSegment(user_id=user.id, segment_key=key,
                                         provider_id=provider.id, verified_at=now))
    if outcome.role and mapping.rank(outcome.role) > mapping.rank(user.role):
        audit.record(None, "sso.role_granted", user,
                     {"provider": provider.slug, "role": outcome.role, "before": user.role})
        user.role = outcome.role
        identity.granted_role = outcome.role
    elif identity.granted_role and outcome.role != identity.granted_role:
        if user.role == identity.granted_role:
            new_role = outcome.role or Role.MEMBER.value
            audit.record(None, "sso.role_revoked", user,
                         {"provider": provider.slug, "role": user.role, "after": new_role})
            user.role = new_role
        identity.granted_role = outcome.role
    identity.last_login_at = now
    user.previous_login_at = user.last_login_at
    user.last_login_at = now
    db.session.flush()


def _pending_link(user: User, provider: IdentityProvider, subject: str,
                  outcome: mapping.Outcome) -> tuple[SsoPendingLink, str]:
    db.session.execute(sa.update(SsoPendingLink).where(
        SsoPendingLink.user_id == user.id, SsoPendingLink.provider_id == provider.id,
        SsoPendingLink.used_at.is_(None)).values(used_at=now_utc()))
    token, digest = tokens.new_token()
    pending = SsoPendingLink(
        token_hash=digest, user_id=user.id, provider_id=provider.id, subject=subject,
        outcome=outcome.as_json(),
        expires_at=now_utc() + timedelta(minutes=current_app.config["SSO_LINK_MINUTES"]))
    db.session.add(pending)
    db.session.flush()
    return pending, token


def reissue_link(pending: SsoPendingLink) -> str:
    """A fresh token for the pending link, to e-mail to the account's address."""
    _, token = _pending_link(pending.user, pending.provider, pending.subject,
                             mapping.Outcome.from_json(pending.outcome))
    return token


def pending_by_id(pending_id: int) -> SsoPendingLink | None:
    """The usable pending link with this id (kept in the signed session), or None."""
    pending = db.session.get(SsoPendingLink, pending_id)
    if pending is None or not pending.is_usable() or not pending.user.active:
        return None
    return pending


def find_pending(token: str) -> SsoPendingLink:
    if not token or len(token) > 200:
        raise PortalError("That link is invalid, used or expired. Sign in with your "
                          "association again to get a new one.")
    pending = db.session.scalar(sa.select(SsoPendingLink).where(
        SsoPendingLink.token_hash == tokens.hash_token(token)))
    if pending is None or not pending.is_usable() or not pending.user.active:
        raise PortalError("That link is invalid, used or expired. Sign in with your "
                          "association again to get a new one.")
    return pending


def complete_link(pending: SsoPendingLink) -> User:
    """The owner proved the account is theirs: link the provider identity to it."""
    pending.used_at = now_utc()
    clash = db.session.scalar(sa.select(ExternalIdentity).where(
        ExternalIdentity.provider_id == pending.provider_id,
        sa.or_(ExternalIdentity.subject == pending.subject,
               ExternalIdentity.user_id == pending.user_id)))
    if clash is not None:
        raise PortalError("This account or this association login is already linked.")
    identity = ExternalIdentity(provider_id=pending.provider_id, subject=pending.subject,
                                user_id=pending.user_id)
    db.session.add(identity)
    db.session.flush()
    user = pending.user
    if user.email_verified_at is None:
        user.email_verified_at = now_utc()  # proven by the password or the e-mailed link
    apply_outcome(user, pending.provider, identity, mapping.Outcome.from_json(pending.outcome))
    log.info("sso link completed user=%s provider=%s", user.id, pending.provider.slug)
    return user


# Accounts -------------------------------------------------------------------------------

def verified_keys(user: User) -> set[str]:
    """Segment keys whose values came from the association's records."""
    return set(db.session.scalars(sa.select(VerifiedSegment.segment_key)
                                  .where(VerifiedSegment.user_id == user.id)))


def password_allowed(user: User) -> bool:
    """False when a provider that signs this member in has switched portal passwords off."""
    blocked = db.session.scalar(
        sa.select(sa.func.count()).select_from(ExternalIdentity)
        .join(IdentityProvider, IdentityProvider.id == ExternalIdentity.provider_id)
        .where(ExternalIdentity.user_id == user.id, IdentityProvider.enabled.is_(True),
               IdentityProvider.allow_password.is_(False)))
    return not blocked



def export_member_sso(user: User) -> dict:
    """For "download my data": the association sign-ins linked to the account and which
    segment values came from the association's records."""
    identities = db.session.execute(
        sa.select(IdentityProvider.name, ExternalIdentity.subject, ExternalIdentity.created_at,
                  ExternalIdentity.last_login_at)
        .join(IdentityProvider, IdentityProvider.id == ExternalIdentity.provider_id)
        .where(ExternalIdentity.user_id == user.id).order_by(ExternalIdentity.id)).all()
    verified = db.session.execute(
        sa.select(VerifiedSegment.segment_key, VerifiedSegment.verified_at)
        .where(VerifiedSegment.user_id == user.id).order_by(VerifiedSegment.segment_key)).all()
    return {
        "linked_sign_ins": [{"provider": name, "subject": sub, "linked_at": str(created),
                             "last_sign_in_at": str(last) if last else None}
                            for name, sub, created, last in identities],
        "segments_from_association_records": [
            {"segment": key, "value": getattr(user, key), "verified_at": str(at)}
            for key, at in verified],
    }
