"""Single sign-on: identity providers set up by admins, the people they vouch for, the
segment values that come from the association's records, and pending account links."""

from __future__ import annotations

import enum
import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import TimestampMixin
from portal.models.user import User
from portal.timeutil import now_utc


class Protocol(enum.StrEnum):
    OIDC = "oidc"
    SAML = "saml"


PROTOCOL_LABELS = {Protocol.OIDC: "OpenID Connect", Protocol.SAML: "SAML 2.0"}


class IdentityProvider(TimestampMixin, db.Model):
    """An association member system that signs members in (configuration only: the
    client secret is named by `secret_ref`, read from the environment or a file)."""

    __tablename__ = "identity_providers"
    __table_args__ = (
        sa.CheckConstraint("protocol in ('oidc', 'saml')", name="protocol_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    button_label: Mapped[str] = mapped_column(sa.String(80))
    protocol: Mapped[str] = mapped_column(sa.String(8), default=Protocol.OIDC.value)
    # OpenID Connect: the discovery URL; SAML: the IdP's metadata URL.
    discovery_url: Mapped[str] = mapped_column(sa.String(500))
    # OpenID Connect only (SAML: empty; the portal's entity ID is its metadata URL).
    client_id: Mapped[str] = mapped_column(sa.String(200), default="")
    # "env:SSO_NAME" or "file:name" under SSO_SECRETS_DIR; empty for a public client.
    secret_ref: Mapped[str] = mapped_column(sa.String(200), default="")
    scopes: Mapped[str] = mapped_column(sa.String(300), default="openid email profile")
    # JSON (portal/sso/mapping.py): segments, eligibility and optional role groups.
    attribute_mapping: Mapped[str] = mapped_column(sa.Text)
    # May the members this provider signs in still use a portal password?
    allow_password: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)

    @property
    def mapping(self) -> dict:
        return json.loads(self.attribute_mapping or "{}")

    @property
    def protocol_label(self) -> str:
        return PROTOCOL_LABELS.get(Protocol(self.protocol), self.protocol)


class ExternalIdentity(db.Model):
    """A person as a provider knows them (its subject identifier), linked to an account."""

    __tablename__ = "external_identities"
    __table_args__ = (
        sa.UniqueConstraint("provider_id", "subject", name="uq_external_identities_subject"),
        sa.UniqueConstraint("provider_id", "user_id", name="uq_external_identities_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    # The role this provider's group mapping last granted (so that it can be taken back).
    granted_role: Mapped[str | None] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    last_login_at: Mapped[datetime | None]

    provider: Mapped[IdentityProvider] = relationship()
    user: Mapped[User] = relationship()


class VerifiedSegment(db.Model):
    """A segment value of a member that came from the association's records at their
    last single sign-on: shown as such and not editable by the member."""

    __tablename__ = "verified_segments"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    segment_key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True)
    verified_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())


class SsoPendingLink(db.Model):
    """A provider identity waiting to be linked to an existing password account until
    the person proves they own it (its password, or a link e-mailed to it). Only a
    SHA-256 of the link token is stored."""

    __tablename__ = "sso_pending_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(sa.String(255))
    # The mapped outcome of the sign-in: {"segments": {...}, "role": ...}.
    outcome: Mapped[str] = mapped_column(sa.Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=lambda: now_utc())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    provider: Mapped[IdentityProvider] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.used_at is None and (now or now_utc()) < self.expires_at


class SamlAssertion(db.Model):
    """The id of every SAML assertion the portal accepted, until it expires: an assertion
    is good for one sign-in (replay protection shared by every app host)."""

    __tablename__ = "saml_assertions"

    assertion_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("identity_providers.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
