"""My activity: what each member last saw and how they want to hear of replies,
updates, surveys and rounds by e-mail; digests and "at once" notices already sent, so
that a retried or repeated job never mails twice.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_DELIVERY = "'instant', 'daily', 'weekly', 'none'"


def upgrade():
    op.create_table(
        'activity_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('replies', sa.String(length=8), nullable=False),
        sa.Column('updates', sa.String(length=8), nullable=False),
        sa.Column('surveys', sa.String(length=8), nullable=False),
        sa.Column('rounds', sa.String(length=8), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        *[sa.CheckConstraint(f"{kind} in ({_DELIVERY})",
                             name=op.f(f'ck_activity_preferences_{kind}_known'))
          for kind in ('replies', 'updates', 'surveys', 'rounds')],
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_activity_preferences_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_activity_preferences')),
    )
    op.create_table(
        'activity_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('period_key', sa.String(length=10), nullable=False),
        sa.Column('items', sa.Integer(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("period in ('daily', 'weekly')",
                           name=op.f('ck_activity_digests_period_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_activity_digests_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_digests')),
        sa.UniqueConstraint('user_id', 'period', 'period_key',
                            name=op.f('uq_activity_digests_user_id_period_period_key')),
    )
    op.create_table(
        'activity_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('item', sa.String(length=40), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_activity_notices_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_notices')),
        sa.UniqueConstraint('user_id', 'item', name=op.f('uq_activity_notices_user_id_item')),
    )


def downgrade():
    op.drop_table('activity_notices')
    op.drop_table('activity_digests')
    op.drop_table('activity_preferences')
