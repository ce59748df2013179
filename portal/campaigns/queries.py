"""Read models for the campaign pages: delivery status, response rate by wave and by
segment. Counts that say who took part in an anonymous survey or a feedback round
(`Campaign.private_participation`) go through the privacy threshold
(portal/privacy.py); the per-recipient list of such a campaign shows the invitation
only, since who got a reminder says who had not taken part."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal import privacy, segments
from portal.campaigns.waves import took_part_clause
from portal.extensions import db
from portal.models import Campaign, CampaignMessage, CampaignRecipient, CampaignWave, MessageStatus

STATUS_LABELS = {
    MessageStatus.QUEUED: "Queued", MessageStatus.SENDING: "Sending",
    MessageStatus.SENT: "Sent", MessageStatus.DEFERRED: "Deferred (will retry)",
    MessageStatus.BOUNCED: "Bounced", MessageStatus.FAILED: "Failed",
    MessageStatus.OPTED_OUT: "Opted out",
}


def recipients_total(campaign: Campaign) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(
        CampaignRecipient.campaign_id == campaign.id)) or 0


def took_part_total(campaign: Campaign) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id, took_part_clause(campaign))) or 0


@dataclass
class WaveRow:
    wave: int
    label: str
    started_at: object
    outstanding: int | None       # not yet taken part when the wave started
    statuses: dict[str, int | None]
    brought: int | None           # took part between this wave and the next
    rate: float | None


def waves(campaign: Campaign) -> list[WaveRow]:
    anonymous = campaign.private_participation
    total = recipients_total(campaign)
    started = db.session.scalars(sa.select(CampaignWave).where(
        CampaignWave.campaign_id == campaign.id).order_by(CampaignWave.wave)).all()
    counts: dict[int, dict[str, int]] = {}
    for wave, status, n in db.session.execute(
            sa.select(CampaignMessage.wave, CampaignMessage.status, sa.func.count())
            .where(CampaignMessage.campaign_id == campaign.id)
            .group_by(CampaignMessage.wave, CampaignMessage.status)):
        counts.setdefault(wave, {})[status] = n
    now_outstanding = total - took_part_total(campaign)
    rows = []
    for i, w in enumerate(started):
        after = started[i + 1].outstanding if i + 1 < len(started) else now_outstanding
        brought = max(w.outstanding - after, 0)
        statuses: dict[str, int | None] = {s.value: counts.get(w.wave, {}).get(s.value, 0)
                                           for s in MessageStatus}
        outstanding: int | None = w.outstanding
        if anonymous and w.wave > 0:
            # Who got a reminder = who had not taken part: only counts past the threshold.
            statuses = privacy.suppress_cells(statuses)
            if not privacy.is_reportable_split(w.outstanding, total):
                outstanding = None
        shown_brought: int | None = brought
        rate = brought / w.outstanding if w.outstanding else None
        if not privacy.is_reportable_split(brought, w.outstanding):
            shown_brought, rate = None, None
        rows.append(WaveRow(w.wave, "Invitation" if w.wave == 0 else f"Reminder {w.wave}",
                            w.started_at, outstanding, statuses, shown_brought, rate))
    return rows


@dataclass
class SegmentRow:
    dimension: str
    label: str
    key: str
    code: str | None
    recipients: int
    took_part: int | None
    rate: float | None
    needed: int | None   # responses still needed before results can be shown
    short: bool          # not yet reportable
    remindable: bool     # short, and a value a campaign's audience can be chosen by


def by_segment(campaign: Campaign) -> list[SegmentRow]:
    """Response rate per segment value, in one GROUP BY per dimension."""
    threshold = privacy.min_n()
    anonymous = campaign.private_participation
    took = took_part_clause(campaign)
    rows: list[SegmentRow] = []
    for dim in segments.DIMENSIONS:
        col = getattr(CampaignRecipient, dim.key)
        result = db.session.execute(
            sa.select(col, sa.func.count(), sa.func.sum(sa.case((took, 1), else_=0)))
            .where(CampaignRecipient.campaign_id == campaign.id).group_by(col)).all()
        for code, n, k in sorted(result, key=lambda r: dim.codes.index(r[0])
                                 if r[0] in dim.codes else 99):
            k = int(k or 0)
            shown = privacy.is_reportable_split(k, n)
            short = k < threshold
            rows.append(SegmentRow(
                dim.label, dim.label_for(code), dim.key, code, n, k if shown else None,
                k / n if shown and n else None,
                # The exact shortfall would give away a small count of an anonymous survey.
                (threshold - k) if short and not anonymous else None, short,
                short and code in dict(dim.choices)))
    return rows


def recipient_page(campaign: Campaign, page: int, per_page: int = 50):
    """Recipients with their invitation's status (and, for attributed surveys only,
    their latest reminder's status and whether they took part)."""
    r, m = CampaignRecipient, CampaignMessage
    invitation = sa.select(m.status).where(m.recipient_id == r.id, m.wave == 0) \
        .scalar_subquery()
    columns = [r.id, r.email, invitation.label("invitation"),
               sa.select(m.last_error).where(m.recipient_id == r.id, m.wave == 0)
               .scalar_subquery().label("error")]
    if not campaign.private_participation:
        latest = sa.select(m.status).where(m.recipient_id == r.id, m.wave > 0) \
            .order_by(m.wave.desc()).limit(1).scalar_subquery()
        columns += [latest.label("reminder"), took_part_clause(campaign).label("took_part")]
    query = sa.select(*columns).where(r.campaign_id == campaign.id).order_by(r.id)
    return db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
