"""`vbot console link --volunteer ID`: a one-time sign-in link to the coordinator console, for the operator
to hand to the first coordinator of a new unit (later ones type 管理 / console in the chat)."""

from __future__ import annotations

from bot.commands.arguments import a_positive_int
from bot.commands.shared import now_and_today
from bot.config import Settings
from handlers.people import console_access
from handlers.validation import InputError, _

COMMANDS = ("console",)


def add_parser(commands) -> None:
    console = commands.add_parser("console", help="the coordinator console in a browser").add_subparsers(
        dest="action", required=True
    )
    link = console.add_parser("link", help="a sign-in link (10 minutes, works once) for a coordinator")
    link.add_argument("--volunteer", type=a_positive_int, required=True)
    link.add_argument("--json", action="store_true")


def run(args, session, settings: Settings) -> tuple[dict, str]:
    now, _today = now_and_today(settings)
    url = console_access.console_link(session, now, settings.public_url, args.volunteer)
    if url is None:
        raise InputError(
            f"volunteer {args.volunteer} coordinates no unit: make them one first "
            "(vbot volunteer add --role coordinator, or vbot admin add)",
            said=_("Volunteer {id} coordinates no unit: make them a coordinator first."),
            id=args.volunteer,
        )
    session.commit()
    return {"url": url}, url
