"""`reasoning_effort`: recognising a service that rejects it, so the question can go again without it.

OpenAI-compatible services that do not know the parameter answer 400 and name it, e.g. OpenAI's
``{"error": {"message": "Unsupported parameter: 'reasoning_effort' is not supported with this
model.", "param": "reasoning_effort", "code": "unsupported_parameter"}}`` or a gateway's
"Unrecognized request argument supplied: reasoning_effort". A model that knows the parameter but
not one value ("Unsupported value: 'reasoning_effort' does not support 'xhigh'") rejects only
that value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal

from assistant.errors import BadRequest

PARAMETER = "reasoning_effort"
Rejection = Literal["parameter", "value"]


class ReasoningEffortRejected(BadRequest):
    """The service refused the request because of its `reasoning_effort` (the parameter or its value)."""

    def __init__(self, detail: str, *, rejected: Rejection) -> None:
        super().__init__(detail)
        self.rejected: Rejection = rejected


def rejection_of(status: int, body: bytes) -> Rejection | None:
    """Return what a 400 answer rejects of `reasoning_effort`, or None when it is about something else."""
    if status != 400:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    message = str(error.get("message") or "")
    code = str(error.get("code") or "")
    if error.get("param") != PARAMETER and PARAMETER not in message:
        return None
    return "value" if "value" in f"{code} {message}".lower() else "parameter"
