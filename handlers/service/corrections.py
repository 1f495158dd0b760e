"""審核 / review and 更正 / correct: coordinators settle sessions waiting for review and correct records.

A recorded hour is never edited in place: approving moves a session from `review` to `counted` as it
was; a correction voids the record and adds a new one with the right hours and the reason; voiding keeps
the record, marked `void`. Every step is audited, and the volunteer is told what changed (a reminder-pass
notification, so quiet hours hold).
"""

from __future__ import annotations

import re

from handlers.context import Context
from handlers.formatting import hours_from_minutes, local_date, local_moment
from handlers.i18n import Translator
from handlers.notifications import Due, Translators, store_new
from handlers.types import Button, Reply
from handlers.validation import InputError, _
from storage import audit_store, people_store, service_store
from storage import reminder_store as store
from storage.models import ServiceRecord
from storage.vocabulary import RecordStatus

SHOWN = 8  # waiting sessions listed at once: the answer must fit on a phone screen
CORRECTION = re.compile(r"#?(\d{1,9})\s+(\d{1,3}(?:\.\d{1,2})?)\s+(.+)", re.DOTALL)


def _my_units(ctx: Context) -> list[int]:
    return [unit.id for unit in people_store.coordinated_units(ctx.session, ctx.volunteer_id)]


def _record_in_my_units(ctx: Context, text: str) -> ServiceRecord | None:
    """The record `#ID` names, only if it belongs to a unit this coordinator runs (else as if unknown)."""
    digits = text.strip().lstrip("#")
    if not digits.isdigit() or len(digits) > 9:
        return None
    record = service_store.record(ctx.session, int(digits))
    return record if record is not None and record.unit_id in _my_units(ctx) else None


# Four eyes: a coordinator's own hours are approved or corrected by another coordinator of the unit or the
# city's administrator (voiding one's own session only takes hours away, so it is allowed).
OWN_SESSION = _("Another coordinator of the unit must approve or correct your own session.")


def _own_session(t) -> Reply:
    return Reply(t(OWN_SESSION))


