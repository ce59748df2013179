"""Single sign-on forms: linking an existing account, and the admin's provider form."""

from __future__ import annotations

from wtforms import BooleanField, PasswordField, RadioField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length

from portal.auth.passwords import MAX_LENGTH
from portal.forms import PortalForm, choice_list

MAPPING_EXAMPLE = """{
  "eligibility": {"claim": "membership_status", "values": ["active", "grace"]},
  "segments": {
    "membership_type": {"claim": "membership_type",
                        "values": {"Regular": "regular", "Student": "student"}},
    "career_stage": {"claim": "career_stage"}
  }
}"""


class LinkPasswordForm(PortalForm):
    password = PasswordField("Your portal password", validators=[
        DataRequired("Enter the password of your portal account."),
        Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters."),
    ])


class ProviderForm(PortalForm):
    name = StringField("Name", validators=[
        DataRequired("Enter the provider's name."), Length(max=80)])
    slug = StringField("Short name (in addresses)", validators=[
        DataRequired("Enter a short name."), Length(max=40)])
    button_label = StringField("Button label", validators=[
        DataRequired("Enter the label of the sign-in button."), Length(max=80)])
    protocol = RadioField("Protocol", default="oidc", validate_choice=True, choices=choice_list([
        ("oidc", "OpenID Connect"), ("saml", "SAML 2.0")]))
    discovery_url = URLField("Discovery or metadata URL", validators=[
        DataRequired("Enter the provider's discovery URL (OpenID Connect) or metadata URL "
                     "(SAML)."), Length(max=500)])
    client_id = StringField("Client ID (OpenID Connect)", validators=[Length(max=200)])
    secret_ref = StringField("Client secret from", validators=[Length(max=200)])
    scopes = StringField("Scopes", default="openid email profile", validators=[
        DataRequired("Enter the scopes."), Length(max=300)])
    attribute_mapping = TextAreaField("Attribute mapping (JSON)", default=MAPPING_EXAMPLE,
                                      validators=[DataRequired("Enter the attribute mapping."),
                                                  Length(max=20000)])
    allow_password = BooleanField("Members it signs in may also use a portal password",
                                  default=True)
    enabled = BooleanField("Show this sign-in button", default=True)
