"""`vbot init`, `vbot serve`, `vbot work`, `vbot scheduler` and `vbot remind`: the database and the running bot."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_port, a_time
from bot.commands.shared import emit, prepare
from bot.config import Settings

COMMANDS = ("init", "serve", "work", "scheduler", "remind")


def add_parser(commands) -> None:
    commands.add_parser("init", help="create or upgrade the database").add_argument(
        "--json", action="store_true"
    )

    serve = commands.add_parser("serve", help="run the webhook server and the scheduled jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=a_port, default=8080)
    serve.add_argument("--no-scheduler", action="store_true")
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="only answer webhooks; `vbot work` processes and sends, in another process",
    )

    work = commands.add_parser("work", help="process stored events and send answers, without a web server")
    work.add_argument("--no-scheduler", action="store_true")

    commands.add_parser("scheduler", help="run the scheduled jobs (and send what they queue), no web server")

    remind = commands.add_parser("remind", help="run one reminder pass as if at --now, deliver, and report")
    remind.add_argument("--now", type=a_time, required=True)
    remind.add_argument("--json", action="store_true")


def run(args, settings: Settings) -> int:
    if args.command == "serve":
        from bot.serve import serve

        return serve(
            settings, args.host, args.port, scheduler=not args.no_scheduler, workers=not args.no_workers
        )
    if args.command == "work":
        from bot.serve import work

        return work(settings, scheduler=not args.no_scheduler)
    if args.command == "scheduler":
        from bot.serve import work

        return work(settings, scheduler=True, workers=False)
    if args.command == "remind":
        from bot.serve import remind_once

        now = args.now if args.now.tzinfo else args.now.replace(tzinfo=settings.zone)
        stored, sent, failed = remind_once(settings, now.astimezone(dt.UTC))
        emit(
            args,
            {"queued": stored, "sent": sent, "failed": failed},
            "\n".join(f"{job}: {count} queued" for job, count in stored.items())
            + f"\nsent: {sent}\nfailed: {failed}",
        )
        return 0
    return init(args, settings)


def init(args, settings: Settings) -> int:
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        prepare(engine)
        emit(
            args,
            {"database": engine.url.render_as_string(hide_password=True), "schema": "current"},
            "database is ready",
        )
        return 0
    finally:
        engine.dispose()
