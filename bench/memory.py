"""Memory: the bot's peak RSS after answering 10,000 distinct conversations.

The bot runs as its own `python bot.py` process (default settings, budgets that never refuse), so
its RSS is its alone; the fakes stay in the benchmark's process. 10,000 members each ask once, in
their own channel, with at most `IN_FLIGHT` questions open at a time and an instant model. RSS and
its high-water mark (VmRSS, VmHWM from /proc) are read when the bot is ready and after every
quarter of the questions, so growth per conversation shows apart from start-up.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bench.live import answer_after
from bench.stage import Stage

ROOT = Path(__file__).resolve().parent.parent
IN_FLIGHT = 100
READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0


def memory_of(pid: int) -> dict[str, float]:
    """Return a process's resident set now and at its peak, in MB."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = round(int(value.split()[0]) / 1024, 1)  # kB
    return {"rss_mb": figures["VmRSS"], "peak_rss_mb": figures["VmHWM"]}


async def start_bot(stage: Stage, workdir: Path) -> asyncio.subprocess.Process:
    """Start `python bot.py` on the stage and wait until it has parsed the server."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "PYTHONUNBUFFERED": "1"}
    env.update(stage.bot_env(workdir / "memory.db"))
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), cwd=workdir, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await stage.discord.wait_for(lambda: bool(stage.discord.identify_payloads), READY_TIMEOUT_SECONDS)
    await stage.discord.caught_up(timeout=READY_TIMEOUT_SECONDS)
    return process


async def ask_everyone(stage: Stage, pid: int, conversations: int) -> list[dict[str, Any]]:
    """Have every member ask once, `IN_FLIGHT` at a time; sample memory at every quarter."""
    room = asyncio.Semaphore(IN_FLIGHT)
    samples: list[dict[str, Any]] = []
    done = 0

    async def one(conversation: int) -> None:
        nonlocal done
        async with room:
            asked = await stage.ask(conversation, 0)
            await stage.tracker.answered(asked.message_id)
        done += 1
        if done % max(1, conversations // 4) == 0:
            samples.append({"answered": done, **memory_of(pid)})

    await asyncio.gather(*(one(n) for n in range(conversations)))
    return samples


async def memory(workdir: Path, conversations: int) -> dict[str, Any]:
    """Measure the bot process's memory before and after `conversations` answered questions."""
    async with Stage(conversations) as stage:
        stage.answer_with(answer_after(0.0))
        process = await start_bot(stage, workdir)
        try:
            ready = memory_of(process.pid)
            samples = await ask_everyone(stage, process.pid, conversations)
            after = memory_of(process.pid)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), STOP_TIMEOUT_SECONDS)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the bot process failed: {stderr.decode()[-2000:]}")
    growth = after["rss_mb"] - ready["rss_mb"]
    return {
        "conversations": conversations,
        "ready_rss_mb": ready["rss_mb"],
        "rss_mb": after["rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
        "kb_per_conversation": round(growth * 1024 / conversations, 2),
        "samples": samples,
    }
