"""LINE rich menus: `vbot line setup` makes them, and the pipeline keeps each person's menu right afterwards.

One menu per audience (volunteers; coordinators, who also get the live view, reviews and award lists)
and per shipped language. The volunteer menu in VBOT_LOCALE is the channel's default; everyone else (a
chosen language, or a coordinator) has their menu linked to them, remembered in ChatAccount.rich_menu.
Every button sends a chat word in the menu's language, so a tap is a typed message to the router.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import sqlalchemy as sa
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    MessageAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    RichMenuSize,
)
from sqlmodel import Session, select

from handlers.i18n import Catalogs, Translator
from handlers.validation import _
from storage import people_store
from storage.db import UnitOfWork
from storage.driver import Prepared
from storage.models import ChatAccount, LineRichMenu

log = logging.getLogger(__name__)

PREFIX = "vbot:"  # the names of the menus this bot made: setup deletes those, and no other
AUDIENCES = ("volunteer", "coordinator")
# (width, height, columns, rows): a half-height menu of six for volunteers; coordinators get nine.
LAYOUTS = {"volunteer": (2500, 843, 3, 2), "coordinator": (2500, 1686, 3, 3)}
BULK_LIMIT = 500  # user ids per bulk link or unlink call
CHAT_BAR_TEXT_LENGTH = 14
ACTION_LABEL_LENGTH = 20


# --- what the menus hold -------------------------------------------------------------------------


def buttons(audience: str, t: Translator) -> list[tuple[str, str, str]]:
    """(icon, label, chat word) of each area, row by row; the words are those the guide's buttons send."""
    volunteer = [
        ("checkin", t("Check in"), t("check in")),
        ("checkout", t("Check out"), t("check out")),
        ("hours", t("My hours"), t("hours")),
        ("awards", t("My awards"), t("awards")),
        ("shifts", t("Shifts"), t("shifts")),
        ("help", t("Help"), t("help")),
    ]
    if audience == "volunteer":
        return volunteer
    coordinating = [
        ("live", t("Live"), t("live")),
        ("review", t("Review"), t("review")),
        ("award_list", t("Award list"), t("eligible")),
    ]
    return coordinating + volunteer


@dataclass(frozen=True)
class MenuPlan:
    audience: str
    locale: str
    request: RichMenuRequest
    image: bytes
    labelled: bool  # False: no font for the language was found, the picture shows icons only

    @property
    def name(self) -> str:
        return self.request.name


def plan_menu(audience: str, locale: str, t: Translator) -> MenuPlan:
    from babel import Locale

    from bot.printing.menu_image import Tile, draw_menu, grid

    width, height, columns, rows = LAYOUTS[audience]
    areas = buttons(audience, t)
    image, labelled = draw_menu(
        width,
        height,
        columns,
        rows,
        [Tile(icon, label) for icon, label, _ in areas],
        Locale.parse(locale).language,
    )
    request = RichMenuRequest(
        size=RichMenuSize(width=width, height=height),
        selected=True,  # shown open: a closed menu is one more thing to find
        name=f"{PREFIX}{audience}:{locale}",
        chat_bar_text=t("Menu")[:CHAT_BAR_TEXT_LENGTH],
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=x, y=y, width=w, height=h),
                action=MessageAction(label=label[:ACTION_LABEL_LENGTH], text=text),
            )
            for (_icon, label, text), (x, y, w, h) in zip(
                areas, grid(width, height, columns, rows), strict=True
            )
        ],
    )
    return MenuPlan(audience, locale, request, image, labelled)


def plan_menus(catalogs: Catalogs) -> list[MenuPlan]:
    return [
        plan_menu(audience, locale, catalogs.translator(locale))
        for audience in AUDIENCES
        for locale in catalogs.locales
    ]


# --- who should have which menu -------------------------------------------------------------------


_MENUS = LineRichMenu.__table__  # type: ignore[attr-defined]
# Read with every batch of LINE messages: on the driver's cursor (storage/driver.py).
_STORED_MENUS = Prepared(sa.select(_MENUS.c.audience, _MENUS.c.locale, _MENUS.c.line_id))


def stored_menus(session: Session) -> dict[tuple[str, str], str]:
    return {(row.audience, row.locale): row.line_id for row in _STORED_MENUS.rows(session)}


