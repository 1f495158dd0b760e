"""People, their units and chat accounts, and invite codes. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.db import insert_ignoring_duplicates
from storage.driver import Prepared
from storage.models import (
    ChatAccount,
    CityAdministrator,
    InviteCode,
    Membership,
    Notification,
    Unit,
    Volunteer,
    WrongCodeAttempt,
)
from storage.vocabulary import Role

# The hot path's lookups (every event, every check-in) are built once: building a query is most of its cost.
_ACCOUNT_FOR = select(ChatAccount).where(
    col(ChatAccount.platform) == sa.bindparam("platform"),
    col(ChatAccount.platform_user_id) == sa.bindparam("user"),
)


def account_for(session: Session, platform: str, platform_user_id: str) -> ChatAccount | None:
    """The account as an object the session keeps: to change it."""
    return session.exec(_ACCOUNT_FOR, params={"platform": platform, "user": platform_user_id}).first()


_ACCOUNTS = ChatAccount.__table__  # type: ignore[attr-defined]
_ACCOUNT_ROW = Prepared(
    sa.select(*_ACCOUNTS.c).where(
        _ACCOUNTS.c.platform == sa.bindparam("platform"), _ACCOUNTS.c.platform_user_id == sa.bindparam("user")
    )
)


def account_row(session: Session, platform: str, platform_user_id: str) -> Any:
    """The account as a row with ChatAccount's fields, or None: what every event reads first (the router's
    Context.account). Changed through mark_reachable and set_awaiting, or, read again, through account_for."""
    return _ACCOUNT_ROW.first(session, platform=platform, user=platform_user_id)


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


_UNITS = Unit.__table__  # type: ignore[attr-defined]
_MEMBERS = Membership.__table__  # type: ignore[attr-defined]
_UNITS_OF = Prepared(
    sa.select(*_UNITS.c, _MEMBERS.c.role)
    .join(_MEMBERS, _MEMBERS.c.unit_id == _UNITS.c.id)
    .where(_MEMBERS.c.volunteer_id == sa.bindparam("volunteer"))
    .order_by(_UNITS.c.id)
)


def units_of(session: Session, volunteer_id: int) -> list[tuple[Any, str]]:
    """The units a volunteer belongs to (rows with Unit's fields), with their role in each, in a stable order:
    every check-in reads them."""
    return [(unit, unit.role) for unit in _UNITS_OF.rows(session, volunteer=volunteer_id)]


def coordinated_units(session: Session, volunteer_id: int) -> list[Unit]:
    """The units a person may see and change: those they coordinate, and every unit of a city they administer."""
    cities = select(CityAdministrator.city).where(CityAdministrator.volunteer_id == volunteer_id)
    coordinates = select(Membership.unit_id).where(
        Membership.volunteer_id == volunteer_id, Membership.role == Role.COORDINATOR
    )
    return list(
        session.exec(
            select(Unit).where(sa.or_(Unit.id.in_(coordinates), Unit.city.in_(cities))).order_by(Unit.id)
        ).all()
    )


_CITY_ADMINISTRATORS = CityAdministrator.__table__  # type: ignore[attr-defined]


def coordinating(volunteer_id) -> sa.ColumnElement[bool]:
    """SQL: whether coordinated_units would name any unit for `volunteer_id` (a column or a parameter): the
    person coordinates a unit, or administers a city that has one."""
    return sa.or_(
        sa.exists().where(_MEMBERS.c.volunteer_id == volunteer_id, _MEMBERS.c.role == Role.COORDINATOR),
        sa.exists().where(
            _CITY_ADMINISTRATORS.c.volunteer_id == volunteer_id,
            _CITY_ADMINISTRATORS.c.city.in_(sa.select(_UNITS.c.city)),
        ),
    )


_COORDINATES_ANY = Prepared(sa.select(coordinating(sa.bindparam("volunteer")).label("coordinates")))


def coordinates_any(session: Session, volunteer_id: int) -> bool:
    """Whether coordinated_units would name any unit (one statement, on the driver's cursor)."""
    return bool(_COORDINATES_ANY.scalar(session, volunteer=volunteer_id))


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


# --- units ---------------------------------------------------------------------------------------


def unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


_CATEGORY_AND_CITY = Prepared(
    sa.select(_UNITS.c.category, _UNITS.c.city).where(_UNITS.c.id == sa.bindparam("unit"))
)


def category_and_city(session: Session, unit_id: int) -> tuple[str, str]:
    """A unit's service category and city: what the award rules count its minutes by."""
    category, city = _CATEGORY_AND_CITY.first(session, unit=unit_id)
    return category, city


def add_unit(
    session: Session,
    *,
    name: str,
    category: str,
    city: str,
    quiet_hours: str | None = None,
    created_at: dt.datetime,
) -> Unit:
    """A new unit, flushed so that it has its id; without quiet_hours it keeps the table's default."""
    row = Unit(name=name, category=category, city=city, created_at=created_at)
    if quiet_hours is not None:
        row.quiet_hours = quiet_hours
    session.add(row)
    session.flush()
    return row


def set_fields(session: Session, row, changes: dict):
    """Sets the fields of a row read from the store and saves it (with the caller's unit of work)."""
    for field, value in changes.items():
        setattr(row, field, value)
    session.add(row)
    return row


def savepoint(session: Session) -> AbstractContextManager:
    """`with savepoint(session):` — what the block changed is rolled back alone if it raises."""
    return session.begin_nested()


# --- volunteers and their places ------------------------------------------------------------------


def add_volunteer(
    session: Session,
    *,
    name: str,
    created_at: dt.datetime,
    birth_date: dt.date | None = None,
    gender: str | None = None,
    trained_on: dt.date | None = None,
) -> Volunteer:
    """A new person, flushed so that they have their id."""
    person = Volunteer(
        name=name, birth_date=birth_date, gender=gender, trained_on=trained_on, created_at=created_at
    )
    session.add(person)
    session.flush()
    return person


def volunteer_with_record_book_no(session: Session, record_book_no: str) -> Volunteer | None:
    return session.exec(select(Volunteer).where(Volunteer.record_book_no == record_book_no)).first()


def volunteer_with_phone(session: Session, phone: str) -> Volunteer | None:
    return session.exec(select(Volunteer).where(Volunteer.phone == phone)).first()


def add_membership(
    session: Session, volunteer_id: int, unit_id: int, role: str = Role.VOLUNTEER
) -> Membership:
    row = Membership(volunteer_id=volunteer_id, unit_id=unit_id, role=role)
    session.add(row)
    return row


def is_member(session: Session, volunteer_id: int, unit_id: int) -> bool:
    """Whether the person belongs to the unit, in any role."""
    return (
        session.exec(
            select(Membership.id).where(
                Membership.volunteer_id == volunteer_id, Membership.unit_id == unit_id
            )
        ).first()
        is not None
    )


def is_city_administrator(session: Session, volunteer_id: int, city: str) -> bool:
    return session.get(CityAdministrator, (volunteer_id, city)) is not None


def add_city_administrator(
    session: Session, volunteer_id: int, city: str, created_at: dt.datetime
) -> CityAdministrator:
    row = CityAdministrator(volunteer_id=volunteer_id, city=city, created_at=created_at)
    session.add(row)
    return row


# --- invite codes and chat links ------------------------------------------------------------------


def invite_code(session: Session, code: str) -> InviteCode | None:
    return session.get(InviteCode, code)


def add_invite_code(session: Session, code: str, volunteer_id: int, expires_at: dt.datetime) -> InviteCode:
    row = InviteCode(code=code, volunteer_id=volunteer_id, expires_at=expires_at)
    session.add(row)
    return row


def link_account(session: Session, account: ChatAccount, volunteer_id: int, now: dt.datetime) -> ChatAccount:
    """The chat account now belongs to the volunteer; its count of wrong codes starts again."""
    account.volunteer_id = volunteer_id
    account.linked_at = now
    account.wrong_codes, account.wrong_codes_since = 0, None
    session.add(account)
    return account


def deletion_requested(session: Session, volunteer_id: int) -> bool:
    """Whether the person asked to delete their data (a `delete-request` message to their coordinators)."""
    return (
        session.execute(
            sa.select(Notification.id).where(
                Notification.job == "delete-request",
                Notification.key.like(f"delete-request:{volunteer_id}:%"),
            )
        ).first()
        is not None
    )


def unlink_chat_accounts(session: Session, volunteer_id: int, now: dt.datetime) -> None:
    """Removes the person's chat accounts: the codes they used stay used, but no longer say by whom; their
    unused codes expire now."""
    accounts = sa.select(ChatAccount.id).where(ChatAccount.volunteer_id == volunteer_id)
    session.execute(
        sa.update(InviteCode)
        .where(InviteCode.used_by_account_id.in_(accounts))
        .values(used_by_account_id=None)
    )
    session.execute(sa.delete(ChatAccount).where(ChatAccount.volunteer_id == volunteer_id))
    session.execute(
        sa.update(InviteCode)
        .where(InviteCode.volunteer_id == volunteer_id, InviteCode.used_at.is_(None))
        .values(expires_at=now)
    )


def add_wrong_code(session: Session, platform: str, now: dt.datetime) -> None:
    session.add(WrongCodeAttempt(at=now, platform=platform))


def wrong_codes_since(session: Session, since: dt.datetime) -> int:
    """Wrong invite codes typed on any chat account since the instant."""
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(WrongCodeAttempt).where(col(WrongCodeAttempt.at) >= since)
        ).scalar_one()
    )


