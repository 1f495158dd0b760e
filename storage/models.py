"""The tables. Times are stored as UTC (SQLite keeps no offsets) and come back time-zone aware."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator):
    """Aware datetimes in, naive UTC in the column, aware UTC out — the same on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def utc_field(**kwargs):
    return Field(sa_type=UTCDateTime, **kwargs)


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    category: str = "general"
    city: str = "other"
    # Local "HH:MM-HH:MM" during which no reminder is pushed (it waits for the morning).
    quiet_hours: str = Field(default="21:00-08:00", sa_column_kwargs={"server_default": "21:00-08:00"})
    created_at: dt.datetime = utc_field()


class Volunteer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    birth_date: dt.date | None = None
    gender: str | None = None
    trained_on: dt.date | None = None  # both trainings done by then, when the roster knows no more
    record_book_no: str | None = None
    record_book_date: dt.date | None = None
    english_name: str | None = None
    first_service_date: dt.date | None = None  # from a record-book balance brought in
    phone: str | None = Field(default=None, index=True)  # a roster's second key after the record-book number
    insured_until: dt.date | None = None  # accident insurance (意外事故保險) valid until
    created_at: dt.datetime = utc_field()


class TrainingRecord(SQLModel, table=True):
    """A training a volunteer completed. kind: basic, special (with its category), in-service, observation."""

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    kind: str
    category: str | None = None
    course: str | None = None
    date: dt.date
    minutes: int
    recorded_by: str
    created_at: dt.datetime = utc_field()


class TrainingClass(SQLModel, table=True):
    """A training a unit will hold, shown to its volunteers (and reminded of, later)."""

    __tablename__ = "trainingsession"  # its name before "session" came to mean the database's only

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    title: str
    kind: str
    starts_at: dt.datetime = utc_field(index=True)  # the reminder job looks for sessions about to start
    ends_at: dt.datetime = utc_field()
    place: str | None = None
    created_at: dt.datetime = utc_field()


class AwardRule(SQLModel, table=True):
    """One row of the award table (storage/seeds/awards.toml), as JSON.

    seeded_definition is what `vbot init` last wrote: while definition still equals it, a newer seed may
    replace both; once someone changed definition, init leaves the row alone.
    """

    code: str = Field(primary_key=True)
    definition: str
    seeded_definition: str
    updated_at: dt.datetime = utc_field()


class AwardGrant(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("volunteer_id", "award_code", "granted_on"),)
    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    award_code: str
    granted_on: dt.date
    recorded_by: str
    created_at: dt.datetime = utc_field()


