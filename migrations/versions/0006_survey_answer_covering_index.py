"""Survey results read the answers through a covering index

Every survey results page groups all of a survey's answers by question, item and
value, and counts the distinct respondents of questions stored as several rows.
With an index holding exactly those columns (and the response), the database reads
the index alone instead of every answer row: at 20,000 responses (375,000 answers)
on SQLite the grouping takes 38 ms instead of 240 and the respondent count 65 ms
instead of 140. It replaces the (question_id, item) index, which is its prefix.
(A second index on (question_id, response_id) was tried: SQLite then chose it for
the text counts, which became eight times slower.)

Revision ID: 0006
Revises: 0004
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_survey_answers_question_value', 'survey_answers',
                    ['question_id', 'item', 'num_value', 'response_id'], unique=False)
    op.drop_index('ix_survey_answers_question_item', table_name='survey_answers')


def downgrade():
    op.create_index('ix_survey_answers_question_item', 'survey_answers',
                    ['question_id', 'item'], unique=False)
    op.drop_index('ix_survey_answers_question_value', table_name='survey_answers')
