"""Which shards this process runs: `SHARD_COUNT` and `SHARD_IDS` read, checked and described.

Discord sends a server's events to shard ``(guild_id >> 22) % shard_count`` and direct messages to
shard 0; several processes split the shards between them with the same count and disjoint ids.
"""

from __future__ import annotations

MAX_SHARDS = 100_000  # far past Discord's largest bots; only guards against typos


def parse_shard_ids(value: str) -> tuple[int, ...] | None:
    """Read `0,1`, `0-3` or a mix (`0-3,8`); raise ValueError on anything else or a repeated id."""
    if not value:
        return None
    ids: list[int] = []
    for part in value.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"expected shard ids like 0,1 or 0-3, got {value!r}")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"the range {part} runs backwards")
        ids.extend(range(first, last + 1))
    repeated = sorted({shard for shard in ids if ids.count(shard) > 1})
    if repeated:
        raise ValueError(f"shard {repeated[0]} is listed twice")
    return tuple(ids)


def check_shard_ids(shard_ids: tuple[int, ...] | None, shard_count: int | None) -> None:
    """Raise ValueError unless every id is within the count (and a count is set when ids are)."""
    if shard_ids is None:
        return
    if shard_count is None:
        raise ValueError("it needs SHARD_COUNT too (the total number of shards across every process)")
    outside = [shard for shard in shard_ids if shard >= shard_count]
    if outside:
        last = shard_count - 1
        raise ValueError(f"shard {outside[0]} is outside SHARD_COUNT={shard_count} (ids run 0 to {last})")


def describe_shards(shard_ids: tuple[int, ...] | None, shard_count: int | None) -> str:
    """Return how the logs name this process's shards."""
    if shard_count is None:
        return "every shard (the count Discord recommends)"
    if shard_ids is None:
        return f"all {shard_count} shards"
    return f"shards {', '.join(map(str, shard_ids))} of {shard_count}"
