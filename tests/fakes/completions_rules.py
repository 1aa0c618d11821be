"""What the fake completions service refuses, and the shapes of its errors and usage (New API's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from .completions_content import content_problem, content_tokens

ROLES = frozenset({"system", "user", "assistant", "developer"})
# What OpenAI's reasoning models accept as `reasoning_effort`.
REASONING_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh"})
UNSUPPORTED_REASONING = "Unsupported parameter: 'reasoning_effort' is not supported with this model."


def reasoning_problem(body: Any, supported: bool) -> tuple[str, str] | None:
    """Return (code, message) when the body's `reasoning_effort` would be refused, as OpenAI words it."""
    if not isinstance(body, dict) or "reasoning_effort" not in body:
        return None
    if not supported:
        return "unsupported_parameter", UNSUPPORTED_REASONING
    effort = body["reasoning_effort"]
    if effort not in REASONING_EFFORTS:
        return (
            "invalid_value",
            f"Invalid value: {effort!r}. Supported values are: {sorted(REASONING_EFFORTS)}.",
        )
    return None


def body_problem(body: Any, model: str) -> tuple[int, str | None, str] | None:
    """Return (status, code, message) for a request the real service would refuse."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return 400, None, "the body must be a JSON object with a model"
    if body["model"] != model:
        return 404, "model_not_found", f"The model `{body['model']}` does not exist"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, None, "'messages' must be a non-empty array"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return 400, None, f"messages[{index}].role must be one of {sorted(ROLES)}"
        if (problem := content_problem(message.get("content"), message.get("role"))) is not None:
            return 400, None, f"messages[{index}].content: {problem}"
    if not isinstance(body.get("stream", False), bool):
        return 400, None, "'stream' must be a boolean"
    if "stream_options" in body and body.get("stream") is not True:
        return 400, None, "The 'stream_options' parameter is only allowed when 'stream' is enabled."
    return None


def error_response(
    status: int,
    code: str | int | None,
    message: str,
    error_type: str,
    headers: dict[str, str],
    param: str | None = None,
) -> web.Response:
    """Return the service's error envelope with `status`."""
    error = {"message": message, "type": error_type, "param": param, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)


def auto_usage(messages: Sequence[Any], text: str, cache_figures: tuple[int, int] | None) -> dict[str, Any]:
    """Return New API's usage shape, with its extra keys and nulls.

    The prompt is chars / 4 of the messages (images priced by their tiles), or, when the server
    models a prompt cache, the estimated (prompt, cached) tokens it worked out for the request.
    """
    chars_only = all(isinstance(m.get("content", ""), str) for m in messages)
    plain = (sum(len(str(m.get("content", ""))) for m in messages) + 3) // 4
    parts = sum(content_tokens(m.get("content")) for m in messages)
    prompt, cached = cache_figures or (plain if chars_only else parts, 0)
    completion = (len(text) + 3) // 4
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "text_tokens": prompt, "audio_tokens": 0},
        "completion_tokens_details": {"text_tokens": completion, "reasoning_tokens": 0},
        "input_tokens": 0,
        "output_tokens": 0,
        "input_tokens_details": None,
    }
