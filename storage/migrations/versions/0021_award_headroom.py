"""how far each member is from any award a check-out could reach, kept at check-outs, so that a check-out of
someone with years of service reads their whole history only when an award is near; a unit's category or city
changed now counts as a change of its people's award facts (the triggers installed again)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 20:00:00
"""
import sqlalchemy as sa
from alembic import op

from storage import standing_store

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'awardheadroom',
        sa.Column('volunteer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('rules', sa.String(), nullable=False),
        sa.PrimaryKeyConstraint('volunteer_id'),
    )
    standing_store.install(op.get_bind())


def downgrade() -> None:
    op.drop_table('awardheadroom')
