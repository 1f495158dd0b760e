"""The audit trail: every change an operator, a coordinator or a person made. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
import json

from sqlmodel import Session

from storage.models import (
    AuditEntry,
)


def record_audit(
    session: Session,
    now: dt.datetime,
    actor: str,
    action: str,
    target: str,
    reason: str | None,
    details: dict,
) -> None:
    session.add(
        AuditEntry(
            at=now,
            actor=actor,
            action=action,
            target=target,
            reason=reason,
            details=json.dumps(details, default=str),
        )
    )