class Membership(SQLModel, table=True):
    """A volunteer's place in a unit; role is `volunteer` or `coordinator`."""

    __table_args__ = (sa.UniqueConstraint("volunteer_id", "unit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = "volunteer"


class CityAdministrator(SQLModel, table=True):
    """A city's administrator (市府承辦): sees and changes every unit of that city, like their coordinators."""

    volunteer_id: int = Field(foreign_key="volunteer.id", primary_key=True)
    city: str = Field(primary_key=True)
    created_at: dt.datetime = utc_field()


class ChatAccount(SQLModel, table=True):
    """A person on a chat platform; linked to a volunteer once they used an invite code."""

    __table_args__ = (sa.UniqueConstraint("platform", "platform_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    platform_user_id: str
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True)
    chosen_locale: str | None = None
    linked_at: dt.datetime | None = utc_field(default=None)
    # Wrong invite codes in the current hour: guessing eight digits must not be a way in.
    wrong_codes: int = 0
    wrong_codes_since: dt.datetime | None = utc_field(default=None)
    # The LINE rich menu linked to this person (LineRichMenu.line_id); None = the channel's default menu.
    rich_menu: str | None = None
    # Since when the person has blocked the bot (LINE unfollow, Telegram kicked): nothing is pushed to it
    # (a LINE push would spend the month's quota, a Telegram one is refused) until they follow it again.
    unreachable_since: dt.datetime | None = utc_field(default=None)
    # A question the bot has just asked this person (`delete-my-data`) and since when: a short answer such as
    # 取消 right after it answers the question, not whatever the word means otherwise (a shift's 取消).
    awaiting: str | None = None
    awaiting_since: dt.datetime | None = utc_field(default=None)


class WrongCodeAttempt(SQLModel, table=True):
    """A wrong invite code, whoever typed it: guessing is limited over all chat accounts, not only per account.
    Nothing of the code or the account is kept; rows older than a day are pruned."""

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_field(index=True)
    platform: str


class InviteCode(SQLModel, table=True):
    code: str = Field(primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    expires_at: dt.datetime = utc_field()
    used_at: dt.datetime | None = utc_field(default=None)
    used_by_account_id: int | None = Field(default=None, foreign_key="chataccount.id")


class ServiceRecord(SQLModel, table=True):
    """One session or one hand-entered amount of time.

    status: `open` (checked in), `counted`, `review` (waits for a coordinator), `void`.
    Only `counted` records of kind `service` add to service hours.
    """

    __table_args__ = (
        # One open session per volunteer, enforced by the database so that two check-ins
        # arriving at the same instant cannot both open one.
        sa.Index(
            "one_open_session_per_volunteer",
            "volunteer_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.Index(
            "service_record_hours", "volunteer_id", "status", "kind", "service_date", "unit_id", "minutes"
        ),
        # A unit's visits open now or waiting for review (the console's Today) among its million records.
        sa.Index("service_record_unit_status", "unit_id", "status"),
        # A person's visit that ended last (what every check-in asks, storage/service_store.py): read from the
        # newest end back, not sorted out of all their years of visits (3,000 visits: 1.5 ms → µs a check-in).
        sa.Index("service_record_latest_end", "volunteer_id", "check_out", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id")
    unit_id: int = Field(foreign_key="unit.id", index=True)
    kind: str = "service"
    source: str = "chat"
    status: str = "open"
    check_in: dt.datetime | None = utc_field(default=None)
    check_out: dt.datetime | None = utc_field(default=None)
    minutes: int = 0
    service_date: dt.date
    recorded_by: str
    note: str | None = None
    created_at: dt.datetime = utc_field()
    # At an event: the shift it was served in, a walk-up (not on the roster), and who checked in for the
    # volunteer when a coordinator did (`volunteer:<id>`).
    shift_id: int | None = Field(default=None, foreign_key="shift.id", index=True)
    walk_up: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    checked_in_by: str | None = None
    # A check-in or check-out that reached the bot after a later one of the same person (a redelivery):
    # kept in `review` with its own time (check_in) and the time of the later event it arrived after.
    # On an open visit: the latest check-in that came while it was open (cleared when it closes).
    late_after: dt.datetime | None = utc_field(default=None)


class ServiceTotal(SQLModel, table=True):
    """Counted service minutes of a member in a unit, all time, kept by triggers (storage/totals_store.py)."""

    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    unit_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    minutes: int
    records: int
    first_day: dt.date
    last_day: dt.date


class ServiceMonth(SQLModel, table=True):
    """Counted service minutes of a member in a unit in one month (`month`: its first day), kept by triggers."""

    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    unit_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    month: dt.date = Field(primary_key=True, index=True)
    minutes: int
    records: int
    first_day: dt.date
    last_day: dt.date


class AwardChange(SQLModel, table=True):
    """How often a member's award facts changed (their service months, trainings, grants, memberships,
    record-book fields), counted by triggers (storage/standing_store.py): a standing kept at a lower count is
    stale."""

    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int = 0


class AwardHeadroom(SQLModel, table=True):
    """How far a member is from every award a check-out could newly reach (handlers/awards/progress.py), kept at
    their check-outs: while their award facts stay at AwardChange `version` and the award table at `rules` (a
    digest), fewer than `minutes` more counted minutes reach none on `since` or a later day."""

    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    version: int
    minutes: int
    since: dt.date
    rules: str


class AwardMark(SQLModel, table=True):
    """A member's standing in a unit is kept (AwardStanding) as of `as_of`, for the award table and units
    `context` (a digest), at their AwardChange `version`."""

    unit_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    as_of: dt.date
    context: str
    version: int


class AwardStanding(SQLModel, table=True):
    """One row of a unit's award list as the engine gave it (handlers/awards/eligibility.py, within the kept
    hours): a member who reached an award or is near it, what they still need. `position`: the row's place among
    the member's rows, as the engine gave them. `missing`: a JSON list of requirement codes."""

    __table_args__ = (sa.Index("ix_awardstanding_list", "unit_id", "award", "minutes_needed"),)
    unit_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    volunteer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    award: str = Field(primary_key=True)
    position: int
    eligible: bool
    reached: bool
    minutes_needed: int
    missing: str
    next_deadline: dt.date | None = None
    round_year: int | None = None
    counted_until: dt.date | None = None


class AuditEntry(SQLModel, table=True):
    """Who changed what, when and why: every manual entry and every correction."""

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_field()
    actor: str
    action: str
    target: str
    reason: str | None = None
    details: str = "{}"


class InboxEvent(SQLModel, table=True):
    """A platform event stored before the webhook answers 200; processed once by whichever worker claims it."""

    __table_args__ = (
        sa.UniqueConstraint("platform", "event_key"),
        sa.Index("inbox_pending", "processed_at", "claimed_until"),
        sa.Index("inbox_sender_order", "platform", "sender", "processed_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    event_key: str
    sender: str = ""
    payload: str
    received_at: dt.datetime = utc_field()
    claimed_until: dt.datetime | None = utc_field(default=None)
    claim_token: str | None = None
    attempts: int = 0
    processed_at: dt.datetime | None = utc_field(default=None)
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    """A message to deliver once: written in the same transaction as the change it reports."""

    __table_args__ = (sa.Index("outbox_pending", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    recipient: str
    reply_token: str | None = None
    reply_token_expires_at: dt.datetime | None = utc_field(default=None)
    payload: str
    # LINE multicast: a JSON list of user ids (then `recipient` is empty); one call reaches up to 500.
    recipients: str | None = None
    retry_key: str
    status: str = "pending"
    attempts: int = 0
    # A long answer goes as several requests (LINE: 5 messages each; Telegram: 4,096 characters each); a retry
    # resumes after the parts already delivered.
    parts_sent: int = 0
    # The last attempt's outcome is unknown (no answer came, or the process died with it in flight): a LINE
    # reply is then not turned into a paid push (bot/channels/line.py says what is done instead).
    in_doubt: bool = False
    next_attempt_at: dt.datetime = utc_field()
    claimed_until: dt.datetime | None = utc_field(default=None)
    claim_token: str | None = None
    sent_at: dt.datetime | None = utc_field(default=None)
    sent_by: str | None = None
    last_error: str | None = None
    created_at: dt.datetime = utc_field()


class Notification(SQLModel, table=True):
    """One reminder for one chat account, stored under a unique key before anything is sent.

    key names what, for whom and which occurrence (e.g. `training-hour:12:34`): a second pass, a restart or
    another process computing the same reminder finds the key taken and adds nothing. A pass turns the due
    ones into outbox messages (status `queued`) in one transaction; past `expires_at` they are `dropped`.
    priority 0 goes first when LINE's monthly quota runs low; 1 (nudges) waits.
    """

    __table_args__ = (sa.Index("notification_due", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    job: str
    category: str
    priority: int = 0
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    platform: str
    recipient: str
    payload: str
    due_at: dt.datetime = utc_field()
    expires_at: dt.datetime | None = utc_field(default=None)
    status: str = "pending"
    subject: int | None = None  # what it is about (a training session, a service record): lets a pass drop it
    # For a deadline alert: which deadline and occurrence its "done" button closes.
    deadline: str | None = None
    occurrence: dt.date | None = None
    created_at: dt.datetime = utc_field()
    settled_at: dt.datetime | None = utc_field(default=None)


class ReminderOptOut(SQLModel, table=True):
    """A category of reminders a person turned off (`提醒 關`)."""

    volunteer_id: int = Field(foreign_key="volunteer.id", primary_key=True)
    category: str = Field(primary_key=True)
    created_at: dt.datetime = utc_field()


class UnitDeadline(SQLModel, table=True):
    """A unit's own deadline or yearly-plan item (`vbot deadline add`), alerted like the shipped calendar."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    title: str
    date: dt.date
    remind: str = "14,3,1,0"  # days before
    yearly: bool = False
    # Repeats on the date's day in these months, every year ("1,2,…,12" monthly, "7,8,…,12" for 招募
    # July–December); None: once, or yearly.
    months: str | None = None
    created_at: dt.datetime = utc_field()


class DeadlineDone(SQLModel, table=True):
    """A deadline a coordinator marked done for one occurrence: no more alerts until the next one."""

    __table_args__ = (sa.UniqueConstraint("unit_id", "deadline", "occurrence"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id")
    deadline: str  # a code of storage/seeds/deadlines.toml, or `unit-<id>` for a UnitDeadline
    occurrence: dt.date
    done_by: int | None = Field(default=None, foreign_key="volunteer.id")
    done_at: dt.datetime = utc_field()


class JobRun(SQLModel, table=True):
    """A periodic job's occurrence that has run (`award-nudge:2026-11`): costly jobs run once per occurrence."""

    key: str = Field(primary_key=True)
    ran_at: dt.datetime = utc_field()


class Event(SQLModel, table=True):
    """An event of a unit (a festival, a marathon) with shifts; volunteers check in with its code.

    walk_ups: `allow` or `refuse` people not on a shift's roster (flagged for the coordinator either way).
    credit: how hours are credited: `actual` time, `capped` at the shift's end plus grace_minutes, or
    `lateness` (capped, and an hour less for coming more than 15 minutes late, domain.md).
    """

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    title: str
    place: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None  # set: checking in needs a shared location within it, or a coordinator
    starts_at: dt.datetime = utc_field()
    ends_at: dt.datetime = utc_field()
    code: str = Field(unique=True)  # the poster's check-in code
    secret: str  # derives the rotating code and signs the kiosk link
    rotating_code: bool = False
    walk_ups: str = "allow"
    credit: str = "actual"
    grace_minutes: int = 0
    created_at: dt.datetime = utc_field()


class Shift(SQLModel, table=True):
    """A post at an event for a time; `taken` places of `capacity` (changed only by conditional updates)."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    post: str | None = None
    starts_at: dt.datetime = utc_field(index=True)
    ends_at: dt.datetime = utc_field()
    capacity: int
    taken: int = 0
    created_at: dt.datetime = utc_field()


class RosterEntry(SQLModel, table=True):
    """A volunteer on a shift's roster; status `signed` or `cancelled`."""

    __table_args__ = (sa.UniqueConstraint("shift_id", "volunteer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    shift_id: int = Field(foreign_key="shift.id", index=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    status: str = "signed"
    added_by: str
    created_at: dt.datetime = utc_field()
    cancelled_at: dt.datetime | None = utc_field(default=None)


class LineRichMenu(SQLModel, table=True):
    """A LINE rich menu `vbot line setup` made, one per audience (`volunteer`, `coordinator`) and language."""

    __table_args__ = (sa.UniqueConstraint("audience", "locale"),)
    id: int | None = Field(default=None, primary_key=True)
    audience: str
    locale: str
    line_id: str  # richMenuId on LINE
    created_at: dt.datetime = utc_field()


class ConsoleLink(SQLModel, table=True):
    """A one-time sign-in link to the coordinator console (管理 / console): its token's SHA-256 only."""

    token_hash: str = Field(primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    created_at: dt.datetime = utc_field()
    expires_at: dt.datetime = utc_field()
    used_at: dt.datetime | None = utc_field(default=None)


class ConsoleSession(SQLModel, table=True):
    """A browser signed in to the console: the cookie's SHA-256, its CSRF token, when it was last used."""

    token_hash: str = Field(primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    csrf: str
    created_at: dt.datetime = utc_field()
    last_seen_at: dt.datetime = utc_field()
    ended_at: dt.datetime | None = utc_field(default=None)
