"""Admin: invitation and reminder campaigns, and the job queue's dead letters."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import audit, segments, timezones
from portal.admin.blueprint import bp
from portal.admin.campaign_forms import ACTIONS, CampaignForm
from portal.admin.forms import ActionForm
from portal.campaigns import queries, services, texts
from portal.errors import PortalError
from portal.extensions import db
from portal.jobs import outbox
from portal.models import (
    Campaign,
    FeedbackRound,
    Job,
    JobStatus,
    RoundStatus,
    Survey,
    SurveyStatus,
)
from portal.timeutil import now_utc


def _form() -> CampaignForm:
    form = CampaignForm()
    surveys = db.session.scalars(sa.select(Survey).where(Survey.status == SurveyStatus.OPEN)
                                 .order_by(Survey.title)).all()
    form.survey_id.choices = [(0, "No survey (a round below)")] + [(s.id, s.title)
                                                                   for s in surveys]
    rounds = db.session.scalars(sa.select(FeedbackRound).where(
        FeedbackRound.status == RoundStatus.OPEN).order_by(FeedbackRound.name)).all()
    form.round_id.choices = [(0, "No round (the survey above)")] + [(r.id, r.name)
                                                                    for r in rounds]
    if request.method == "GET" and request.args.get("survey", "").isdigit():
        form.survey_id.data = int(request.args["survey"])
    elif request.method == "GET" and request.args.get("round", "").isdigit():
        # From a round's page: the round's own texts.
        form.survey_id.data = 0
        form.round_id.data = int(request.args["round"])
        form.subject.data = texts.DEFAULT_ROUND_SUBJECT
        form.body.data = texts.DEFAULT_ROUND_BODY
        form.reminder_body.data = texts.DEFAULT_ROUND_REMINDER_BODY
    return form


def _reminding(form: CampaignForm) -> tuple[str, str] | None:
    """A campaign page's "Remind this segment" (GET ?remind=<dimension>:<code>): the new
    campaign's audience is that one segment, its texts the reminder's. Returns the
    dimension and value labels; an unknown segment is a 404."""
    asked = request.args.get("remind")
    if request.method != "GET" or not asked:
        return None
    key, _, code = asked.partition(":")
    dim = segments.get(key)
    if dim is None or code not in dict(dim.choices):
        abort(404)
    getattr(form, f"aud_{dim.key}").data = [code]
    form.subject.data = texts.DEFAULT_REMINDER_SUBJECT
    form.body.data = (texts.DEFAULT_ROUND_REMINDER_BODY if form.round_id.data
                      else texts.DEFAULT_REMINDER_BODY)
    form.name.data = f"Reminder to {dim.label.lower()}: {dim.label_for(code)}"
    return dim.label, dim.label_for(code)


def _new_page(form: CampaignForm, shown=None, status: int = 200, reminding=None):
    return render_template("admin/campaign_new.html", form=form, shown=shown,
                           placeholders=texts.PLACEHOLDERS, dimensions=segments.DIMENSIONS,
                           reminding=reminding), status


@bp.get("/campaigns")
def campaigns():
    rows = db.session.scalars(sa.select(Campaign).order_by(Campaign.created_at.desc())
                              .limit(200)).all()
    return render_template("admin/campaigns.html", campaigns=rows)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    form = _form()
    if request.method == "GET":
        return _new_page(form, reminding=_reminding(form))
    action = request.form.get("action")
    if action not in ACTIONS:
        action = "create"
    if not form.validate_on_submit():
        return _new_page(form, status=400)
    data = form.to_input()
    try:
        if action == "preview":
            return _new_page(form, shown=services.preview(data, current_user))
        if action == "test":
            services.test_send(data, current_user)
            db.session.commit()
            flash(f"A test invitation is on its way to {current_user.email}.", "success")
            return _new_page(form, shown=services.preview(data, current_user))
        campaign = services.create_campaign(current_user, data)
    except services.CampaignInvalid as err:
        db.session.rollback()
        for name, message in err.problems.items():
            getattr(form, name).errors.append(message)
        return _new_page(form, status=400)
    db.session.commit()
    when = timezones.format_datetime(campaign.send_at)
    flash(f"The campaign is scheduled: the invitation goes out on {when}.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>")
def campaign_detail(campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id) or abort(404)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    total = queries.recipients_total(campaign)
    return render_template(
        "admin/campaign.html", campaign=campaign, waves=queries.waves(campaign),
        target_open=campaign.target_accepts(now_utc()),
        segments_rows=queries.by_segment(campaign), total=total,
        recipients=queries.recipient_page(campaign, page), page=page,
        pages=max(1, -(-total // 50)), labels=queries.STATUS_LABELS, form=ActionForm())


@bp.post("/campaigns/<int:campaign_id>/stop")
def campaign_stop(campaign_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.stop_campaign(current_user, campaign_id)
    except PortalError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("admin.campaigns")), 303
    db.session.commit()
    flash("The campaign is stopped: nothing more goes out.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id))


@bp.get("/jobs")
def jobs():
    dead = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.DEAD)
                              .order_by(Job.finished_at.desc()).limit(100)).all()
    failing = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.FAILED)
                                 .order_by(Job.run_at).limit(100)).all()
    return render_template("admin/jobs.html", counts=outbox.counts(), dead=dead,
                           failing=failing, form=ActionForm())


@bp.post("/jobs/<int:job_id>/retry")
def job_retry(job_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    job = outbox.retry_dead(job_id)
    if job is None:
        flash(f"Job #{job_id} is not in the dead-letter list.", "error")
        return redirect(url_for("admin.jobs"))
    audit.record(current_user, "job.retry", job, {"task": job.task})
    db.session.commit()
    flash(f"Job #{job_id} is queued again.", "success")
    return redirect(url_for("admin.jobs"))
