"""`vbot init`, `vbot serve`, `vbot work`, `vbot scheduler` and `vbot remind`: the database and the running bot."""

from __future__ import annotations

import datetime as dt

from bot.commands.arguments import a_port, a_time
from bot.commands.shared import emit, prepare, translator
from bot.config import Settings

COMMANDS = ("init", "serve", "work", "scheduler", "remind")


def add_parser(commands) -> None:
    commands.add_parser(
        "init",
        help="create or upgrade the database (safe to run again)",
        description="Creates the schema in VBOT_DATABASE_URL, or brings it up to this version. Example: vbot init",
    ).add_argument("--json", action="store_true", help="print one JSON object")

    serve = commands.add_parser(
        "serve",
        help="run the web server (webhooks, console, downloads), the inbox worker, the sender and the jobs",
        description="Example: vbot serve --host 127.0.0.1 --port 8080. For webhooks alone, with `vbot work` "
        "doing the rest in another process: vbot serve --no-workers --no-scheduler",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=a_port, default=8080, help="port to listen on (default 8080)")
    serve.add_argument(
        "--no-scheduler", action="store_true", help="no reminder jobs here (another process runs them)"
    )
    serve.add_argument(
        "--no-workers",
        action="store_true",
        help="no inbox worker here: `vbot work` processes the events in another process (the reminder jobs "
        "and the sender of what they queue still run here unless --no-scheduler)",
    )

    work = commands.add_parser(
        "work",
        help="process stored events, send answers and run the reminder jobs, without a web server",
        description="Example: vbot work. On PostgreSQL several may run at once and share the work.",
    )
    work.add_argument("--no-scheduler", action="store_true", help="no reminder jobs here")

    commands.add_parser("scheduler", help="run the scheduled jobs (and send what they queue), no web server")

    remind = commands.add_parser(
        "remind",
        help="run one reminder pass as if at --now, deliver, and report",
        description="Example: vbot remind --now 2026-12-04T18:00 (local time, VBOT_TIMEZONE, unless an offset "
        "is given)",
    )
    remind.add_argument(
        "--now", type=a_time, required=True, help="the moment of the pass, ISO 8601 (or ROC 115/12/04 18:00)"
    )
    remind.add_argument("--json", action="store_true", help="print one JSON object")


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
        t = translator(settings)
        queued = [t("{count} notifications queued", count=sum(stored.values()))]
        queued += [
            f"  {job}: {count}" for job, count in stored.items() if count
        ]  # the job's name, for the log
        queued.append(t("messages sent: {sent}; not delivered: {failed}", sent=sent, failed=failed))
        emit(args, {"queued": stored, "sent": sent, "failed": failed}, "\n".join(queued))
        return 0
    return init(args, settings)


def init(args, settings: Settings) -> int:
    from storage.db import make_engine

    t = translator(settings)
    engine = make_engine(settings.database_url)
    try:
        prepare(engine)
        emit(
            args,
            {"database": engine.url.render_as_string(hide_password=True), "schema": "current"},
            t("database is ready"),
        )
        return 0
    finally:
        engine.dispose()
