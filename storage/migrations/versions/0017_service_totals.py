"""counted service minutes summed per member and unit, and per month, kept by triggers

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

from storage import totals_store

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'servicetotal',
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('records', sa.Integer(), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('volunteer_id', 'unit_id'),
    )
    op.create_table(
        'servicemonth',
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('records', sa.Integer(), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('volunteer_id', 'unit_id', 'month'),
    )
    op.create_index(op.f('ix_servicemonth_month'), 'servicemonth', ['month'], unique=False)
    # The triggers, and the sums of every record already stored (the backfill).
    totals_store.install(op.get_bind())


def downgrade() -> None:
    totals_store.drop_triggers(op.get_bind())
    op.drop_index(op.f('ix_servicemonth_month'), table_name='servicemonth')
    op.drop_table('servicemonth')
    op.drop_table('servicetotal')
