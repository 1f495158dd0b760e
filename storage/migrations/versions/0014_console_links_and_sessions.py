"""console links and sessions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:50:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consolelink',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('consolelink', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consolelink_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('consolesession',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', storage.models.UTCDateTime(), nullable=False),
    sa.Column('ended_at', storage.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('consolesession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consolesession_volunteer_id'), ['volunteer_id'], unique=False)

    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.create_index('service_record_unit_status', ['unit_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('servicerecord', schema=None) as batch_op:
        batch_op.drop_index('service_record_unit_status')
    with op.batch_alter_table('consolesession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consolesession_volunteer_id'))
    op.drop_table('consolesession')
    with op.batch_alter_table('consolelink', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consolelink_volunteer_id'))
    op.drop_table('consolelink')