def review_list(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    units = _my_units(ctx)
    if not units:
        return [Reply(t("Only a unit's coordinator can review sessions."))]
    rows = service_store.records_to_review(ctx.session, units, SHOWN + 1)
    if not rows:
        return [Reply(t("No sessions are waiting for review."))]
    lines, buttons = [t("Sessions waiting for review")], []
    for record, person in rows[:SHOWN]:
        start = local_moment(record.check_in, ctx.rules.timezone, ctx.locale, ctx.today)
        end = local_moment(record.check_out, ctx.rules.timezone, ctx.locale, ctx.today)
        lines.append(
            f"#{record.id} {person.name}｜{start}–{end}｜"
            + t("{hours} h", hours=hours_from_minutes(record.minutes, ctx.locale))
        )
        if record.late_after is not None:  # a check-in or check-out that arrived after a later one
            lines.append(
                "  "
                + t(
                    "arrived late: sent at {time}, after the check-in or check-out of {later}",
                    time=start,
                    later=local_moment(record.late_after, ctx.rules.timezone, ctx.locale, ctx.today),
                )
            )
        buttons += [
            Button(t("Approve #{id}", id=record.id), t("approve") + f" #{record.id}"),
            Button(t("Void #{id}", id=record.id), t("void") + f" #{record.id}"),
        ]
    lines.append(t("To correct the hours, type: 更正 #number hours reason"))
    if len(rows) > SHOWN:
        lines.append(t("…and more: settle these first."))
    return [Reply("\n".join(lines), tuple(buttons))]  # beyond 13, LINE lists the words (channels/line.py)


def approve(ctx: Context, argument: str) -> list[Reply]:
    return _settle(ctx, argument, RecordStatus.COUNTED)


def void(ctx: Context, argument: str) -> list[Reply]:
    return _settle(ctx, argument, RecordStatus.VOID)


def _settle(ctx: Context, argument: str, status: str) -> list[Reply]:
    t = ctx.t
    record = _record_in_my_units(ctx, argument)
    if record is None:
        return [Reply(t("I cannot find that session among your units' records."))]
    counted = status == RecordStatus.COUNTED
    if counted and record.volunteer_id == ctx.volunteer_id:
        return [_own_session(t)]
    allowed = (RecordStatus.REVIEW,) if counted else (RecordStatus.REVIEW, RecordStatus.COUNTED)
    if not service_store.settle_record(ctx.session, record.id, allowed, status):
        return [Reply(t("Session #{id} was already settled.", id=record.id))]
    _audit(ctx, f"record.{'approve' if counted else 'void'}", record, None, {"status": status})
    _tell(
        ctx,
        record,
        lambda t: (
            t(
                "A coordinator approved your session of {date}: {hours} h count.",
                date=local_date(record.service_date, t.locale),
                hours=hours_from_minutes(record.minutes, t.locale),
            )
            if counted
            else t(
                "A coordinator voided your session of {date}; it does not count.",
                date=local_date(record.service_date, t.locale),
            )
        ),
    )
    done = t("Approved #{id}.", id=record.id) if counted else t("Voided #{id}.", id=record.id)
    return [Reply(done, (Button(t("Review"), t("review")),))]


def correct(ctx: Context, argument: str) -> list[Reply]:
    """更正 #ID HOURS REASON: the record is voided and a new one with these hours and the reason is added."""
    t = ctx.t
    match = CORRECTION.fullmatch(argument.strip())
    record = _record_in_my_units(ctx, match[1]) if match else None
    if match is None or record is None or record.status not in (RecordStatus.REVIEW, RecordStatus.COUNTED):
        return [
            Reply(
                t(
                    "Type: 更正 #number hours reason (a session of your units that counts or waits for review)."
                )
            )
        ]
    try:
        return _correct(ctx, record, *correction_values(match[2], match[3]))
    except InputError as error:
        return [Reply(error.in_words(t))]


HOURS = re.compile(r"\d{1,3}(?:\.\d{1,2})?")


def correction_values(hours: str, reason: str) -> tuple[int, str]:
    """The minutes and the reason of a correction, checked; InputError naming the field otherwise."""
    hours = hours.strip()
    minutes = round(float(hours) * 60) if HOURS.fullmatch(hours) else -1
    if not 0 <= minutes <= 24 * 60:
        raise InputError(
            f"the hours must be between 0 and 24, not {hours!r}",
            said=_("The hours must be between 0 and 24."),
            field="hours",
        )
    reason = " ".join(reason.split())[:200]
    if not reason:
        raise InputError(
            "a correction needs a reason",
            said=_("Please give the reason for the correction."),
            field="reason",
        )
    return minutes, reason


def correct_fields(ctx: Context, record_id: int, hours: str, reason: str) -> list[Reply]:
    """更正 from a form (the console): the hours and the reason as typed. What is wrong with them, and
    a session that cannot be corrected, raises InputError (the form shows it beside the field)."""
    minutes, reason = correction_values(hours, reason)
    record = _record_in_my_units(ctx, str(record_id))
    if record is None or record.status not in (RecordStatus.REVIEW, RecordStatus.COUNTED):
        raise InputError(
            f"record {record_id} cannot be corrected",
            said=_("Session #{id} was already settled."),
            id=record_id,
        )
    return _correct(ctx, record, minutes, reason)


def _correct(ctx: Context, record: ServiceRecord, minutes: int, reason: str) -> list[Reply]:
    t = ctx.t
    if record.volunteer_id == ctx.volunteer_id:
        raise InputError("one's own session", said=OWN_SESSION)
    if not service_store.settle_record(ctx.session, record.id, (record.status,), RecordStatus.VOID):
        raise InputError(
            f"record {record.id} was already settled",
            said=_("Session #{id} was already settled."),
            id=record.id,
        )
    fixed = service_store.add_correction(
        ctx.session,
        record,
        minutes,
        f"volunteer:{ctx.volunteer_id}",
        f"correction of record {record.id}: {reason}",
        ctx.now,
    )
    _audit(
        ctx, "record.correct", record, reason, {"new_record": fixed.id, "minutes": [record.minutes, minutes]}
    )
    _tell(
        ctx,
        record,
        lambda t: t(
            "A coordinator corrected your session of {date} to {hours} h: {reason}",
            date=local_date(record.service_date, t.locale),
            hours=hours_from_minutes(minutes, t.locale),
            reason=reason,
        ),
    )
    return [
        Reply(
            t(
                "Corrected #{id}: {hours} h (new record #{new}).",
                id=record.id,
                hours=hours_from_minutes(minutes, ctx.locale),
                new=fixed.id,
            ),
            (Button(t("Review"), t("review")),),
        )
    ]


def _audit(ctx: Context, action: str, record: ServiceRecord, reason: str | None, details: dict) -> None:
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{ctx.volunteer_id}",
        action,
        f"record:{record.id}",
        reason,
        details,
    )


def _tell(ctx: Context, record: ServiceRecord, words) -> None:
    people = store.recipients_of(ctx.session, [record.volunteer_id], "checkout")

    def reply(t: Translator) -> Reply:
        return Reply(words(t), (Button(t("My hours"), t("hours")),))

    found = [
        Due("correction", f"{record.id}:{ctx.now:%Y%m%d%H%M%S%f}", person, reply, ctx.now, None, "checkout")
        for person in people
    ]
    store_new(ctx.session, ctx.now, found, Translators(ctx.catalogs, ctx.rules))
