"""Sorting files into images, text and the rest; fencing text files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.attachments.kinds import FileRef, Kind, kind_of
from assistant.attachments.text import decode_text, fenced_file, looks_binary


@pytest.mark.parametrize(
    ("filename", "content_type", "kind"),
    [
        ("shot.png", "image/png", Kind.IMAGE),
        ("photo.JPG", None, Kind.IMAGE),
        ("anim.gif", "image/gif", Kind.IMAGE),
        ("photo.heic", "image/heic", Kind.OTHER),
        ("drawing.svg", "image/svg+xml", Kind.OTHER),
        ("message.txt", "text/plain; charset=utf-8", Kind.TEXT),
        ("main.py", "text/x-python; charset=utf-8", Kind.TEXT),
        ("data.json", "application/json", Kind.TEXT),
        ("build.log", "application/octet-stream", Kind.TEXT),
        ("Dockerfile", None, Kind.TEXT),
        ("archive.zip", "application/zip", Kind.OTHER),
        ("program.exe", None, Kind.OTHER),
    ],
)
def test_kind_of(filename: str, content_type: str | None, kind: Kind) -> None:
    assert kind_of(FileRef(filename, "https://cdn.example/x", 10, content_type)) is kind


def test_a_text_file_is_fenced_under_its_name_with_its_language() -> None:
    assert fenced_file("main.py", "print(1)") == "[file: main.py]\n```python\nprint(1)\n```"


@given(st.text())
def test_no_content_can_close_the_fence_early(text: str) -> None:
    block = fenced_file("notes.md", text)
    fence = block.split("\n", 2)[1].removesuffix("markdown")
    body = block[len("[file: notes.md]\n") + len(fence) + len("markdown\n") : -len(fence)]
    assert fence not in body
    assert body.rstrip("\n") == text.rstrip("\n") or body == text


def test_decoding_replaces_bad_bytes_and_normalises_lines() -> None:
    assert decode_text(b"\xef\xbb\xbfa\r\nb\xffc\r") == "a\nb\ufffdc\n"
    assert looks_binary(b"PK\x03\x04\x00\x00") and not looks_binary("héllo".encode())
