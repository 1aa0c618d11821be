"""The instruments, and the recording calls the answer path makes (no-ops while metrics are off).

A :class:`Recorder` owns one registry; :func:`start` makes a fresh one current and :func:`stop`
drops it, so every recording call costs one global read when metrics are off. Labels take values
from small fixed sets only (a path, an outcome, an error class, a token kind, an HTTP method and
status): never message text, names, or member, channel or server ids.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.process_collector import ProcessCollector

if TYPE_CHECKING:
    from assistant.model.wire import Usage

log = logging.getLogger(__name__)

# From a quick answer to a long streamed one; Discord's interaction token lasts 15 minutes.
ANSWER_BUCKETS_SECONDS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0, 300.0)
FIRST_TEXT_BUCKETS_SECONDS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
TOKEN_KINDS = ("prompt", "completion", "reasoning", "cached")
PREFIX = "assistant_"


class Recorder:
    """Every instrument the bot records into, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[Counter | Histogram, tuple[str, ...]], Any] = {}
        ProcessCollector(registry=self.registry)  # memory, CPU, open files, start time
        self.questions = self._counter(
            "questions", "Questions taken by the answering service.", "path", "outcome"
        )
        self.answer_seconds = self._histogram(
            "answer_seconds", "From a question reaching the answering service to its answer fully posted.",
            ANSWER_BUCKETS_SECONDS,
        )  # fmt: skip
        self.first_text_seconds = self._histogram(
            "first_text_seconds", "From a question reaching the answering service to its first text shown.",
            FIRST_TEXT_BUCKETS_SECONDS,
        )  # fmt: skip
        self.tokens = self._counter("model_tokens", "Tokens the model service counted, by kind.", "kind")
        self.model_errors = self._counter("completions_errors", "Failed completions attempts.", "error")
        self.model_retries = self._counter("completions_retries", "Completions attempts retried.", "error")
        self.discord_requests = self._counter(
            "discord_requests", "HTTP requests to Discord.", "method", "status"
        )
        self.discord_rate_limited = self._counter(
            "discord_rate_limited", "429 answers from Discord, by X-RateLimit-Scope.", "scope"
        )
        self.budget_refusals = self._counter(
            "budget_refusals", "Questions refused by a daily budget.", "budget"
        )
        for kind in TOKEN_KINDS:  # present from the first scrape, so rate() has a start
            self.tokens.labels(kind)

    def child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """Return `metric` with these label values, cached (prometheus-client's lookup takes ~4 µs)."""
        key = (metric, labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(f"{PREFIX}{name}", documentation, labels, registry=self.registry)

    def _histogram(self, name: str, documentation: str, buckets: tuple[float, ...]) -> Histogram:
        return Histogram(f"{PREFIX}{name}", documentation, ["path"], buckets=buckets, registry=self.registry)


_current: Recorder | None = None


def start() -> Recorder:
    """Start recording into a fresh registry and return it."""
    global _current
    _current = Recorder()
    return _current


def stop() -> None:
    """Stop recording."""
    global _current
    _current = None


def current() -> Recorder | None:
    """Return the recorder in use, or None while metrics are off."""
    return _current


def tokens_used(usage: Usage) -> None:
    """Count one completion's tokens by kind (reasoning is part of completion, cached of prompt)."""
    if _current is None:
        return
    child, tokens = _current.child, _current.tokens
    child(tokens, "prompt").inc(usage.prompt_tokens)
    child(tokens, "completion").inc(usage.completion_tokens)
    child(tokens, "reasoning").inc(usage.reasoning_tokens)
    child(tokens, "cached").inc(usage.cached_tokens)


def completion_failed(error: Exception, *, retrying: bool) -> None:
    """Count one failed completions attempt, and whether it is being retried."""
    if _current is None:
        return
    kind = type(error).__name__  # one of the classes in assistant.errors: a small, fixed set
    _current.model_errors.labels(kind).inc()
    if retrying:
        _current.model_retries.labels(kind).inc()


def budget_refused(budget: str) -> None:
    """Count a question refused because `budget` (server, member, …) is used up."""
    if _current is not None:
        _current.budget_refusals.labels(budget).inc()
