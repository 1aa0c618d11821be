"""Fetching attachments from Discord's CDN: only URLs Discord gave, within a size, a time and a crowd."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)

# Discord's upload limit for a server without boosts; larger files are not downloaded at all.
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024
DOWNLOAD_TIMEOUT_SECONDS = 20.0
# Downloads running at once, across the whole bot: a burst of images cannot saturate the link.
MAX_CONCURRENT_DOWNLOADS = 4
_CHUNK_BYTES = 64 * 1024


class DownloadFailed(Exception):
    """The file could not be fetched; the message says why, for the member."""


class Downloader:
    """Downloads attachment bytes with one shared HTTP session, a few at a time."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS,
        concurrency: int = MAX_CONCURRENT_DOWNLOADS,
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._slots = asyncio.Semaphore(concurrency)

    async def fetch(self, url: str, *, max_bytes: int) -> bytes:
        """Return the body at `url` (an attachment URL from Discord), refusing more than `max_bytes`."""
        async with self._slots:
            try:
                async with self._session.get(url, timeout=self._timeout, allow_redirects=False) as response:
                    if response.status != 200:
                        log.info("Attachment download answered HTTP %d", response.status)
                        raise DownloadFailed("no longer available on Discord")
                    if (response.content_length or 0) > max_bytes:
                        raise DownloadFailed("too large")
                    return await _read_capped(response, max_bytes)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("Attachment download failed: %s", type(exc).__name__)
                raise DownloadFailed("could not be downloaded") from exc


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the body, stopping as soon as it grows past `max_bytes` (whatever the headers said)."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise DownloadFailed("too large")
    return bytes(body)
