"""repeating unit deadlines: the months a unit's own item repeats in

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 01:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unitdeadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('months', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('unitdeadline', schema=None) as batch_op:
        batch_op.drop_column('months')
