"""record-book balances as their own source

A record book's balance brought in (the roster's 時數結餘, the demo's sample) was stored as hours entered by
hand (source `manual`). It is now source `balance`: it counts toward totals and awards, but the half-year and
yearly reports and the hours export leave it out (it is no service of the period it is dated in). The rows the
bot itself wrote as balances are recognised by their note; other hand-entered hours stay `manual`.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06 01:20:00
"""

from alembic import op

revision = '0011'
down_revision = '0007'
branch_labels = None
depends_on = None

BALANCE_NOTES = "('record-book balance (roster import)', 'record-book balance')"


def upgrade() -> None:
    op.execute(
        "UPDATE servicerecord SET source = 'balance'"
        f" WHERE source = 'manual' AND kind = 'service' AND note IN {BALANCE_NOTES}"
    )


def downgrade() -> None:
    op.execute("UPDATE servicerecord SET source = 'manual' WHERE source = 'balance'")
