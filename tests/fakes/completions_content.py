"""Message content as the service reads it: a string, or text and image parts (OpenAI's shapes)."""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from typing import Any

from PIL import Image

# OpenAI accepts these inline, each at most 20 MB.
DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,(.*)$", re.DOTALL)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
# OpenAI's price of an image at `detail: high`: fit 2048 × 2048, shortest side 768, then
# 85 tokens plus 170 per 512 px tile.
FIT_PX, SHORT_SIDE_PX, TILE_PX, BASE_TOKENS, TILE_TOKENS = 2048, 768, 512, 85, 170


def content_problem(content: Any, role: Any) -> str | None:
    """Return why a message's content would be refused, or None."""
    if isinstance(content, str):
        return None
    if not isinstance(content, list) or not content:
        return "content must be a string or a non-empty array of parts"
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            continue
        if kind != "image_url":
            return f"unknown content part {kind!r}"
        if role != "user":
            return "image_url parts are only allowed in user messages"
        url = (part.get("image_url") or {}).get("url")
        if not isinstance(url, str) or image_of(url) is None:
            return "image_url.url must be a data:image/...;base64 URL of a PNG, JPEG, WEBP or GIF"
    return None


def image_of(url: str) -> Image.Image | None:
    """Return the image a data URL holds, or None when it is not a valid one."""
    match = DATA_URL.match(url)
    if match is None:
        return None
    try:
        data = base64.b64decode(match.group(2), validate=True)
        if len(data) > MAX_IMAGE_BYTES:
            return None
        image = Image.open(io.BytesIO(data))
        image.load()
    except (binascii.Error, OSError, ValueError):
        return None
    return image


def text_of(content: Any) -> str:
    """Return a message's text: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def image_urls(content: Any) -> list[str]:
    """Return the data URLs of a message's image parts, in order."""
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if isinstance(p, dict) and p.get("type") == "image_url"]


def image_tokens(image: Image.Image) -> int:
    """Return what the service bills for an image."""
    scale = min(1.0, FIT_PX / max(image.size))
    width, height = image.width * scale, image.height * scale
    scale = min(1.0, SHORT_SIDE_PX / min(width, height))
    tiles = math.ceil(round(width * scale) / TILE_PX) * math.ceil(round(height * scale) / TILE_PX)
    return BASE_TOKENS + TILE_TOKENS * tiles


def content_tokens(content: Any) -> int:
    """Return the fake's prompt tokens of a message's content: characters / 4, images by their tiles."""
    images = [image_of(url) for url in image_urls(content)]
    return len(text_of(content)) // 4 + sum(image_tokens(i) for i in images if i is not None)