def prune_wrong_codes(session: Session, before: dt.datetime) -> int:
    pruned = session.execute(sa.delete(WrongCodeAttempt).where(col(WrongCodeAttempt.at) < before))
    return int(cast(sa.CursorResult, pruned).rowcount)


def unit_members_named(session: Session, unit_id: int | None, name: str) -> list[Volunteer]:
    """The unit's members (any role) of exactly this name, by id: who a new person might already be."""
    members = select(Membership.volunteer_id).where(Membership.unit_id == unit_id)
    return list(
        session.exec(
            select(Volunteer)
            .where(col(Volunteer.id).in_(members), Volunteer.name == name)
            .order_by(col(Volunteer.id))
        ).all()
    )


def mark_unreachable(session: Session, platform: str, platform_user_id: str, now: dt.datetime) -> bool:
    """The person blocked the bot on this platform: nothing is pushed to the account until they come back.
    True when the account is known (an unknown one has nothing to stop)."""
    account = account_for(session, platform, platform_user_id)
    if account is None:
        return False
    if account.unreachable_since is None:
        account.unreachable_since = now
        session.add(account)
    return True


_ACCOUNT_REACHABLE = Prepared(
    sa.update(_ACCOUNTS).where(_ACCOUNTS.c.id == sa.bindparam("b_id")).values(unreachable_since=None)
)


