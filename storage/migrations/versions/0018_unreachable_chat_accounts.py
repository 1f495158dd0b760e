"""chat accounts: since when the person has blocked the bot (nothing is pushed to it meanwhile), and the
question the bot has just asked them (a 取消 right after it answers it)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chataccount', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreachable_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('awaiting', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('awaiting_since', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chataccount', schema=None) as batch_op:
        batch_op.drop_column('awaiting_since')
        batch_op.drop_column('awaiting')
        batch_op.drop_column('unreachable_since')
