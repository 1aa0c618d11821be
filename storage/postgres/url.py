"""A PostgreSQL `DATABASE_URL`: kept whole for the driver, shown only with its password masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

SCHEMES = ("postgresql", "postgres")
MASK = "***"


@dataclass(frozen=True)
class PostgresUrl:
    """`postgresql://user:password@host:port/db` (or `postgres://`); `str()` never shows the password."""

    dsn: str = field(repr=False)
    shown: str

    @classmethod
    def parse(cls, url: str) -> PostgresUrl:
        """Check the URL's shape; raise ValueError, in words that never repeat the password."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - reading it validates it
        except ValueError:
            raise ValueError(f"{masked(url)} is not a valid URL (check its port and characters)") from None
        if parts.scheme not in SCHEMES:
            raise ValueError(f"{masked(url)} must start with postgresql:// or postgres://")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError(f"{masked(url)} names no host: postgresql://user:password@host:5432/database")
        return cls(dsn=url, shown=_masked_parts(parts))

    def __str__(self) -> str:
        return self.shown


def masked(url: str) -> str:
    """Return `url` with any password between `user:` and `@` replaced by ***, however malformed."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{host}"


def _masked_parts(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.geturl()
    user, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user.split(':', 1)[0]}:{MASK}@{host}").geturl()
