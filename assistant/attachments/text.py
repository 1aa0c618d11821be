"""Text files as the model reads them: decoded as UTF-8 and fenced under the file's name."""

from __future__ import annotations

import re

from assistant.attachments.kinds import fence_language

_BACKTICK_RUNS = re.compile(r"`{3,}")
# Bytes that never occur in text; one of them in the first few KiB means a binary file.
_BINARY_PROBE_BYTES = 8192


def looks_binary(data: bytes) -> bool:
    """Return whether `data` is a binary file (a NUL byte near the start, as git and grep decide)."""
    return b"\x00" in data[:_BINARY_PROBE_BYTES]


def decode_text(data: bytes) -> str:
    """Decode a text file as UTF-8 (a BOM dropped, bad bytes replaced, line endings made `\\n`)."""
    text = data.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def fenced_file(filename: str, text: str) -> str:
    """Return the file as a fenced block under its name, with a fence its own backticks cannot close."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"[file: {filename}]\n{fence}{fence_language(filename)}\n{body}{fence}"
