"""The preflight's records (one :class:`CheckResult` per checklist line) and the one GET its checks share.

Kept apart from :mod:`assistant.preflight.checks` so the check modules can use them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import aiohttp
import yarl

CONNECT_TIMEOUT_SECONDS = 10.0


class Status(Enum):
    """How a check came out; the value is the mark printed before its line."""

    OK = "✓"
    WARN = "⚠"  # works, but not as well as it could: never a reason to fail
    FAIL = "✗"
    SKIP = "–"  # could not run because an earlier check failed


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: what was checked, what was found and, when it is not fine, what to do."""

    status: Status
    name: str
    summary: str
    fix: str = ""


class CheckFailed(Exception):
    """A request that could not answer its check; carries the line to print."""

    def __init__(self, summary: str, fix: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.fix = fix

    def result(self, name: str) -> CheckResult:
        """Return the failed line for the check called `name`."""
        return CheckResult(Status.FAIL, name, self.summary, self.fix)


class Unreachable(Exception):
    """No HTTP answer at all: connection refused, unknown host, TLS failure or timeout."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def skipped(name: str, needs: str) -> CheckResult:
    """Return the line of a check that needs an earlier one to pass first."""
    return CheckResult(Status.SKIP, name, f"not checked: needs a working {needs} first")


def shown_url(url: str) -> str:
    """Return the URL without user info, query or fragment, any of which may carry credentials."""
    return str(yarl.URL(url).with_user(None).with_query(None).with_fragment(None))


async def http_get(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    timeout_seconds: float,
    params: Mapping[str, int] | None = None,
) -> tuple[int, bytes, Mapping[str, str]]:
    """GET within `timeout_seconds`, without following redirects (they would carry the credentials on).

    Returns (status, body, headers); raises :class:`Unreachable` with a one-line reason when there is no
    answer at all.
    """
    limits = aiohttp.ClientTimeout(
        total=timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
    )
    try:
        async with session.get(
            url, headers=headers, params=params, timeout=limits, allow_redirects=False
        ) as response:
            return response.status, await response.read(), response.headers
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout_seconds:g} s") from None
    except aiohttp.ClientConnectorDNSError as exc:
        raise Unreachable(f"host {exc.host} not found") from None
    except aiohttp.ClientConnectorError as exc:
        refused = isinstance(exc.os_error, ConnectionRefusedError)
        why = "connection refused" if refused else exc.os_error.strerror or type(exc.os_error).__name__
        raise Unreachable(f"cannot connect to {exc.host}:{exc.port}: {why}") from None
    except aiohttp.ClientError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from None
