"""The files behind the signed links the bot sends on LINE: a person's records, a unit's hours or report.

GET /downloads/{kind}/{subject}{span}?expires&sig[&by]   the file, or 403 when the link is not valid (any more)
                                                         or the person `by` may not download it.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.web.runtime import Runtime
from handlers.files.chat import may_download, unit_file
from handlers.files.links import DownloadFile, link_valid, reader
from handlers.files.my_records import records_csv
from storage.db import UnitOfWork

NO_STORE = {"Cache-Control": "no-store"}  # downloads hold personal data: no cache keeps a copy


def download_routes(vbot: Runtime) -> list[Route]:
    async def download(request: Request) -> Response:
        """The files behind the signed links the bot sends on LINE: a person's records, a unit's hours or report."""
        path = request.url.path
        if not link_valid(vbot.rules.link_key, path, request.query_params, vbot.now()):
            return PlainTextResponse("this link is not valid (any more)", status_code=403, headers=NO_STORE)
        kind, subject, span = (
            request.path_params["kind"],
            request.path_params["subject"],
            request.path_params["span"],
        )

        def read() -> DownloadFile | None:
            with UnitOfWork(vbot.engine)() as session:
                if kind == "records" and not span:
                    t = reader(session, vbot.catalogs, subject, vbot.rules.default_locale)
                    return DownloadFile(
                        records_csv(session, subject, vbot.rules.timezone, t)[0],
                        "my-records.csv",
                        "text/csv; charset=utf-8",
                    )
                by = request.query_params.get("by", "")
                if not by.isdigit() or not may_download(session, int(by), subject):
                    return None
                t = reader(session, vbot.catalogs, int(by), vbot.rules.default_locale)
                return unit_file(session, kind, subject, span.lstrip("/"), vbot.rules.timezone, t)

        made = await asyncio.to_thread(read)
        if made is None:
            return PlainTextResponse("you may not download this file", status_code=403, headers=NO_STORE)
        return Response(
            made.data,
            media_type=made.media_type,
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{made.name}"'},
        )

    return [Route("/downloads/{kind:str}/{subject:int}{span:path}", download, methods=["GET"])]
