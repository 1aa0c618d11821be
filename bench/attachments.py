"""Attachments: preparing four ~10 MiB images, and what images change in building a context.

Preparing runs in a child process, so its peak RSS is its own: four images just under Discord's
10 MiB limit (two noisy 13-megapixel JPEG photos, a noisy PNG, and a 49-megapixel PNG "screenshot",
the largest canvas the bot decodes) are served by a local HTTP server and read as one question
with four attached images would be: downloaded by the bot's downloader, decoded two at a time in
threads, scaled, re-encoded. Reported: wall time for the four, the peak RSS above the child's once
it holds the inputs, and the bytes and tokens that would be sent.

Context builds (in this process) over a 50-exchange text-only history with the image store wired,
as the bot runs, and without one, as before images: a text-only window takes the same path. Then
the same with four images stored in the window, which adds reading them and their base64.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from assistant.attachments.download import MAX_DOWNLOAD_BYTES, Downloader
from assistant.attachments.images import prepare_image
from assistant.attachments.kinds import FileRef
from assistant.attachments.reader import AttachmentReader
from assistant.context import ContextBuilder, label_user_turn
from assistant.model.tokens import estimate_message_tokens
from bench.memory import memory_of
from bench.stats import summary_ms
from storage.connect import open_storage
from storage.history import Exchange, Turn
from storage.images import image_line

CONTEXT_TOKENS = 16_000
HISTORY_EXCHANGES = 50
SCREENSHOT_SIDE_PX = 7_000  # 49 megapixels: just under the bot's 50-megapixel ceiling
PREPARE_TIMEOUT_SECONDS = 300.0
ROOT = Path(__file__).resolve().parent.parent


def make_inputs(folder: Path, scale: float = 1.0) -> list[Path]:
    """Write the four test images (each under 10 MiB) to `folder`; `scale` shrinks them for smoke runs."""
    rng = random.Random(7)

    def noise(width: int, height: int) -> Image.Image:
        return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))

    def sized(width: int, height: int) -> tuple[int, int]:
        return max(16, round(width * scale)), max(16, round(height * scale))

    side = round(SCREENSHOT_SIDE_PX * scale)
    screenshot = Image.new("RGB", (side, side), (240, 240, 240))
    screenshot.paste(noise(side, max(1, side // 16)), (0, side // 3))  # a noisy band sets its size
    images = {
        "photo-1.jpg": (noise(*sized(4200, 3150)), "JPEG"),
        "photo-2.jpg": (noise(*sized(3150, 4200)), "JPEG"),
        "noise.png": (noise(*sized(1880, 1840)), "PNG"),
        "screenshot.png": (screenshot, "PNG"),
    }
    paths = []
    for name, (image, kind) in images.items():
        out = io.BytesIO()
        image.save(out, format=kind, **({"quality": 85} if kind == "JPEG" else {"compress_level": 1}))
        if out.tell() > MAX_DOWNLOAD_BYTES:
            raise RuntimeError(f"{name} came out at {out.tell():,} bytes, over the limit")
        paths.append(folder / name)
        paths[-1].write_bytes(out.getvalue())
    return paths


async def prepare_all(paths: list[Path]) -> dict[str, Any]:
    """Serve the files locally and read them as one question's attachments; return the figures."""
    blobs = {f"/{path.name}": path.read_bytes() for path in paths}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=blobs[request.path])

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    files = [FileRef(p.name, f"http://127.0.0.1:{port}/{p.name}", len(blobs[f"/{p.name}"])) for p in paths]
    before = memory_of(os.getpid())
    try:
        async with aiohttp.ClientSession() as session:
            reader = AttachmentReader(Downloader(session), max_images=4, budget_tokens=CONTEXT_TOKENS)
            started = time.perf_counter()
            read = await reader.read(files)
            seconds = time.perf_counter() - started
    finally:
        await runner.cleanup()
    after = memory_of(os.getpid())
    return {
        "images": len(read.images),
        "input_mib": round(sum(len(b) for b in blobs.values()) / 2**20, 1),
        "seconds": round(seconds, 2),
        "rss_before_mb": before["peak_rss_mb"],
        "peak_rss_mb": after["peak_rss_mb"],
        "added_peak_mb": round(after["peak_rss_mb"] - before["peak_rss_mb"], 1),
        "sent_kib": round(sum(len(i.data) for i in read.images) / 1024, 1),
        "sizes": [f"{i.width}×{i.height}" for i in read.images],
        "tokens": sum(i.tokens for i in read.images),
        "skipped": list(read.skipped),
    }