def wanted_menu(
    account: Any,  # a row of line_accounts
    menus: dict[tuple[str, str], str],
    default_locale: str,
    platform_locale: str | None = None,
) -> str | None:
    """The rich menu id this person should have linked; None = the channel's default menu.
    The language is the one the answers use: their choice, else their LINE app's (`platform_locale`, matched)."""
    if not menus:
        return None
    locale = account.chosen_locale or platform_locale or default_locale
    if account.volunteer_id is not None and account.coordinates:
        return menus.get(("coordinator", locale)) or menus.get(("coordinator", default_locale))
    if locale == default_locale:
        return None
    return menus.get(("volunteer", locale))


_ACCOUNTS = ChatAccount.__table__  # type: ignore[attr-defined]
_LINE_ACCOUNT_COLUMNS = (
    *_ACCOUNTS.c,
    people_store.coordinating(_ACCOUNTS.c.volunteer_id).label("coordinates"),
)
_LINE_ACCOUNT = Prepared(
    sa.select(*_LINE_ACCOUNT_COLUMNS).where(
        _ACCOUNTS.c.platform == "line", _ACCOUNTS.c.platform_user_id == sa.bindparam("user")
    )
)


def line_accounts(session: Session, user_ids: Iterable[str] | None = None) -> list[Any]:
    """The LINE accounts (of these users), as rows with ChatAccount's fields and whether the person
    coordinates (`coordinates`): read after every batch of messages, where objects the session keeps and a
    question a person would cost more than the check."""
    query = sa.select(*_LINE_ACCOUNT_COLUMNS).where(_ACCOUNTS.c.platform == "line")
    if user_ids is not None:
        user_ids = list(user_ids)
        if len(user_ids) == 1:  # a message alone (the usual case when they come one by one): a prebuilt read
            account = _LINE_ACCOUNT.first(session, user=user_ids[0])
            return [account] if account is not None else []
        query = query.where(_ACCOUNTS.c.platform_user_id.in_(user_ids))
    return list(session.execute(query.order_by(_ACCOUNTS.c.id)).all())


def record_links(session: Session, links: dict[str, str | None]) -> None:
    """Remembers the menu now linked to each person (by LINE user id)."""
    by_menu: dict[str | None, list[str]] = {}
    for user_id, menu_id in links.items():
        by_menu.setdefault(menu_id, []).append(user_id)
    for menu_id, user_ids in by_menu.items():
        for part in chunks(user_ids):
            session.execute(
                sa.update(ChatAccount)
                .where(ChatAccount.platform == "line", ChatAccount.platform_user_id.in_(part))
                .values(rich_menu=menu_id)
            )


# --- after each message: keep the person's menu right ----------------------------------------------


