"""The harness's bot serves metrics on a free port; completions retries do not wait."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.model.completions import RetryPolicy


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Serve /metrics and /health on any free port of 127.0.0.1."""
    return {"metrics_address": ("127.0.0.1", 0)}


@pytest.fixture
def retry_policy() -> RetryPolicy:
    """Retry without waiting, so a retried question is answered at once."""
    return RetryPolicy(attempts=3, base_delay_seconds=0.0)
