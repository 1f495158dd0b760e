"""a person's visits by their end, so a check-in finds the visit that ended last without sorting all of them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 17:00:00
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'service_record_latest_end', 'servicerecord', ['volunteer_id', 'check_out', 'id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('service_record_latest_end', table_name='servicerecord')
