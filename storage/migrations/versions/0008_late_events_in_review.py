"""late events in review: the later event a late check-in or check-out arrived after

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:20:00
"""
import sqlalchemy as sa
from alembic import op

import storage.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late_after', storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.drop_column('late_after')
