"""Thread store on both backends: recorded threads survive a reopen; removal forgets history."""

from __future__ import annotations

from storage.backend import Storage
from storage.connect import DatabaseTarget, open_storage
from storage.history import Exchange, Turn


async def test_threads_survive_reopening(target: DatabaseTarget) -> None:
    storage = await open_storage(target)
    await storage.threads.add(10, guild_id=1, parent_id=2, starter_id=3)
    await storage.close()
    reopened = await open_storage(target)
    try:
        again = reopened.threads
        assert again.get(10) is None  # nothing until loaded
        assert await again.load() == 1
        thread = again.get(10)
        assert thread is not None
        assert (thread.guild_id, thread.parent_id, thread.starter_id) == (1, 2, 3)
        assert thread.created_at > 0
    finally:
        await reopened.close()


async def test_a_thread_opened_by_one_process_is_known_to_another_after_loading(
    target: DatabaseTarget,
) -> None:
    first, second = await open_storage(target), await open_storage(target)
    try:
        await first.threads.add(10, guild_id=1, parent_id=2, starter_id=3)
        assert await second.threads.load() == 1
        assert second.threads.get(10) is not None
    finally:
        await first.close()
        await second.close()


async def test_one_thread_another_process_recorded_is_found_and_mirrored(target: DatabaseTarget) -> None:
    first, second = await open_storage(target), await open_storage(target)
    try:
        await second.threads.load()
        await first.threads.add(10, guild_id=1, parent_id=2, starter_id=3)
        assert second.threads.get(10) is None  # loaded before the other process recorded it
        found = await second.threads.find(10)
        assert found is not None and (found.guild_id, found.parent_id, found.starter_id) == (1, 2, 3)
        assert second.threads.get(10) == found
        assert await second.threads.find(11) is None
    finally:
        await first.close()
        await second.close()


async def test_removing_a_thread_forgets_it_and_its_history(storage: Storage) -> None:
    store, history = storage.threads, storage.history
    await store.add(10, guild_id=1, parent_id=2, starter_id=3)
    turn = Turn("user", "hi", 5, "ann")
    await history.append_exchange(Exchange(1, 10, turn, Turn("assistant", "hello", 5)))
    await history.append_exchange(Exchange(1, 2, turn, Turn("assistant", "hello", 5)))
    assert await store.remove(10) is True
    assert store.get(10) is None
    assert await history.count(10) == 0
    assert await history.count(2) == 2
    assert await store.remove(10) is False
