"""People's rights over their data, and messages to their coordinators.

我的資料 / my data: what is stored about the person. 我的姓名 NAME: correct the name (the language: 語言).
刪除我的資料 / delete my data: a coordinator confirms (確認刪除 N), then the person's identity and chat links
are removed while the unit's hour totals stay, as anonymous figures. 請假 DATE REASON and 意見 TEXT reach
the unit's coordinators (through the reminder pass, so quiet hours hold).
"""

from __future__ import annotations

import datetime as dt

from handlers.context import Context
from handlers.formatting import local_date
from handlers.guide import main_buttons
from handlers.i18n import Translator, native_name
from handlers.notifications import tell_coordinators
from handlers.people.erasure import ANONYMOUS, erase_person
from handlers.people.roster_import import parse_date
from handlers.types import Button, Reply
from handlers.validation import MAX_NAME, InputError, clean_name
from storage import audit_store, people_store

MAX_MESSAGE = 300
# Questions the bot asks and a short answer right after takes back (people_store.set_awaiting).
DELETION_QUESTION = "delete-my-data"
DELETION_SENT = "delete-request-sent"
ANSWER_WITHIN = dt.timedelta(minutes=15)


def my_data(ctx: Context, _argument: str) -> list[Reply]:
    t = ctx.t
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)
    unknown = t("not recorded")

    def shown(value) -> str:
        if value is None or value == "":
            return unknown
        return local_date(value, ctx.locale) if isinstance(value, dt.date) else str(value)

    units = people_store.units_of(ctx.session, person.id)
    accounts = people_store.linked_accounts(ctx.session, person.id)
    lines = [
        t("What your unit keeps about you"),
        t("Name: {value}", value=person.name),
        t("Birth date: {value}", value=shown(person.birth_date)),
        t("Phone: {value}", value=shown(person.phone)),
        t("Record book: {value}", value=shown(person.record_book_no)),
        t("English name: {value}", value=shown(person.english_name)),
        t("Accident insurance until: {value}", value=shown(person.insured_until)),
        t("Units: {value}", value="、".join(unit.name for unit, _role in units) or unknown),
        t("Chat accounts: {value}", value="、".join(a.platform for a in accounts)),
        t("Language: {value}", value=native_name(ctx.locale)),
        "",
        t("To correct your name, type 我的姓名 and the name. Your service times are kept as hours."),
    ]
    # The everyday buttons first; deleting is asked again before anything happens.
    return [Reply("\n".join(lines), (*main_buttons(ctx), Button(t("Delete my data"), t("delete my data"))))]


def my_name(ctx: Context, argument: str) -> list[Reply]:
    t = ctx.t
    if len(" ".join(argument.split())) > MAX_NAME:  # said, not silently cut
        return [Reply(t("A name can have at most {max} characters.", max=MAX_NAME))]
    try:
        name = clean_name(argument, "volunteer")
    except InputError:
        return [Reply(t("Type 我的姓名 and your name, e.g. 我的姓名 王小明."))]
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)
    before = person.name
    people_store.set_fields(ctx.session, person, {"name": name})
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{person.id}",
        "volunteer.name",
        f"volunteer:{person.id}",
        "corrected by the person",
        {"before": before, "after": name},
    )
    return [Reply(t("Your name is now {name}.", name=name))]


def _tell_coordinators(ctx: Context, job: str, which: str, words) -> int:
    """The coordinators of all the person's units."""
    units = [unit.id for unit, _role in people_store.units_of(ctx.session, ctx.volunteer_id)]
    return tell_coordinators(ctx, units, job, which, words)


def leave(ctx: Context, argument: str) -> list[Reply]:
    """請假 DATE REASON: the coordinators hear that the person will not come."""
    t = ctx.t
    day_text, _, reason = argument.strip().partition(" ")
    try:
        day = parse_date(day_text)
    except ValueError:
        day = None
    if day is None or day < ctx.today:
        return [Reply(t("Type 請假, the date and the reason, e.g. 請假 2026-04-02 看醫生."))]
    name = people_store.volunteer(ctx.session, ctx.volunteer_id).name
    reason = " ".join(reason.split())[:MAX_MESSAGE]

    def words(t: Translator) -> Reply:
        return Reply(
            t(
                "📝 {name} asks for leave on {date}: {reason}",
                name=name,
                date=local_date(day, t.locale),
                reason=reason or "—",
            )
        )

    _tell_coordinators(ctx, "leave", f"{ctx.volunteer_id}:{day}:{ctx.now:%Y%m%d%H%M%S%f}", words)
    return [
        Reply(t("Your leave on {date} has been sent to your coordinator.", date=local_date(day, ctx.locale)))
    ]


def feedback(ctx: Context, argument: str) -> list[Reply]:
    t = ctx.t
    text = " ".join(argument.split())[:MAX_MESSAGE]
    if not text:
        return [Reply(t("Type 意見 and your message, e.g. 意見 希望增加週末班表."))]
    name = people_store.volunteer(ctx.session, ctx.volunteer_id).name

    def words(t: Translator) -> Reply:
        return Reply(t("💬 {name} writes: {text}", name=name, text=text))

    _tell_coordinators(ctx, "feedback", f"{ctx.volunteer_id}:{ctx.now:%Y%m%d%H%M%S%f}", words)
    return [Reply(t("Thank you! Your message has been sent to your coordinator."))]


