"""People, their units and chat accounts, and invite codes. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.db import insert_ignoring_duplicates
from storage.models import (
    ChatAccount,
    CityAdministrator,
    InviteCode,
    Membership,
    Unit,
    Volunteer,
)


def account_for(session: Session, platform: str, platform_user_id: str) -> ChatAccount | None:
    return session.exec(
        select(ChatAccount).where(
            ChatAccount.platform == platform, ChatAccount.platform_user_id == platform_user_id
        )
    ).first()


def ensure_account(session: Session, platform: str, platform_user_id: str) -> ChatAccount:
    """The person's account row, created if this is their first time (safe when two arrive at once)."""
    insert_ignoring_duplicates(
        session,
        ChatAccount,
        [{"platform": platform, "platform_user_id": platform_user_id}],
        ["platform", "platform_user_id"],
    )
    account = account_for(session, platform, platform_user_id)
    assert account is not None
    return account


def units_of(session: Session, volunteer_id: int) -> list[tuple[Unit, str]]:
    """The units a volunteer belongs to, with their role in each, in a stable order."""
    rows = session.exec(
        select(Unit, Membership.role)
        .join(Membership, Membership.unit_id == Unit.id)
        .where(Membership.volunteer_id == volunteer_id)
        .order_by(Unit.id)
    ).all()
    return [(unit, role) for unit, role in rows]


def coordinated_units(session: Session, volunteer_id: int) -> list[Unit]:
    """The units a person may see and change: those they coordinate, and every unit of a city they administer."""
    cities = select(CityAdministrator.city).where(CityAdministrator.volunteer_id == volunteer_id)
    coordinates = select(Membership.unit_id).where(
        Membership.volunteer_id == volunteer_id, Membership.role == "coordinator")
    return list(session.exec(
        select(Unit).where(sa.or_(Unit.id.in_(coordinates), Unit.city.in_(cities))).order_by(Unit.id)).all())


def all_units(session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.id)).all())


def linked_accounts(session: Session, volunteer_id: int) -> list[ChatAccount]:
    return list(session.exec(select(ChatAccount).where(ChatAccount.volunteer_id == volunteer_id)).all())


def use_invite_code(session: Session, code: str, account_id: int, now: dt.datetime) -> InviteCode | None:
    """Marks the code used by this account if it is still unused and unexpired; atomic, so a code works once."""
    claimed = session.execute(
        sa.update(InviteCode)
        .where(InviteCode.code == code, InviteCode.used_at.is_(None), InviteCode.expires_at > now)
        .values(used_at=now, used_by_account_id=account_id)
    ).rowcount
    if not claimed:
        return None
    return session.get(InviteCode, code)


def volunteer(session: Session, volunteer_id: int) -> Volunteer | None:
    return session.get(Volunteer, volunteer_id)
