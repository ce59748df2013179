"""Admin: the association's identity providers (single sign-on, portal/sso/)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.admin.blueprint import bp
from portal.admin.forms import ActionForm
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_error
from portal.models import IdentityProvider
from portal.sso import services
from portal.sso.forms import ProviderForm


@bp.get("/sso")
def sso_providers():
    return render_template("admin/sso.html", providers=services.list_providers(),
                           action_form=ActionForm())


def _input(form: ProviderForm) -> services.ProviderInput:
    return services.ProviderInput(
        slug=(form.slug.data or "").strip(), name=form.name.data or "",
        button_label=form.button_label.data or "", discovery_url=form.discovery_url.data or "",
        client_id=form.client_id.data or "", secret_ref=form.secret_ref.data or "",
        scopes=form.scopes.data or "", attribute_mapping=form.attribute_mapping.data or "",
        allow_password=bool(form.allow_password.data), enabled=bool(form.enabled.data),
        protocol=form.protocol.data or "oidc")


def _save(form: ProviderForm, provider: IdentityProvider | None):
    template = "admin/sso_provider.html"
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template(template, form=form, provider=provider), status
    try:
        saved = services.save_provider(current_user._get_current_object(), _input(form),
                                       provider)
    except PortalError as err:
        db.session.rollback()
        attach_error(form, err)
        return render_template(template, form=form, provider=provider), err.status
    db.session.commit()
    flash(f"The provider {saved.name} is saved.", "success")
    return redirect(url_for("admin.sso_providers"))


@bp.route("/sso/new", methods=["GET", "POST"])
def sso_provider_new():
    return _save(ProviderForm(), None)


@bp.route("/sso/<int:provider_id>", methods=["GET", "POST"])
def sso_provider_edit(provider_id: int):
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    return _save(ProviderForm(obj=provider), provider)


@bp.post("/sso/<int:provider_id>/delete")
def sso_provider_delete(provider_id: int):
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = provider.name
    services.delete_provider(current_user._get_current_object(), provider)
    db.session.commit()
    flash(f"The provider {name} is removed; its members keep their accounts and sign in "
          "with a password or an e-mailed link.", "success")
    return redirect(url_for("admin.sso_providers"))
