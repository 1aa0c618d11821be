"""What server settings cost the answer path: the added latency with no settings, then with all in use.

"In use": the server has a persona, a reasoning effort and an access role that every member holds;
every conversation's channel has a persona of its own and answers in `always` mode. So every
question passes the policy's route and access checks and is sent with a persona and an effort.
Both runs are the latency scenario of :mod:`bench.live` (whole answers, the model answering in
1 s); runs alternate off/on so drift of the machine falls on both alike, and each setting's
samples are pooled.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from assistant.answering import Question
from assistant.policy import Place, Policy
from bench.live import Load, answer_after, converse
from bench.metrics_cost import added_seconds
from bench.stage import Stage, running_bot
from bench.stats import summary_ms
from storage.settings import ChannelSettings, ServerSettings, SettingsStore
from storage.sqlite.database import Database
from storage.sqlite.settings import SqliteSettingsStore
from storage.threads import ThreadStore

SERVER_PERSONA = "You answer for the Bench Server community. Be friendly and precise. " * 4
CHANNEL_PERSONA = "In this channel you are the help desk: answer in short numbered steps. " * 4
ADMIN_ID = 1
DECISION_ROUNDS = 50_000


async def configure(stage: Stage, database_path: Path) -> None:
    """Store every setting before the bot starts, with a role every member holds."""
    guild = stage.discord.world.guilds[stage.guild_id]
    role = stage.discord.server.add_role(guild, "Members")
    for member in stage.members:
        guild.members[member.id].append(role.id)  # before the bot connects: sent in GUILD_CREATE
    database = await Database.open(database_path)
    try:
        store = SqliteSettingsStore(database)
        await store.set_server_persona(stage.guild_id, SERVER_PERSONA, by=ADMIN_ID)
        await store.set_reasoning_effort(stage.guild_id, "medium", by=ADMIN_ID)
        await store.set_access_role(stage.guild_id, role.id, by=ADMIN_ID)
        for channel in stage.channels:
            await store.set_channel_persona(stage.guild_id, channel.id, CHANNEL_PERSONA, by=ADMIN_ID)
            await store.set_channel_mode(stage.guild_id, channel.id, "always", by=ADMIN_ID)
    finally:
        await database.close()


async def one_run(workdir: Path, load: Load, *, in_use: bool, run: int) -> list[float]:
    """Run the latency scenario once; return each answer's added seconds."""
    async with Stage(load.conversations) as stage:
        stage.answer_with(answer_after(load.model_seconds))
        database_path = workdir / f"settings-{in_use}-{run}.db"
        if in_use:
            await configure(stage, database_path)
        settings = stage.settings(database_path, stream=False)
        async with running_bot(settings):
            await converse(stage, Load(load.conversations, 1, 0.0))  # warm-up
            asked = await converse(stage, load, first_round=1)
        if in_use:
            request = stage.model.requests[-1].json
            assert (
                request["reasoning_effort"] == "medium"
                and CHANNEL_PERSONA in request["messages"][0]["content"]
            )
        return added_seconds(stage, asked)


async def settings_cost(workdir: Path, load: Load, pairs: int) -> dict[str, Any]:
    """Measure the added latency `pairs` times without settings and with every setting in use."""
    off: list[float] = []
    on: list[float] = []
    for run in range(pairs):
        off += await one_run(workdir, load, in_use=False, run=run)
        on += await one_run(workdir, load, in_use=True, run=run)
    return {
        "decision_cpu_us": decision_cpu_us(),
        "conversations": load.conversations,
        "answers_each": len(off),
        "runs_each": pairs,
        "off_ms": summary_ms(off),
        "on_ms": summary_ms(on),
    }


def decision_cpu_us() -> float:
    """Return the CPU microseconds the policy spends on one question: its route, then its instructions."""
    server = ServerSettings(
        1, SERVER_PERSONA, None, "medium", {10: ChannelSettings(CHANNEL_PERSONA, "always")}
    )
    threads = cast(ThreadStore, SimpleNamespace(get=lambda thread_id: None))
    policy = Policy(cast(SettingsStore, None), threads, default_effort="low")
    policy._servers = {1: server}  # as loaded at start-up
    place, question = Place(1, 10), Question(1, 10, 5, "ann", "hi")
    started = time.process_time()
    for _ in range(DECISION_ROUNDS):
        policy.route(place, addressed=True, in_thread=False)
        policy.instructions(question)
    return round((time.process_time() - started) / DECISION_ROUNDS * 1e6, 2)
