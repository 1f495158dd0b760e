"""record-book balances as their own source; phones that lost their leading 0

A record book's balance brought in (the roster's 時數結餘, the demo's sample) was stored as hours entered by
hand (source `manual`). It is now source `balance`: it counts toward totals and awards, but the half-year and
yearly reports and the hours export leave it out (it is no service of the period it is dated in). The rows the
bot itself wrote as balances are recognised by their note; other hand-entered hours stay `manual`.

A roster import stored a phone Excel kept as a number without its leading 0 (912345678). The import now puts
the 0 back (0912345678) and matches people by it, so the stored phones get it too: else the next import of the
same person would not find them.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-06 01:20:00
"""

import re

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None

BALANCE_NOTES = "('record-book balance (roster import)', 'record-book balance')"


def upgrade() -> None:
    op.execute(
        "UPDATE servicerecord SET source = 'balance'"
        f" WHERE source = 'manual' AND kind = 'service' AND note IN {BALANCE_NOTES}"
    )
    connection = op.get_bind()
    phones = connection.execute(sa.text("SELECT id, phone FROM volunteer WHERE phone IS NOT NULL")).all()
    for volunteer_id, phone in phones:
        if re.fullmatch(r"[1-9]\d{7,8}", phone):  # as handlers.people.roster_import.normal_phone does
            connection.execute(
                sa.text("UPDATE volunteer SET phone = :phone WHERE id = :id"), {"phone": "0" + phone, "id": volunteer_id}
            )


def downgrade() -> None:
    op.execute("UPDATE servicerecord SET source = 'manual' WHERE source = 'balance'")
