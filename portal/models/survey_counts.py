"""Answer counts of every survey question, kept by the database itself.

The survey results page shows, for all responses, how often each answer was given,
how many respondents answered each question and how many wrote a text. Grouping a
large survey's answers on every view (375,000 answer rows at 20,000 responses) takes
a few hundred milliseconds; these two tables hold the same counts, moved by triggers
on `survey_answers` whenever answers are inserted or deleted, whichever code path
does it (submission, mixing, resubmission of an attributed response, bulk loads,
cascades). They hold counts only: no response, member, date or order.

`respondents` counts distinct (response, question) pairs: the answer rows of one
question of one response are always written together by one statement and deleted
together, never added to later.

A migration that rebuilds `survey_answers` (Alembic batch mode on SQLite copies the
table) drops its triggers: such a migration must call `install_triggers` again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class SurveyAnswerCount(db.Model):
    """How many answers of one question have one item and one value ('' = no value)."""

    __tablename__ = "survey_answer_counts"

    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value_key: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class SurveyQuestionCount(db.Model):
    """How many responses answered one question, and how many of its answers hold text."""

    __tablename__ = "survey_question_counts"

    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_questions.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    respondents: Mapped[int] = mapped_column(default=0)
    texts: Mapped[int] = mapped_column(default=0)


def value_of(key: str) -> float | None:
    """The answer value a `value_key` stands for ('' = none)."""
    return float(key) if key else None


SQLITE_TRIGGERS = [
    """CREATE TRIGGER survey_answers_counted_insert AFTER INSERT ON survey_answers BEGIN
  INSERT INTO survey_answer_counts (question_id, item, value_key, n)
    VALUES (NEW.question_id, NEW.item, COALESCE(CAST(NEW.num_value AS TEXT), ''), 1)
    ON CONFLICT (question_id, item, value_key) DO UPDATE SET n = n + 1;
  INSERT INTO survey_question_counts (question_id, respondents, texts)
    VALUES (NEW.question_id, 0, 0) ON CONFLICT (question_id) DO NOTHING;
  UPDATE survey_question_counts SET
    respondents = respondents + NOT EXISTS (
      SELECT 1 FROM survey_answers a WHERE a.response_id = NEW.response_id
        AND a.question_id = NEW.question_id AND a.item <> NEW.item),
    texts = texts + (COALESCE(NEW.text_value, '') <> '')
    WHERE question_id = NEW.question_id;
END""",
    """CREATE TRIGGER survey_answers_counted_delete AFTER DELETE ON survey_answers BEGIN
  UPDATE survey_answer_counts SET n = n - 1
    WHERE question_id = OLD.question_id AND item = OLD.item
      AND value_key = COALESCE(CAST(OLD.num_value AS TEXT), '');
  UPDATE survey_question_counts SET
    respondents = respondents - NOT EXISTS (
      SELECT 1 FROM survey_answers a WHERE a.response_id = OLD.response_id
        AND a.question_id = OLD.question_id),
    texts = texts - (COALESCE(OLD.text_value, '') <> '')
    WHERE question_id = OLD.question_id;
END""",
]

# PostgreSQL runs row triggers of a statement after all its rows, so it counts per
# statement from the transition tables instead (also much cheaper for bulk loads).
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION survey_answers_counted_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO survey_answer_counts (question_id, item, value_key, n)
    SELECT question_id, item, COALESCE(num_value::float8::text, ''), count(*)
    FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (question_id, item, value_key)
    DO UPDATE SET n = survey_answer_counts.n + EXCLUDED.n;
  -- A (response, question) pair is a new respondent when all its rows are new: an
  -- executemany runs one statement per row, so the first row's statement counts it.
  WITH n AS (SELECT response_id, question_id, count(*) AS rows,
                    count(*) FILTER (WHERE COALESCE(text_value, '') <> '') AS texts
             FROM new_rows GROUP BY response_id, question_id),
       t AS (SELECT a.response_id, a.question_id, count(*) AS rows
             FROM survey_answers a JOIN n USING (response_id, question_id)
             GROUP BY a.response_id, a.question_id)
  INSERT INTO survey_question_counts AS c (question_id, respondents, texts)
    SELECT n.question_id, count(*) FILTER (WHERE t.rows = n.rows), sum(n.texts)
    FROM n JOIN t USING (response_id, question_id) GROUP BY n.question_id
    ON CONFLICT (question_id) DO UPDATE SET respondents = c.respondents + EXCLUDED.respondents,
                                            texts = c.texts + EXCLUDED.texts;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION survey_answers_counted_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE survey_answer_counts c SET n = c.n - d.n
    FROM (SELECT question_id, item, COALESCE(num_value::float8::text, '') AS value_key,
                 count(*) AS n FROM old_rows GROUP BY 1, 2, 3) d
    WHERE c.question_id = d.question_id AND c.item = d.item AND c.value_key = d.value_key;
  UPDATE survey_question_counts c SET respondents = c.respondents - d.respondents,
                                      texts = c.texts - d.texts
    FROM (SELECT o.question_id,
                 count(DISTINCT o.response_id) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM survey_answers a WHERE a.response_id = o.response_id
                     AND a.question_id = o.question_id)) AS respondents,
                 count(*) FILTER (WHERE COALESCE(o.text_value, '') <> '') AS texts
          FROM old_rows o GROUP BY o.question_id) d
    WHERE c.question_id = d.question_id;
  RETURN NULL;
END $$""",
    """CREATE TRIGGER survey_answers_counted_insert AFTER INSERT ON survey_answers
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION survey_answers_counted_insert()""",
    """CREATE TRIGGER survey_answers_counted_delete AFTER DELETE ON survey_answers
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION survey_answers_counted_delete()""",
]


def install_triggers(connection) -> None:
    """Create the counting triggers (migration 0007 does the same in deployments)."""
    statements = (POSTGRES_TRIGGERS if connection.dialect.name == "postgresql"
                  else SQLITE_TRIGGERS)
    for statement in statements:
        connection.exec_driver_sql(statement)


def _after_create(target, connection, tables=(), **_kw) -> None:
    # create_all (the tests' schema): once both tables exist.
    names = {t.name for t in tables} if tables else set(target.tables)
    if {"survey_answers", "survey_question_counts"} <= names:
        install_triggers(connection)


sa.event.listen(db.metadata, "after_create", _after_create)
