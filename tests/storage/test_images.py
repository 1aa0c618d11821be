"""Image store on both backends: a turn's images in order, newest turns first, gone with their turn."""

from __future__ import annotations

from storage.backend import Storage
from storage.history import Exchange, Turn
from storage.images import AttachedImage


def image(name: str) -> AttachedImage:
    return AttachedImage(name, "image/png", name.encode() + b"\x00\xff", 64, 32, 85)


async def stored_turn(storage: Storage, channel_id: int, n: int) -> int:
    """Store an exchange; return the question's row id."""
    exchange = Exchange(1, channel_id, Turn("user", f"q{n}", 100, "ann"), Turn("assistant", f"a{n}", 10))
    return (await storage.history.append_exchange(exchange))[0]


async def test_images_come_back_newest_turn_first_in_their_order(storage: Storage) -> None:
    first, second = await stored_turn(storage, 5, 1), await stored_turn(storage, 5, 2)
    await storage.images.add(first, 5, [image("a"), image("b")])
    await storage.images.add(second, 5, [image("c")])
    found = await storage.images.newest(5, since_turn_id=first, limit=10)
    assert [(t.turn_id, t.image.filename) for t in found] == [(second, "c"), (first, "a"), (first, "b")]
    assert found[0].image == image("c")  # the bytes and the price survive the round trip
    assert [t.image.filename for t in await storage.images.newest(5, since_turn_id=second, limit=10)] == ["c"]
    assert await storage.images.newest(5, since_turn_id=first, limit=0) == []
    assert await storage.images.count(5) == 3


async def test_images_go_with_their_turns(storage: Storage) -> None:
    turn = await stored_turn(storage, 5, 1)
    await storage.images.add(turn, 5, [image("a")])
    await storage.history.forget(5)
    assert await storage.images.count(5) == 0
