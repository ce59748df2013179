"""`flask sso ...`: set up an identity provider from the command line (the demo, scripts).
The same checks as the admin console: a provider that does not work is refused."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.errors import PortalError
from portal.extensions import db
from portal.models import IdentityProvider
from portal.sso import services

sso_cli = AppGroup("sso", help="Single sign-on providers.")


@sso_cli.command("set-provider")
@click.option("--slug", required=True, help="Short name, part of the redirect URI.")
@click.option("--name", required=True)
@click.option("--button-label", required=True)
@click.option("--discovery-url", required=True)
@click.option("--protocol", type=click.Choice(["oidc", "saml"]), default="oidc")
@click.option("--client-id", default="", help="OpenID Connect only.")
@click.option("--secret-ref", default="", help="env:SSO_NAME or file:NAME (in SSO_SECRETS_DIR).")
@click.option("--scopes", default="openid email profile")
@click.option("--mapping-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The attribute mapping (JSON).")
@click.option("--no-password", is_flag=True, help="Its members may not use portal passwords.")
def set_provider(slug, name, button_label, discovery_url, protocol, client_id, secret_ref,
                 scopes, mapping_file, no_password) -> None:
    """Create the provider SLUG, or change it if it exists."""
    existing = db.session.scalar(sa.select(IdentityProvider).where(IdentityProvider.slug == slug))
    data = services.ProviderInput(
        slug=slug, name=name, button_label=button_label, discovery_url=discovery_url,
        client_id=client_id, secret_ref=secret_ref, scopes=scopes,
        attribute_mapping=Path(mapping_file).read_text(encoding="utf-8"),
        allow_password=not no_password, enabled=True, protocol=protocol)
    try:
        provider = services.save_provider(None, data, existing)
        db.session.commit()
    except PortalError as err:
        db.session.rollback()
        click.echo(f"error: {err.message}", err=True)
        raise SystemExit(1)
    click.echo(f"Provider '{provider.slug}' saved: members see the button "
               f"“{provider.button_label}” on the sign-in page.")


@sso_cli.command("list")
def list_providers() -> None:
    """The providers and where their client secrets come from (never the secrets)."""
    for p in services.list_providers():
        state = "shown" if p.enabled else "hidden"
        click.echo(f"{p.slug}\t{p.protocol}\t{state}\t{p.discovery_url}\t"
                   f"secret={p.secret_ref or '(public client)'}")
