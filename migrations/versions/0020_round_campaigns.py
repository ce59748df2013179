"""Campaigns may invite to a feedback round as well as to a survey: `round_id` beside
`survey_id`, exactly one of the two set.

Downgrade deletes round campaigns (they have no survey to point at) and makes
`survey_id` required again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 23:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        batch_op.alter_column('survey_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(op.f('ix_campaigns_round_id'), ['round_id'], unique=False)
        batch_op.create_foreign_key(op.f('fk_campaigns_round_id_feedback_rounds'),
                                    'feedback_rounds', ['round_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_check_constraint(op.f('ck_campaigns_one_target'),
                                         '(survey_id IS NULL) <> (round_id IS NULL)')


def downgrade():
    op.execute("DELETE FROM campaigns WHERE round_id IS NOT NULL")
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaigns_one_target'), type_='check')
        batch_op.drop_constraint(op.f('fk_campaigns_round_id_feedback_rounds'),
                                 type_='foreignkey')
        batch_op.drop_index(op.f('ix_campaigns_round_id'))
        batch_op.alter_column('survey_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('round_id')
