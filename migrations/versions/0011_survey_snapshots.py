"""Survey snapshots: results of an open survey move in steps of PRIVACY_MIN_N per slice

`survey_responses.batch` numbers the release batches of each survey (set by
pool.release for a whole batch alike, so it says no more than the release date).
Existing anonymous responses are numbered by their release date (releases of one
day share a number: coarser steps, never finer). Attributed responses keep NULL.
`survey_snapshots` keeps, per survey and slice, the last batch its figures include
and when that snapshot was taken; it starts empty, so every slice takes its first
snapshot at its next reading.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (SQLite and PostgreSQL): rebuilding survey_responses in batch
    # mode would cascade the implicit delete to survey_answers and drop its triggers.
    op.add_column('survey_responses', sa.Column('batch', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE survey_responses SET batch = ("
        " SELECT COUNT(DISTINCT earlier.submitted_on) FROM survey_responses AS earlier"
        " WHERE earlier.survey_id = survey_responses.survey_id"
        " AND earlier.submitted_on <= survey_responses.submitted_on)"
        " WHERE survey_id IN (SELECT id FROM surveys WHERE anonymous)")
    op.create_table(
        'survey_snapshots',
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('slice_key', sa.String(length=255), nullable=False),
        sa.Column('last_batch', sa.Integer(), nullable=False),
        sa.Column('previous_batch', sa.Integer(), nullable=True),
        sa.Column('taken_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('last_batch >= 1',
                           name=op.f('ck_survey_snapshots_last_batch_positive')),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'],
                                name=op.f('fk_survey_snapshots_survey_id_surveys'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('survey_id', 'slice_key', name=op.f('pk_survey_snapshots')))


def downgrade():
    op.drop_table('survey_snapshots')
    op.execute('ALTER TABLE survey_responses DROP COLUMN batch')
