"""Downloads: refused past the size whatever the server claims, a few at a time, failures named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from assistant.attachments.download import Downloader, DownloadFailed

LIMIT_BYTES = 1000


class Server:
    """A local file server whose routes misbehave on purpose."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.release = asyncio.Event()
        self.base = ""

    async def honest(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * int(request.match_info["size"]))

    async def chunked(self, request: web.Request) -> web.StreamResponse:
        # No Content-Length: the size shows only while reading.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 500)
        await response.write_eof()
        return response

    async def slow(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await self.release.wait()
        self.in_flight -= 1
        return web.Response(body=b"ok")

    async def gone(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="This content is no longer available.")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_get("/honest/{size}", state.honest)
    app.router.add_get("/chunked", state.chunked)
    app.router.add_get("/slow/{n}", state.slow)
    app.router.add_get("/gone", state.gone)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    state.release.set()
    await runner.cleanup()


async def test_a_body_within_the_limit_is_returned(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        assert (
            await Downloader(session).fetch(f"{server.base}/honest/1000", max_bytes=LIMIT_BYTES)
            == b"x" * 1000
        )


@pytest.mark.parametrize("path", ["/honest/1001", "/chunked"])
async def test_more_than_the_limit_is_refused_whatever_the_headers_say(server: Server, path: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DownloadFailed, match="too large"):
            await Downloader(session).fetch(f"{server.base}{path}", max_bytes=LIMIT_BYTES)


async def test_an_expired_link_says_so(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DownloadFailed, match="no longer available"):
            await Downloader(session).fetch(f"{server.base}/gone", max_bytes=LIMIT_BYTES)


async def test_at_most_the_concurrency_runs_at_once(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        downloader = Downloader(session, concurrency=2)
        fetches = [
            asyncio.create_task(downloader.fetch(f"{server.base}/slow/{n}", max_bytes=LIMIT_BYTES))
            for n in range(5)
        ]
        while server.in_flight < 2:
            await asyncio.sleep(0.01)
        server.release.set()
        assert await asyncio.gather(*fetches) == [b"ok"] * 5
    assert server.peak == 2