def one_at_a_time(paths: list[Path]) -> list[float]:
    """Return the milliseconds each image takes to prepare on its own (decode to re-encode)."""
    durations = []
    for path in paths:
        data = path.read_bytes()
        started = time.perf_counter()
        prepare_image(path.name, data)
        durations.append(round((time.perf_counter() - started) * 1000, 1))
    return durations


async def preparing(workdir: Path, scale: float) -> dict[str, Any]:
    """Make the inputs, then time and measure preparing them in a child process."""
    folder = workdir / "attachments"
    folder.mkdir(exist_ok=True)
    paths = make_inputs(folder, scale)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.attachments", *map(str, paths),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(child.communicate(), PREPARE_TIMEOUT_SECONDS)
    if child.returncode != 0:
        raise RuntimeError(f"the preparing child failed with status {child.returncode}")
    figures: dict[str, Any] = json.loads(out)
    figures["one_at_a_time_ms"] = dict(zip([p.name for p in paths], one_at_a_time(paths), strict=True))
    return figures


async def building(workdir: Path, samples: int) -> dict[str, Any]:
    """Time context builds: text-only with and without the image store, then with four stored images."""
    storage = await open_storage(workdir / "attachments.db")
    try:
        for n in range(HISTORY_EXCHANGES):
            await storage.history.append_exchange(exchange(1, f"question {n} about the build", f"answer {n}"))
        plain = ContextBuilder(storage.history, system_prompt="You help.", budget_tokens=CONTEXT_TOKENS)
        wired = ContextBuilder(
            storage.history, system_prompt="You help.", budget_tokens=CONTEXT_TOKENS,
            images=storage.images, max_images=4,
        )  # fmt: skip
        question = label_user_turn("alice", "and the next step?")
        text_only = {
            "without image store": await time_builds(plain, question, samples),
            "with image store": await time_builds(wired, question, samples),
        }
        prepared = [prepare_image(f"shot{n}.png", image_bytes(n)) for n in range(4)]
        names = "\n".join(image_line(image.filename) for image in prepared)
        ids = await storage.history.append_exchange(exchange(1, f"look\n\n{names}", "I see four shots."))
        await storage.images.add(ids[0], 1, prepared)
        context = await wired.build(1, question)
        return {
            "history_exchanges": HISTORY_EXCHANGES,
            "text_only_build_ms": text_only,
            "four_images_build_ms": await time_builds(wired, question, samples),
            "four_images_request_kib": round(len(json.dumps(context.messages)) / 1024, 1),
        }
    finally:
        await storage.close()


async def time_builds(builder: ContextBuilder, question: str, samples: int) -> dict[str, float]:
    """Return the milliseconds of `samples` builds of channel 1's context."""
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        await builder.build(1, question)
        durations.append(time.perf_counter() - started)
    return summary_ms(durations)


def exchange(channel_id: int, question: str, answer: str) -> Exchange:
    """Return a stored exchange of alice's."""
    labelled = label_user_turn("alice", question)
    return Exchange(
        guild_id=1,
        channel_id=channel_id,
        question=Turn("user", question, estimate_message_tokens(labelled), "alice", 2),
        answer=Turn("assistant", answer, estimate_message_tokens(answer)),
    )


def image_bytes(seed: int) -> bytes:
    """Return a 1280 × 800 screenshot-like PNG."""
    image = Image.new("RGB", (1280, 800), (250, 250, 250))
    image.paste(Image.new("RGB", (600, 40 + seed * 10), (30, 30, 120)), (40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def attachments(workdir: Path, *, scale: float, samples: int) -> dict[str, Any]:
    """Run both parts and return their figures."""
    return {"prepare": await preparing(workdir, scale), "build": await building(workdir, samples)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(prepare_all([Path(arg) for arg in sys.argv[1:]]))))
