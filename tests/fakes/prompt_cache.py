"""A provider's prompt cache, as OpenAI reports it: `usage.prompt_tokens_details.cached_tokens`.

OpenAI serves from its cache the longest prefix a prompt shares with an earlier prompt, counted only
once the prefix reaches 1,024 tokens and then in steps of 128. Tokens are the project's counts
(:mod:`assistant.model.tokens`), so the figures agree with what the bot thinks it sends: a message shared
whole counts its tokens, framing included; within the first message that differs (same role), the
common characters count their tokens. Cache expiry is not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.model.tokens import REPLY_PRIMING_TOKENS, estimate_message_tokens, estimate_text_tokens

CACHE_MIN_TOKENS = 1_024
CACHE_STEP_TOKENS = 128

MessageKey = tuple[str, str]  # (role, content)


@dataclass
class _Node:
    """Prompts that share the messages on the path to this node; children by their next message."""

    children: dict[MessageKey, _Node] = field(default_factory=dict)


def message_keys(messages: Iterable[Mapping[str, Any]]) -> list[MessageKey]:
    """Return the (role, content) pairs of a request's messages."""
    return [(str(m.get("role", "")), str(m.get("content", ""))) for m in messages]


def prompt_tokens(keys: list[MessageKey]) -> int:
    """Return the prompt tokens of a request: its messages plus the reply priming."""
    return sum(estimate_message_tokens(content) for _, content in keys) + REPLY_PRIMING_TOKENS


def billable_cached(prefix_tokens: int) -> int:
    """Return the cached tokens reported for a shared prefix: 0 below 1,024, else whole steps of 128."""
    if prefix_tokens < CACHE_MIN_TOKENS:
        return 0
    return prefix_tokens - prefix_tokens % CACHE_STEP_TOKENS


def _common_chars(a: str, b: str) -> int:
    """Return the length of the common prefix of two strings."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PromptCache:
    """Remembers every prompt seen (a trie of messages) and measures a new one's cached prefix.

    Looking a prompt up costs its length plus, at the first message that differs, one comparison
    per earlier prompt that branched off at that point, so it stays cheap over long benchmarks.
    """

    def __init__(self) -> None:
        self._root = _Node()

    def shared_prefix_tokens(self, keys: list[MessageKey]) -> int:
        """Return the tokens of the longest prefix `keys` shares with an earlier prompt."""
        node, tokens = self._root, 0
        for role, content in keys:
            child = node.children.get((role, content))
            if child is None:
                same_role = [c for r, c in node.children if r == role]
                best = max((_common_chars(content, other) for other in same_role), default=0)
                return tokens + estimate_text_tokens(content[:best])
            tokens += estimate_message_tokens(content)
            node = child
        return tokens

    def remember(self, keys: list[MessageKey]) -> None:
        """Add a prompt to the cache."""
        node = self._root
        for key in keys:
            node = node.children.setdefault(key, _Node())

    def serve(self, messages: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Return (prompt tokens, cached tokens) for a request, then remember its prompt."""
        keys = message_keys(messages)
        cached = billable_cached(self.shared_prefix_tokens(keys))
        self.remember(keys)
        return prompt_tokens(keys), cached
