"""Participation counts leave staff accounts out: the eligible base is active, verified
member accounts (leaders and admins are not), the same as survey response rates.

Recounts report_eligible and report_participation from users and report_raters.
Downgrade recounts them the old way (every active, verified account).

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 17:35:00
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SEGMENTS = ("career_stage", "library_type", "work_role", "region", "membership_type")


def _recount(members_only: bool) -> None:
    role = " AND COALESCE(users.role, 'member') = 'member'" if members_only else ""
    eligible = f"FROM users WHERE users.active AND users.email_verified_at IS NOT NULL{role}"
    rated = ("FROM users JOIN report_raters ON report_raters.user_id = users.id "
             "WHERE users.active AND users.email_verified_at IS NOT NULL "
             f"AND report_raters.n > 0{role}")
    op.execute("DELETE FROM report_eligible")
    op.execute("DELETE FROM report_participation")
    op.execute(f"INSERT INTO report_eligible (dimension, value, n) SELECT '', '', COUNT(*) "
               f"{eligible}")
    op.execute("INSERT INTO report_participation (round_id, dimension, value, n) SELECT "
               f"report_raters.round_id, '', '', COUNT(*) {rated} GROUP BY report_raters.round_id")
    for dim in SEGMENTS:
        val = f"COALESCE(users.{dim}, '')"
        op.execute("INSERT INTO report_eligible (dimension, value, n) SELECT "
                   f"'{dim}', {val}, COUNT(*) {eligible} GROUP BY {val}")
        op.execute("INSERT INTO report_participation (round_id, dimension, value, n) SELECT "
                   f"report_raters.round_id, '{dim}', {val}, COUNT(*) {rated} "
                   f"GROUP BY report_raters.round_id, {val}")
    op.execute("DELETE FROM report_eligible WHERE n = 0")


def upgrade():
    _recount(members_only=True)


def downgrade():
    _recount(members_only=False)
