"""Comments lose their rough sentiment score: a word-list score called complaints
positive, and no labelled test set showed that it agrees with readers, so leadership
pages no longer show it (themes with quotes say more).

Downgrade adds the column back, empty.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('sentiment')


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sentiment', sa.Double(), nullable=True))
