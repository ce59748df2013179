"""Results published back to members: leadership decides per round whether members see
its results when it closes (the default, as members were promised), early while it is
open, or not at all.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 23:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('results_release', sa.String(length=16),
                                      server_default='on_close', nullable=False))
        batch_op.add_column(sa.Column('results_released_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_feedback_rounds_results_release_known'),
            "results_release in ('hidden', 'on_close', 'now')")


def downgrade():
    with op.batch_alter_table('feedback_rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feedback_rounds_results_release_known'),
                                 type_='check')
        batch_op.drop_column('results_released_at')
        batch_op.drop_column('results_release')
