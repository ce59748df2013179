"""Admin: the audit log, filterable by action, actor, target and date."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import render_template, request

from portal import timezones
from portal.admin.blueprint import bp
from portal.admin.forms import AuditFilterForm
from portal.extensions import db
from portal.forms import choice_list
from portal.models import AuditEvent

PER_PAGE = 50


def audit_query(form: AuditFilterForm) -> sa.Select:
    stmt = sa.select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if form.action.data:
        stmt = stmt.where(AuditEvent.action == form.action.data)
    if form.actor.data:
        needle = form.actor.data.strip().lower()
        stmt = stmt.where(sa.func.lower(AuditEvent.actor_label).contains(needle, autoescape=True))
    if form.target_type.data:
        stmt = stmt.where(AuditEvent.target_type == form.target_type.data.strip())
    # The days are the admin's (midnight to midnight in their zone), compared in UTC.
    zone = getattr(form, "zone_name", None)
    if form.date_from.data:
        start = timezones.to_utc(datetime.combine(form.date_from.data, time()), zone)
        stmt = stmt.where(AuditEvent.created_at >= start)
    if form.date_to.data:
        end = datetime.combine(form.date_to.data + timedelta(days=1), time())
        stmt = stmt.where(AuditEvent.created_at < timezones.to_utc(end, zone))
    return stmt


@bp.get("/audit")
def audit_log():
    form = AuditFilterForm(request.args)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    form.action.choices = choice_list([("", "Any action"), *((a, a) for a in actions)])
    if not form.validate():
        return render_template("admin/audit.html", form=form, page=None, args={}), 400
    page = db.paginate(audit_query(form), per_page=PER_PAGE, error_out=False, count=True)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/audit.html", form=form, page=page, args=args)