class MenuFollower:
    """After LINE messages are handled, links the menu each sender should now have (they chose a language,
    linked their account, became a coordinator). The check runs with the batch; the LINE calls run in the
    background, one batch after another, so they never hold up an answer. What fails is logged and tried
    again at the person's next message, since ChatAccount.rich_menu then still differs."""

    def __init__(self, uow: UnitOfWork, channel, default_locale: str):
        self._uow = uow
        self._channel = channel
        self._default_locale = default_locale
        self._pending: dict[str, str | None] = {}
        self._task: asyncio.Task | None = None

    async def follow(
        self, senders: dict[str, str | None], changes: dict[str, str | None] | None = None
    ) -> None:
        """senders: LINE user id → the shipped locale their LINE app's language matches (None: none).
        `changes`: what changes() found for them already, in the transaction that handled their messages."""
        if changes is None:
            try:
                changes = await asyncio.to_thread(self._changes, senders)
            except Exception:  # the menu is a convenience: never let it disturb the pipeline
                log.exception("rich menus of %s LINE users not checked", len(senders))
                return
        if changes:
            self._pending.update(changes)
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._link_pending(), name="line-rich-menus")

    async def settled(self) -> None:
        """Waits until the links under way are done (tests; a clean stop)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    def _changes(self, senders: dict[str, str | None]) -> dict[str, str | None]:
        with self._uow() as session:
            return self.changes(session, senders)

    def changes(self, session: Session, senders: dict[str, str | None]) -> dict[str, str | None]:
        """LINE user id → the menu to link now, for those of `senders` whose menu is not the one they should
        have; read in `session` (the worker reads it in the transaction that handled the messages)."""
        menus = stored_menus(session)
        changes = {}
        for account in line_accounts(session, senders):
            wanted = wanted_menu(account, menus, self._default_locale, senders.get(account.platform_user_id))
            if wanted != account.rich_menu:
                changes[account.platform_user_id] = wanted
        return changes

    async def _link_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            done = await asyncio.gather(*(self._link(user_id, menu_id) for user_id, menu_id in batch.items()))
            linked = {
                user_id: menu_id for (user_id, menu_id), ok in zip(batch.items(), done, strict=True) if ok
            }
            if linked:
                try:
                    await asyncio.to_thread(self._record, linked)
                except Exception:
                    log.exception(
                        "rich menus linked on LINE but not recorded; checked again at the next message"
                    )

    async def _link(self, user_id: str, menu_id: str | None) -> bool:
        try:
            await self._channel.link_rich_menu(user_id, menu_id)
            return True
        except (
            Exception
        ) as error:  # ApiException, a time-out, a lost connection … : all wait for the next message
            reason = f"LINE answered {error.status}" if isinstance(error, ApiException) else repr(error)
            log.warning(
                "LINE rich menu %s not linked to %s (tried again at their next message): %s",
                menu_id or "(default)",
                user_id,
                reason,
            )
            return False

    def _record(self, linked: dict[str, str | None]) -> None:
        with self._uow() as session:
            record_links(session, linked)
            session.commit()


# --- vbot line setup ---------------------------------------------------------------------------------


class LineSetupError(Exception):
    """LINE refused or could not be reached; the message is one line, `said` the same in the catalogs' words."""

    def __init__(self, text: str, said: str):
        super().__init__(text)
        self.said = said


@dataclass
class SetupReport:
    created: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    default: str | None = None
    linked: int = 0
    unlinked: int = 0
    unlabelled: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "created": self.created,
            "deleted": self.deleted,
            "default": self.default,
            "users_linked": self.linked,
            "users_unlinked": self.unlinked,
            "icons_only": self.unlabelled,
        }

    def human(self, t) -> str:
        """For the operator, in VBOT_LOCALE (`t`)."""
        lines = [
            t(
                "{created} rich menus created, {deleted} old ones deleted; default {default}; {linked} people "
                "linked to their menu, {unlinked} back to the default",
                created=len(self.created),
                deleted=len(self.deleted),
                default=self.default or t("none"),
                linked=self.linked,
                unlinked=self.unlinked,
            )
        ]
        if self.unlabelled:
            lines.append(
                t(
                    "no font for {languages}: those menus show icons only (install fonts-noto-cjk and run again)",
                    languages=t(", ").join(self.unlabelled),
                )
            )
        return "\n".join(lines)


