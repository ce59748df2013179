"""Sign-in throttle instead of the account lockout; sign-in links

The lockout (users.failed_logins, users.locked_until) let anyone who knew a member's
address keep them out, and its 429 told real accounts from unknown addresses. The
throttle keeps its state in two tables keyed by HMACs of the address (and client),
rows that exist alike for addresses with and without an account and expire. Sign-in
links by e-mail are a new account-token purpose.

The users columns are dropped with plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+
and PostgreSQL): recreating the users table in batch mode on SQLite would, with
foreign keys on, cascade the implicit delete of every user to the tables that point
at it.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_PURPOSES = "purpose in ('verify', 'reset', 'set_password')"
NEW_PURPOSES = "purpose in ('verify', 'reset', 'set_password', 'signin')"


def upgrade():
    op.create_table(
        'signin_throttles',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('account_key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('first_failure_at', sa.DateTime(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('failures >= 0',
                           name=op.f('ck_signin_throttles_failures_not_negative')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_signin_throttles')))
    with op.batch_alter_table('signin_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_throttles_account_key'), ['account_key'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_signin_throttles_expires_at'), ['expires_at'],
                              unique=False)
    op.create_table(
        'signin_account_failures',
        sa.Column('account_key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(), nullable=False),
        sa.Column('alerted_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('failures >= 0',
                           name=op.f('ck_signin_account_failures_failures_not_negative')),
        sa.PrimaryKeyConstraint('account_key', name=op.f('pk_signin_account_failures')))
    with op.batch_alter_table('signin_account_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signin_account_failures_expires_at'),
                              ['expires_at'], unique=False)

    # account_tokens is referenced by no table: recreating it on SQLite is safe.
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_tokens_purpose_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_account_tokens_purpose_known'), NEW_PURPOSES)

    op.execute('ALTER TABLE users DROP COLUMN locked_until')
    op.execute('ALTER TABLE users DROP COLUMN failed_logins')


def downgrade():
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), nullable=False,
                                     server_default='0'))
    op.add_column('users', sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.execute("DELETE FROM account_tokens WHERE purpose = 'signin'")
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_tokens_purpose_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_account_tokens_purpose_known'), OLD_PURPOSES)
    with op.batch_alter_table('signin_account_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_account_failures_expires_at'))
    op.drop_table('signin_account_failures')
    with op.batch_alter_table('signin_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_throttles_expires_at'))
        batch_op.drop_index(batch_op.f('ix_signin_throttles_account_key'))
    op.drop_table('signin_throttles')
