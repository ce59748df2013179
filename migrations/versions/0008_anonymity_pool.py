"""Anonymity that holds against a database reader: sealed drafts, the mixing pool,
breakdown dimensions and generalised segments

- survey_pool: anonymous submissions wait here, sealed, until a batch is released
  (portal/surveys/pool.py).
- survey_drafts.answers (JSON in clear) becomes sealed_answers (AES-GCM under the
  anonymity key when the survey is anonymous); sealed_response_id goes: a
  submission is now one transaction. A draft left sealed by an interrupted
  submission of the old protocol is moved into the pool (or dropped when its
  response was already stored).
- surveys.breakdown_dimensions (default career stage and library type) and
  surveys.pool_epoch.
- Existing anonymous responses keep only the breakdown dimensions, recoded so
  that no stored combination is shared by fewer than PRIVACY_MIN_N participants,
  and all carry the upgrade date, as if released in one batch now.

When no anonymity key is configured during the upgrade, drafts of anonymous
surveys are kept unsealed and are sealed at their next save; the upgrade says so.

Revision ID: 0008
Revises: 0007
"""
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from flask import current_app

from portal import sealing, segments
from portal.surveys.generalise import recoding

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DEFAULT = ["career_stage", "library_type"]


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakdown_dimensions', sa.JSON(), nullable=False,
                                      server_default=json.dumps(DEFAULT)))
        batch_op.add_column(sa.Column('pool_epoch', sa.Integer(), nullable=False,
                                      server_default='0'))
    op.create_table(
        'survey_pool',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.Integer(), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'],
                                name=op.f('fk_survey_pool_survey_id_surveys'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_pool')),
        sqlite_with_rowid=False)
    op.create_index('ix_survey_pool_survey_id', 'survey_pool', ['survey_id'])
    with op.batch_alter_table('survey_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_answers', sa.LargeBinary(), nullable=True))

    master = sealing.master_key()
    _seal_drafts(bind, master)
    with op.batch_alter_table('survey_drafts', schema=None) as batch_op:
        batch_op.alter_column('sealed_answers', existing_type=sa.LargeBinary(),
                              nullable=False)
        batch_op.drop_column('answers')
        batch_op.drop_column('sealed_response_id')
    _generalise_responses(bind)


def _seal_drafts(bind, master):
    anonymous = {r.id for r in bind.execute(sa.text(
        "SELECT id FROM surveys WHERE anonymous = :t"), {"t": True})}
    drafts = bind.execute(sa.text(
        "SELECT survey_id, user_id, answers, sealed_response_id FROM survey_drafts")).all()
    kept_plain = 0
    for d in drafts:
        answers = d.answers if isinstance(d.answers, dict) else json.loads(d.answers or "{}")
        where = {"s": d.survey_id, "u": d.user_id}
        if d.sealed_response_id is not None:
            # An interrupted submission of the old protocol: the member is recorded.
            stored = bind.execute(sa.text(
                "SELECT 1 FROM survey_responses WHERE id = :r"),
                {"r": _uuid_param(bind, d.sealed_response_id)}).first()
            if stored is None:
                if master is None:
                    raise RuntimeError("An interrupted anonymous submission waits; set "
                                       "ANONYMITY_KEY before upgrading so it can be sealed.")
                segs = _segments_of(bind, d.survey_id, d.user_id)
                bind.execute(sa.text(
                    "INSERT INTO survey_pool (id, survey_id, epoch, sealed) "
                    "VALUES (:i, :s, 0, :b)"),
                    {"i": _uuid_param(bind, uuid.uuid4()), "s": d.survey_id,
                     "b": sealing.seal_with(master, {"answers": answers, "segments": segs},
                                            sealing.pool_context(d.survey_id, 0))})
            bind.execute(sa.text(
                "DELETE FROM survey_drafts WHERE survey_id = :s AND user_id = :u"), where)
            continue
        if d.survey_id in anonymous and master is not None:
            blob = sealing.seal_with(master, answers,
                                     sealing.draft_context(d.survey_id, d.user_id))
        else:
            kept_plain += d.survey_id in anonymous
            blob = sealing.plain(answers)
        bind.execute(sa.text("UPDATE survey_drafts SET sealed_answers = :b "
                             "WHERE survey_id = :s AND user_id = :u"), {**where, "b": blob})
    if master is not None:
        exists = bind.execute(sa.text("SELECT 1 FROM site_settings WHERE key = :k"),
                              {"k": sealing.CHECK_KEY}).first()
        if exists is None:
            bind.execute(sa.text(
                "INSERT INTO site_settings (key, value, updated_at) VALUES (:k, :v, :t)"),
                {"k": sealing.CHECK_KEY, "v": sealing.check_value(master), "t": _now()})
    if kept_plain:
        print(f"note: {kept_plain} draft(s) of anonymous surveys are not sealed yet (no "
              "ANONYMITY_KEY); they are sealed at their next save.")