def chunks(items: list[str], size: int = BULK_LIMIT) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class LineMenuSetup:
    """Replaces the bot's rich menus: new ones first, then the default and everyone's links, then the old
    ones deleted — so people are never left without a menu, and a run that fails halfway leaves nothing a
    second run does not clean up (every menu it makes carries the PREFIX in its name)."""

    def __init__(
        self,
        access_token: str,
        api_base_url: str,
        data_api_base_url: str,
        timeout: float,
        uow: UnitOfWork,
        default_locale: str,
    ):
        self._configurations = (
            Configuration(access_token=access_token, host=api_base_url),
            Configuration(access_token=access_token, host=data_api_base_url),
        )
        self._timeout = timeout
        self._uow = uow
        self._default_locale = default_locale

    async def run(self, plans: list[MenuPlan], now: dt.datetime) -> SetupReport:
        # The clients' aiohttp sessions belong to the running loop, so they are made here.
        api_client, data_client = (AsyncApiClient(configuration) for configuration in self._configurations)
        try:
            return await self._run(
                AsyncMessagingApi(api_client), AsyncMessagingApiBlob(data_client), plans, now
            )
        except ApiException as error:
            said = (
                _("LINE refused the channel access token (LINE_CHANNEL_ACCESS_TOKEN).")
                if error.status in (401, 403)
                else _("LINE refused the rich menus.")
            )
            raise LineSetupError(f"LINE answered {error.status}: {_message(error)}", said) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise LineSetupError(
                f"LINE not reached: {error!r}", _("LINE could not be reached: check the network.")
            ) from None
        finally:
            await api_client.close()
            await data_client.close()

    async def _run(
        self, api: AsyncMessagingApi, blob: AsyncMessagingApiBlob, plans: list[MenuPlan], now: dt.datetime
    ) -> SetupReport:
        report = SetupReport(unlabelled=sorted({plan.locale for plan in plans if not plan.labelled}))
        timeout = self._timeout
        listed = await api.get_rich_menu_list(_request_timeout=timeout)
        old = {menu.rich_menu_id for menu in listed.richmenus if menu.name.startswith(PREFIX)}
        old |= set((await asyncio.to_thread(self._stored)).values())

        made: dict[tuple[str, str], str] = {}
        for plan in plans:
            menu_id = (await api.create_rich_menu(plan.request, _request_timeout=timeout)).rich_menu_id
            made[(plan.audience, plan.locale)] = menu_id
            await blob.set_rich_menu_image(
                menu_id, plan.image, _headers={"Content-Type": "image/png"}, _request_timeout=timeout
            )
            report.created.append({"audience": plan.audience, "locale": plan.locale, "id": menu_id})
        report.default = made[("volunteer", self._default_locale)]
        await api.set_default_rich_menu(report.default, _request_timeout=timeout)

        wanted = await asyncio.to_thread(self._store, made, now)
        by_menu: dict[str, list[str]] = {}
        for user_id, menu_id in wanted.items():
            if menu_id is not None:
                by_menu.setdefault(menu_id, []).append(user_id)
        for menu_id, user_ids in by_menu.items():
            for part in chunks(user_ids):
                await api.link_rich_menu_id_to_users(
                    RichMenuBulkLinkRequest(rich_menu_id=menu_id, user_ids=part), _request_timeout=timeout
                )
                report.linked += len(part)
        # Those who should see the default: their own link, if any, goes (deleting the old menus would do it
        # too, but a link to a menu that is not ours would stay).
        back_to_default = [user_id for user_id, menu_id in wanted.items() if menu_id is None]
        for part in chunks(back_to_default):
            await api.unlink_rich_menu_id_from_users(
                RichMenuBulkUnlinkRequest(user_ids=part), _request_timeout=timeout
            )
            report.unlinked += len(part)
        await asyncio.to_thread(self._record, wanted)

        for menu_id in sorted(old - set(made.values())):
            try:
                await api.delete_rich_menu(menu_id, _request_timeout=timeout)
            except ApiException as error:
                if error.status != 404:  # already gone: what we wanted
                    raise
            report.deleted.append(menu_id)
        return report

    def _stored(self) -> dict[tuple[str, str], str]:
        with self._uow() as session:
            return stored_menus(session)

    def _store(self, made: dict[tuple[str, str], str], now: dt.datetime) -> dict[str, str | None]:
        """Keeps the new menus (one row per audience and language) and works out each person's menu:
        {LINE user id: menu id or None for the default}, for everyone who has one or should have one."""
        with self._uow() as session:
            rows = {(row.audience, row.locale): row for row in session.exec(select(LineRichMenu)).all()}
            for (audience, locale), menu_id in made.items():
                row = rows.pop((audience, locale), None) or LineRichMenu(
                    audience=audience, locale=locale, line_id=""
                )
                row.line_id, row.created_at = menu_id, now
                session.add(row)
            for row in rows.values():  # a language no longer shipped
                session.delete(row)
            session.flush()
            wanted = {}
            for account in line_accounts(session):
                menu_id = wanted_menu(account, made, self._default_locale)
                if menu_id is not None or account.rich_menu is not None:
                    wanted[account.platform_user_id] = menu_id
            session.commit()
            return wanted

    def _record(self, wanted: dict[str, str | None]) -> None:
        with self._uow() as session:
            record_links(session, wanted)
            session.commit()


def _message(error: ApiException) -> str:
    import json

    try:
        return str(json.loads(error.body or "")["message"])
    except (ValueError, KeyError, TypeError):
        return (error.reason or "").strip() or "no reason given"
