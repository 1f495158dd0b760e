"""a unit's award list kept per member (the engine's rows), and the per-member change counts that make them stale,
kept by triggers

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 07:00:00
"""
import sqlalchemy as sa
from alembic import op

from storage import standing_store

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'awardchange',
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('volunteer_id'),
    )
    op.create_table(
        'awardmark',
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('context', sa.String(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('unit_id', 'volunteer_id'),
    )
    op.create_table(
        'awardstanding',
        sa.Column('unit_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('award', sa.String(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('eligible', sa.Boolean(), nullable=False),
        sa.Column('reached', sa.Boolean(), nullable=False),
        sa.Column('minutes_needed', sa.Integer(), nullable=False),
        sa.Column('missing', sa.String(), nullable=False),
        sa.Column('next_deadline', sa.Date(), nullable=True),
        sa.Column('round_year', sa.Integer(), nullable=True),
        sa.Column('counted_until', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('unit_id', 'volunteer_id', 'award'),
    )
    op.create_index(
        'ix_awardstanding_list', 'awardstanding', ['unit_id', 'award', 'minutes_needed'], unique=False
    )
    standing_store.install(op.get_bind())


def downgrade() -> None:
    standing_store.drop_triggers(op.get_bind())
    op.drop_index('ix_awardstanding_list', table_name='awardstanding')
    op.drop_table('awardstanding')
    op.drop_table('awardmark')
    op.drop_table('awardchange')