def _segments_of(bind, survey_id, user_id):
    keys = _breakdown(bind, survey_id)
    if not keys:
        return {}
    row = bind.execute(sa.text(f"SELECT {', '.join(keys)} FROM users WHERE id = :u"),  # noqa: S608
                       {"u": user_id}).first()
    return dict(zip(keys, row or [None] * len(keys), strict=True))


def _breakdown(bind, survey_id):
    raw = bind.execute(sa.text("SELECT breakdown_dimensions FROM surveys WHERE id = :s"),
                       {"s": survey_id}).scalar()
    chosen = raw if isinstance(raw, list) else json.loads(raw or "[]")
    return [k for k in segments.KEYS if k in chosen]


def _generalise_responses(bind):
    k = int(current_app.config.get("PRIVACY_MIN_N", 10))
    today = _now().date()
    for (survey_id,) in bind.execute(sa.text(
            "SELECT id FROM surveys WHERE anonymous = :t"), {"t": True}).all():
        keys = _breakdown(bind, survey_id)
        others = [key for key in segments.KEYS if key not in keys]
        sets = ", ".join([f"{key} = NULL" for key in others] + ["submitted_on = :d"])
        bind.execute(sa.text(f"UPDATE survey_responses SET {sets} "  # noqa: S608
                             "WHERE survey_id = :s"), {"s": survey_id, "d": today})
        if not keys:
            continue
        cols = ", ".join(f"u.{key}" for key in keys)
        counts = Counter({tuple(r[:-1]): r[-1] for r in bind.execute(sa.text(
            f"SELECT {cols}, count(*) FROM survey_participations p "  # noqa: S608
            f"JOIN users u ON u.id = p.user_id WHERE p.survey_id = :s GROUP BY {cols}"),
            {"s": survey_id})})
        mapping = recoding(counts, k, len(keys))
        stored = bind.execute(sa.text(
            f"SELECT DISTINCT {', '.join(keys)} FROM survey_responses "  # noqa: S608
            "WHERE survey_id = :s"), {"s": survey_id}).all()
        for combo in stored:
            combo = tuple(combo)
            target = mapping.get(combo, tuple([segments.GENERALISED] * len(keys)))
            if target == combo:
                continue
            sets = ", ".join(f"{key} = :n{i}" for i, key in enumerate(keys))
            conds = " AND ".join(f"{key} IS NULL" if v is None else f"{key} = :o{i}"
                                 for i, (key, v) in enumerate(zip(keys, combo, strict=True)))
            params = {"s": survey_id, **{f"n{i}": v for i, v in enumerate(target)},
                      **{f"o{i}": v for i, v in enumerate(combo) if v is not None}}
            bind.execute(sa.text(f"UPDATE survey_responses SET {sets} "  # noqa: S608
                                 f"WHERE survey_id = :s AND {conds}"), params)


def _uuid_param(bind, value):
    value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    return value.hex if bind.dialect.name == "sqlite" else value


def _now():
    return datetime.now(UTC).replace(tzinfo=None)


def downgrade():
    with op.batch_alter_table('survey_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=False,
                                      server_default='{}'))
        batch_op.add_column(sa.Column('sealed_response_id', sa.Uuid(), nullable=True))
        batch_op.drop_column('sealed_answers')
    op.drop_index('ix_survey_pool_survey_id', table_name='survey_pool')
    op.drop_table('survey_pool')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_column('pool_epoch')
        batch_op.drop_column('breakdown_dimensions')
