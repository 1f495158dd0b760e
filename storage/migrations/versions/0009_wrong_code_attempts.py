"""wrong invite codes counted over all chat accounts

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wrongcodeattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('wrongcodeattempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wrongcodeattempt_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wrongcodeattempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wrongcodeattempt_at'))
    op.drop_table('wrongcodeattempt')