def mark_reachable(session: Session, account: Any) -> bool:
    """The person follows the bot again; True when the account (account_row's) had been unreachable."""
    if account.unreachable_since is None:
        return False
    _ACCOUNT_REACHABLE.run(session, b_id=account.id)
    return True


def unreachable_members(session: Session, unit_ids: list[int]) -> list[tuple[int, str, str, dt.datetime]]:
    """The units' members whose chat account has blocked the bot: (volunteer id, name, platform, since),
    by name. A member with another account still reachable is listed too: that account stays silent."""
    if not unit_ids:
        return []
    members = select(Membership.volunteer_id).where(col(Membership.unit_id).in_(unit_ids))
    rows = session.execute(
        sa.select(
            col(Volunteer.id),
            col(Volunteer.name),
            col(ChatAccount.platform),
            col(ChatAccount.unreachable_since),
        )
        .join(ChatAccount, col(ChatAccount.volunteer_id) == col(Volunteer.id))
        .where(col(Volunteer.id).in_(members), col(ChatAccount.unreachable_since).is_not(None))
        .order_by(col(Volunteer.name), col(Volunteer.id), col(ChatAccount.platform))
    ).all()
    return [(int(v), str(name), str(platform), since) for v, name, platform, since in rows]


_ACCOUNT_AWAITING = Prepared(
    sa.update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == sa.bindparam("b_id"))
    .values(awaiting=sa.bindparam("b_question"), awaiting_since=sa.bindparam("b_since"))
)


def set_awaiting(session: Session, account: Any, question: str | None, now: dt.datetime) -> None:
    """The question the bot has just asked on this account (account_row's; None: none)."""
    if account is None:
        return
    _ACCOUNT_AWAITING.run(session, b_id=account.id, b_question=question, b_since=now if question else None)


def take_awaiting(session: Session, account: Any, now: dt.datetime, within: dt.timedelta) -> str | None:
    """The question asked on this account no longer than `within` ago, if any; it is answered now (cleared)."""
    if account is None or account.awaiting is None:
        return None
    fresh = account.awaiting_since is not None and now - account.awaiting_since <= within
    question = account.awaiting if fresh else None
    set_awaiting(session, account, None, now)
    return question


def withdraw_deletion_request(session: Session, volunteer_id: int) -> int:
    """The person takes back their request to delete their data: its messages to the coordinators go (those
    not yet sent are not sent; a confirmation from one already read is refused). Returns how many went."""
    gone = session.execute(
        sa.delete(Notification).where(
            col(Notification.job) == "delete-request",
            col(Notification.key).like(f"delete-request:{volunteer_id}:%"),
        )
    )
    return int(cast(sa.CursorResult, gone).rowcount)
