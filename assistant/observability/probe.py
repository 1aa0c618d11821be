"""The container's health probe: `python -m assistant.observability.probe` exits 0 when healthy.

It asks ``/health`` on ``METRICS_ADDRESS`` (read as the bot reads it, `.env` included); with
metrics off there is nothing to ask, and the probe reports healthy rather than restart a working bot.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from dotenv import load_dotenv

from assistant.settings import Settings, SettingsError

PROBE_TIMEOUT_SECONDS = 5.0
# A server bound to every interface answers on loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def health_url(host: str, port: int) -> str:
    """Return the /health URL to ask for a server bound to host:port."""
    host = _LOOPBACK.get(host, host)
    return f"http://[{host}]:{port}/health" if ":" in host else f"http://{host}:{port}/health"


def main() -> int:
    """Ask /health once; return 0 when it answered 200 (or metrics are off), 1 otherwise."""
    load_dotenv()
    try:
        address = Settings.from_env(os.environ).metrics_address
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return 1
    if address is None:
        return 0
    url = health_url(*address)
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
