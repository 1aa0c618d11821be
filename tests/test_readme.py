"""The README tells the truth about the settings: every one is listed, with the range the bot enforces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(?P<name>[A-Z_]+)` \| (?P<default>[^|]*) \| (?P<meaning>.*) \|$", re.M)
RANGE = re.compile(r"\b(?P<low>[\d,.]+) to (?P<high>[\d,.]+)\b")
REQUIRED = {"DISCORD_TOKEN": "token", "EVOLINK_API_KEY": "key"}


def documented_ranges() -> list[tuple[str, str, str]]:
    """Return (name, low, high) for every settings row that states a numeric range."""
    found = []
    for row in ROW.finditer(README):
        if (match := RANGE.search(row["meaning"])) is not None:
            found.append((row["name"], match["low"].replace(",", ""), match["high"].replace(",", "")))
    return found


def test_every_setting_in_env_example_is_in_the_readme_table() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    listed = {row["name"] for row in ROW.finditer(README)}
    assert names - listed <= {"DISCORD_API_BASE", "DISCORD_GATEWAY_URL"}  # one row for the two


@pytest.mark.parametrize(("name", "low", "high"), documented_ranges())
def test_a_documented_range_is_the_one_enforced(name: str, low: str, high: str) -> None:
    for accepted in (low, high):
        Settings.from_env({**REQUIRED, name: accepted})
    step = "0.5" if "." in low + high else "1"
    below = str(float(low) - float(step)) if "." in step else str(int(low) - 1)
    above = str(float(high) + float(step)) if "." in step else str(int(high) + 1)
    for refused in (below, above):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**REQUIRED, name: refused})


def test_the_numeric_settings_all_state_their_range() -> None:
    assert {name for name, _, _ in documented_ranges()} >= {
        "CONTEXT_TOKENS",
        "GUILD_DAILY_TOKENS",
        "USER_DAILY_TOKENS",
        "REQUEST_TIMEOUT_SECONDS",
        "CHANNEL_QUEUE_LIMIT",
        "MEMBER_QUEUE_LIMIT",
        "SHUTDOWN_GRACE_SECONDS",
    }
