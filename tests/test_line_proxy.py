"""A bot that reaches LINE through the proxy its environment names (HTTP_PROXY / HTTPS_PROXY) keeps doing so:
the LINE client reads the environment once when the bot starts, not on every call (which cost ~0.3 ms of
CPU an answer), and still sends every call through that proxy."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from tests.conftest import T0


class ForwardingProxy:
    """A plain HTTP proxy: takes absolute-form requests and forwards them to the host they name."""

    def __init__(self) -> None:
        self.forwarded: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def forward(self, request: web.Request) -> web.Response:
        self.forwarded.append(request.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-connection")}
        async with (
            aiohttp.ClientSession(trust_env=False) as session,
            session.request(
                request.method,
                f"http://{request.headers['Host']}{request.path_qs}",
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "retry-after")}
            return web.Response(status=answer.status, body=body, headers=kept)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def test_answers_go_through_the_proxy_the_environment_names(harness_factory, line_api, monkeypatch):
    proxy = ForwardingProxy()
    await proxy.start()
    try:
        for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        # The LINE stand-in (plain http) by the name localhost, through the proxy; the test's own webhooks
        # to 127.0.0.1 straight.
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        harness = await harness_factory(line_api_base_url=line_api.url.replace("127.0.0.1", "localhost"))
        unit = harness.add_unit()
        _volunteer, code = harness.add_volunteer(unit)
        linked = await harness.line_says("Uproxy", f"綁定 {code}")
        answered = await harness.line_says("Uproxy", "簽到", at=T0)
        assert linked and answered and "簽到" in answered[-1]
        replies = [path for path in proxy.forwarded if path.endswith("/message/reply")]
        assert len(replies) == 2  # both answers went through the proxy, each once
    finally:
        await proxy.stop()