def _says(ctx: Context, argument: str, msgid: str) -> bool:
    """Whether the argument is `msgid` (yes, no) in any shipped language."""
    typed = argument.strip().casefold()
    return bool(typed) and any(
        typed == ctx.catalogs.translator(locale)(msgid).casefold() for locale in ctx.catalogs.locales
    )


def delete_request(ctx: Context, argument: str) -> list[Reply]:
    """刪除我的資料 explains what goes and what stays and asks again; only `刪除我的資料 確定` sends the request,
    which a coordinator of one of their units then confirms with the button it gets. Nothing irreversible
    happens in one tap, and the destructive button is never the first."""
    t = ctx.t
    if _says(ctx, argument, "no"):
        return [Reply(t("Nothing was deleted. Your data stays as it is."), main_buttons(ctx))]
    if not _says(ctx, argument, "yes"):
        people_store.set_awaiting(ctx.session, ctx.account, DELETION_QUESTION, ctx.now)
        return [
            Reply(
                t(
                    "Do you really want your data deleted? Your name, birth date, phone, record-book number, "
                    "chat accounts and what you wrote here will be removed for good, and you can no longer check "
                    "in with this chat or see your hours and awards. Your hours stay only as anonymous figures "
                    "of the unit. A coordinator confirms it."
                ),
                (
                    Button(t("No, keep my data"), t("delete my data") + " " + t("no")),
                    Button(t("My hours"), t("hours")),
                    Button(t("Yes, delete my data"), t("delete my data") + " " + t("yes")),
                ),
            )
        ]
    person = people_store.volunteer(ctx.session, ctx.volunteer_id)

    def words(t: Translator) -> Reply:
        return Reply(
            t(
                "🗑 {name} (number {id}) asks to delete their data. Their hours stay as anonymous totals.",
                name=person.name,
                id=person.id,
            ),
            (Button(t("Confirm deletion"), t("confirm delete") + f" {person.id}"),),
        )

    _tell_coordinators(ctx, "delete-request", str(person.id), words)
    people_store.set_awaiting(ctx.session, ctx.account, DELETION_SENT, ctx.now)
    return [
        Reply(
            t(
                "Your request has been sent. A coordinator will confirm it; then your name and chat links "
                "are removed, and your hours stay only as anonymous totals of the unit."
            )
        )
    ]


def question_just_asked(ctx: Context) -> str | None:
    """The question the bot asked this person within ANSWER_WITHIN, which their message now answers."""
    return people_store.take_awaiting(ctx.session, ctx.account, ctx.now, ANSWER_WITHIN)


def answers_a_deletion_question(ctx: Context, asked: str | None, intent: str | None, argument: str) -> bool:
    """Whether what the person typed right after the deletion question (or after sending the request) takes it
    back: 取消 / cancel alone, or 不要 / no, in any shipped language, rather than a shift's 取消."""
    if asked not in (DELETION_QUESTION, DELETION_SENT):
        return False
    return (intent == "cancel" and not argument.strip()) or (intent is None and _says(ctx, argument, "no"))


def take_back_deletion(ctx: Context, asked: str | None) -> list[Reply]:
    """取消 after the deletion question: nothing happens; after the request was sent: it is withdrawn."""
    t = ctx.t
    if asked == DELETION_SENT and people_store.withdraw_deletion_request(ctx.session, ctx.volunteer_id):
        audit_store.record_audit(
            ctx.session,
            ctx.now,
            f"volunteer:{ctx.volunteer_id}",
            "volunteer.delete-withdrawn",
            f"volunteer:{ctx.volunteer_id}",
            "withdrawn by the person",
            {},
        )
        return [
            Reply(t("Your request to delete your data is withdrawn. Nothing was deleted."), main_buttons(ctx))
        ]
    return [Reply(t("Nothing was deleted. Your data stays as it is."), main_buttons(ctx))]


def confirm_delete(ctx: Context, argument: str) -> list[Reply]:
    """確認刪除 N: a coordinator of one of the person's units removes their identity; hours stay anonymous."""
    t = ctx.t
    mine = {unit.id for unit in people_store.coordinated_units(ctx.session, ctx.volunteer_id)}
    target = int(argument) if argument.strip().isdigit() and len(argument.strip()) < 10 else None
    theirs = {unit.id for unit, _role in people_store.units_of(ctx.session, target)} if target else set()
    if not mine & theirs:
        return [Reply(t("Only a coordinator of the person's unit can confirm a deletion."))]
    if people_store.volunteer(ctx.session, target).name == ANONYMOUS:
        return [Reply(t("That person's data is already deleted."))]
    if not people_store.deletion_requested(ctx.session, target):
        return [Reply(t("That person has not asked to delete their data."))]
    erase_person(ctx.session, ctx.now, target)
    audit_store.record_audit(
        ctx.session,
        ctx.now,
        f"volunteer:{ctx.volunteer_id}",
        "volunteer.delete",
        f"volunteer:{target}",
        "the person asked",
        {},
    )
    return [
        Reply(
            t("Done: the person's identity and chat links are removed; their hours stay as anonymous totals.")
        )
    ]
