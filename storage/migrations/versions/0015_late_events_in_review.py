"""late events in review: the later event a late check-in or check-out arrived after

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 01:20:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_after', storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.drop_column('late_after')
