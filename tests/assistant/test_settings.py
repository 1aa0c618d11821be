"""Settings: defaults, parsing, one clear line per bad value, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import (
    DEFAULT_BASE_URL,
    PROJECT_FOLDER,
    Settings,
    SettingsError,
    parse_database_url,
)

REQUIRED = {"DISCORD_TOKEN": "discord-token-value", "EVOLINK_API_KEY": "sk-secret-value"}


def test_defaults_follow_the_product_contract() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.evolink_base_url == DEFAULT_BASE_URL == "https://api.evolink.ai/v1"
    assert settings.evolink_model == "gpt-5.2"
    assert settings.database_path == PROJECT_FOLDER / "data" / "bot.db"
    assert settings.context_tokens == 16000
    assert (settings.guild_daily_tokens, settings.user_daily_tokens) == (200000, 50000)
    assert settings.stream is True
    assert settings.dev_guild_id is None
    assert settings.log_level == "INFO"
    assert settings.max_images == 4
    assert "Discord markdown" in settings.system_prompt


def test_values_are_parsed() -> None:
    env = REQUIRED | {
        "EVOLINK_BASE_URL": "http://localhost:8080/v1/",
        "DATABASE_URL": "sqlite:////var/lib/bot/bot.db",
        "CONTEXT_TOKENS": "32000",
        "GUILD_DAILY_TOKENS": "0",
        "STREAM": "false",
        "DEV_GUILD_ID": "123456789012345678",
        "LOG_LEVEL": "debug",
        "MAX_IMAGES": "0",
    }
    settings = Settings.from_env(env)
    assert settings.evolink_base_url == "http://localhost:8080/v1"
    assert settings.database_path == Path("/var/lib/bot/bot.db")
    assert settings.context_tokens == 32000
    assert settings.guild_daily_tokens == 0
    assert settings.stream is False
    assert settings.dev_guild_id == 123456789012345678
    assert settings.log_level == "DEBUG"
    assert settings.max_images == 0


@pytest.mark.parametrize("missing", ["DISCORD_TOKEN", "EVOLINK_API_KEY"])
def test_a_missing_required_setting_is_named(missing: str) -> None:
    env = {name: value for name, value in REQUIRED.items() if name != missing}
    with pytest.raises(SettingsError, match=f"^{missing} is not set"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONTEXT_TOKENS", "lots"),
        ("MAX_IMAGES", "-1"),
        ("MAX_IMAGES", "many"),
        ("CONTEXT_TOKENS", "10"),
        ("GUILD_DAILY_TOKENS", "-1"),
        ("USER_DAILY_TOKENS", "1.5"),
        ("STREAM", "maybe"),
        ("DEV_GUILD_ID", "my-server"),
        ("LOG_LEVEL", "LOUD"),
        ("EVOLINK_BASE_URL", "api.evolink.ai"),
        ("DATABASE_URL", "mysql://db/bot"),
        ("DATABASE_URL", "postgresql://bot:pw@db:port/bot"),
        ("SHARD_COUNT", "0"),
        ("SHARD_IDS", "0,1"),  # without SHARD_COUNT
        ("REQUEST_TIMEOUT_SECONDS", "0"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(REQUIRED | {name: value})
    message = str(caught.value)
    assert message.startswith(f"{name} is malformed")
    assert "\n" not in message


def test_secrets_never_show_in_repr_or_format() -> None:
    settings = Settings.from_env(REQUIRED)
    shown = f"{settings!r} {settings} {settings.discord_token} {settings.evolink_api_key!r}"
    assert "discord-token-value" not in shown
    assert "sk-secret-value" not in shown
    assert settings.evolink_api_key.reveal() == "sk-secret-value"


def test_a_pasted_endpoint_becomes_its_base_url() -> None:
    settings = Settings.from_env(
        REQUIRED | {"EVOLINK_BASE_URL": "https://api.evolink.ai/v1/chat/completions"}
    )
    assert settings.evolink_base_url == "https://api.evolink.ai/v1"


def test_database_url_forms() -> None:
    assert parse_database_url("sqlite:///data/bot.db") == PROJECT_FOLDER / "data" / "bot.db"
    assert Path(__file__).resolve().parents[2] == PROJECT_FOLDER  # the folder of bot.py
    assert parse_database_url("sqlite:////tmp/x.db") == Path("/tmp/x.db")
    with pytest.raises(ValueError):
        parse_database_url("sqlite:///")


@pytest.mark.parametrize(
    ("env", "effort"),
    [
        ({}, "low"),
        ({"REASONING_EFFORT": "high"}, "high"),
        ({"REASONING_EFFORT": " XHigh "}, "xhigh"),
        ({"REASONING_EFFORT": "none"}, "none"),
        ({"REASONING_EFFORT": ""}, None),
        ({"REASONING_EFFORT": "   "}, None),
    ],
)
def test_reasoning_effort_defaults_to_low_and_empty_means_not_sent(
    env: dict[str, str], effort: str | None
) -> None:
    assert Settings.from_env(REQUIRED | env).reasoning_effort == effort


def test_an_unknown_reasoning_effort_is_named_with_the_choices() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(REQUIRED | {"REASONING_EFFORT": "maximum"})
    assert str(raised.value) == (
        "REASONING_EFFORT is malformed: expected one of none, low, medium, high, xhigh "
        "(or empty: not sent), got 'maximum' (see .env.example)."
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_postgresql_url_is_kept_whole_and_shown_without_its_password(scheme: str) -> None:
    url = f"{scheme}://bot:hunter2@db.internal:5432/assistant"
    settings = Settings.from_env(REQUIRED | {"DATABASE_URL": url})
    assert settings.postgres_url is not None and settings.database == settings.postgres_url
    assert settings.postgres_url.dsn == url
    shown = f"{settings!r} {settings.database} {settings.postgres_url!r}"
    assert "hunter2" not in shown
    assert f"{scheme}://bot:***@db.internal:5432/assistant" in shown


@pytest.mark.parametrize(
    "url",
    ["postgresql://bot:hunter2@db:port/bot", "mysql://bot:hunter2@db/bot", "postgresql://bot:hunter2@/bot"],
)
def test_a_malformed_database_url_never_echoes_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(REQUIRED | {"DATABASE_URL": url})
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("DATABASE_URL is malformed")


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("4", "0,1", (0, 1)), ("4", "0-3", (0, 1, 2, 3)), ("16", "0-2, 8", (0, 1, 2, 8)), ("2", "", None)],
)
def test_shard_ids_read_lists_and_ranges(count: str, ids: str, expected: tuple[int, ...] | None) -> None:
    settings = Settings.from_env(REQUIRED | {"SHARD_COUNT": count, "SHARD_IDS": ids})
    assert (settings.shard_count, settings.shard_ids) == (int(count), expected)


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ("0,4", "shard 4 is outside SHARD_COUNT=4 (ids run 0 to 3)"),
        ("0,1,1", "shard 1 is listed twice"),
        ("0-2,2", "shard 2 is listed twice"),
        ("3-1", "the range 3-1 runs backwards"),
        ("one", "expected shard ids like 0,1 or 0-3"),
    ],
)
def test_bad_shard_ids_are_named_with_the_reason(ids: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(REQUIRED | {"SHARD_COUNT": "4", "SHARD_IDS": ids})
    assert str(caught.value).startswith(f"SHARD_IDS is malformed: {reason}")
