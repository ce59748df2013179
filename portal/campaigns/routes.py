"""Members' side of campaigns: the personal link, one-click unsubscribe, preferences.

None of these pages needs a signed-in member: the unguessable token in the link is
what allows them. The unsubscribe URL accepts RFC 8058's one-click POST, which mail
clients send without cookies or a CSRF token; the token is the proof.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.tokens import new_token
from portal.campaigns import links
from portal.extensions import csrf, db
from portal.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    Invitation,
    MailSuppression,
    User,
)
from portal.security import public
from portal.timeutil import now_utc

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

MAX_TOKEN = 100


def _recipient(token: str) -> CampaignRecipient | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return db.session.scalar(sa.select(CampaignRecipient).where(
        CampaignRecipient.token_hash == links.digest(token)))


def _problem(kind: str, status: int):
    return render_template("campaigns/link_problem.html", kind=kind), status


@bp.route("/i/<token>", methods=["GET", "POST"])
@public
def follow(token: str):
    """The personal invitation link. GET shows a button (mail scanners open links);
    the POST uses it up and leads to the survey, or to registration."""
    recipient = _recipient(token)
    if recipient is None:
        return _problem("forged", 404)
    campaign: Campaign = recipient.campaign
    now = now_utc()
    if recipient.link_used_at is not None:
        return _problem("used", 410)
    if (campaign.status == CampaignStatus.STOPPED or now >= campaign.stop_at
            or not campaign.target_accepts(now)):
        return _problem("expired", 410)
    form = ConfirmForm()
    account = db.session.get(User, recipient.user_id) if recipient.user_id else \
        db.session.scalar(sa.select(User).where(User.email == recipient.email))
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("campaigns/follow.html", form=form, campaign=campaign,
                               has_account=account is not None), status
    if account is not None:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=url_for("campaigns.follow", token=token)))
        if current_user.id != account.id:
            return _problem("other_account", 403)
        recipient.link_used_at = now
        db.session.commit()
        if campaign.round_id is not None:
            return redirect(url_for("main.home"))  # the plan, to rate in the round
        return redirect(url_for("surveys.show", survey_id=campaign.survey_id))
    # No account yet: an invitation proves the address, so registration confirms it.
    invite, digest = new_token()
    db.session.execute(sa.update(Invitation).where(
        Invitation.email == recipient.email, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)).values(revoked_at=now))
    db.session.add(Invitation(
        email=recipient.email, token_hash=digest, invited_by_id=campaign.created_by_id,
        expires_at=now + timedelta(days=current_app.config["INVITATION_DAYS"])))
    recipient.link_used_at = now
    db.session.commit()
    return redirect(url_for("auth.register", invite=invite))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click unsubscribe (POST List-Unsubscribe=One-Click), and a page
    with the same button for a person who opens the link."""
    recipient = _recipient(token)
    if recipient is None:
        return _problem("forged", 404)
    if request.method == "POST":
        MailSuppression.unsubscribe(recipient.email)
        db.session.commit()
        return render_template("campaigns/unsubscribed.html", token=token)
    return render_template("campaigns/unsubscribe.html", token=token)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
@public
def preferences(token: str):
    """Bulk mail on or off for this address. Account e-mails (verification, password
    reset) are not affected: they cannot be turned off."""
    recipient = _recipient(token)
    if recipient is None:
        return _problem("forged", 404)
    form = ConfirmForm()
    row = db.session.get(MailSuppression, recipient.email)
    if form.validate_on_submit():
        choice = request.form.get("campaigns")
        if choice not in ("on", "off"):
            return render_template("campaigns/preferences.html", form=form, token=token,
                                   subscribed=row is None or row.unsubscribed_at is None,
                                   error="Choose whether to receive invitations."), 400
        if choice == "off":
            MailSuppression.unsubscribe(recipient.email)
        elif row is not None:
            row.unsubscribed_at = None
        db.session.commit()
        return redirect(url_for("campaigns.preferences", token=token, saved=1))
    return render_template("campaigns/preferences.html", form=form, token=token,
                           subscribed=row is None or row.unsubscribed_at is None,
                           saved=request.args.get("saved") == "1", error=None)
