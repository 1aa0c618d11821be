"""The --check preflight against the fake Discord and the fake completions service: one test per failure."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assistant.preflight.checks import CheckResult, Status, format_report, run_checks
from assistant.settings import Secret, Settings
from storage.postgres.url import PostgresUrl
from tests.conftest import API_KEY, test_settings
from tests.fakes.completions import FakeCompletions, Reply
from tests.fakes.discord import FakeDiscord
from tests.postgres import TestPostgres

NAMES = [
    "Settings",
    "Database",
    "EvoLink API key",
    "Model",
    "Discord token",
    "Message Content intent",
    "Servers",
]


@dataclasses.dataclass
class Setup:
    """The two fakes, settings pointing at them (a server with the bot in it) and a session."""

    discord: FakeDiscord
    model: FakeCompletions
    settings: Settings
    session: aiohttp.ClientSession

    async def check(self, *, timeout_seconds: float = 15.0, **overrides: Any) -> dict[str, CheckResult]:
        """Run the checks with `overrides` on the settings; return the results by name, in order."""
        settings = dataclasses.replace(self.settings, **overrides)
        results = await run_checks(settings, self.session, timeout_seconds=timeout_seconds)
        assert [result.name for result in results] == NAMES
        report = format_report(results)
        for secret in (settings.discord_token.reveal(), settings.evolink_api_key.reveal()):
            assert_never_shown(secret, report)
        return {result.name: result for result in results}


def assert_never_shown(secret: str, text: str) -> None:
    """Not the secret, nor any six characters of it in a row."""
    pieces = {secret[i : i + 6] for i in range(max(1, len(secret) - 5))}
    assert not [piece for piece in pieces if piece in text], text


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def make_setup(tmp_path: Path) -> AsyncIterator[Any]:
    """Start fakes configured as asked (the bot is in one server unless `servers=0`)."""
    started: list[Any] = []

    async def make(*, intent: bool = True, models_route: bool = True, servers: int = 1) -> Setup:
        discord_fake = FakeDiscord(message_content_enabled=intent)
        model = FakeCompletions(api_key=API_KEY, models_route=models_route)
        session = aiohttp.ClientSession()
        started.extend([discord_fake, model, session])
        await discord_fake.start()
        await model.start()
        for number in range(servers):
            discord_fake.add_guild(f"Server {number}")
        settings = test_settings(discord_fake, model, tmp_path, discord_api_base=discord_fake.api_base)
        return Setup(discord_fake, model, settings, session)

    yield make
    for thing in reversed(started):
        await thing.close()


async def test_a_good_setup_passes_every_check(make_setup: Any) -> None:
    setup = await make_setup()
    results = await setup.check()
    assert {name: result.status for name, result in results.items()} == dict.fromkeys(NAMES, Status.OK)
    assert "1 server" in results["Servers"].summary
    report = format_report(list(results.values()))
    assert "✗" not in report and "⚠" not in report and report.count("✓") == len(NAMES)
    # After the models list, one minimal completion proves the credit.
    [request] = setup.model.requests
    assert request.messages == [{"role": "user", "content": "ping"}]


async def test_a_listed_model_on_an_account_without_credit_fails(make_setup: Any) -> None:
    setup = await make_setup()
    setup.model.enqueue(Reply(status=402, error_code="insufficient_user_quota"))
    results = await setup.check()
    key = results["EvoLink API key"]
    assert key.status is Status.FAIL
    assert "out of credit" in key.summary
    assert "top up" in key.fix


async def test_a_good_setup_without_a_models_route_passes_with_a_one_word_completion(make_setup: Any) -> None:
    setup = await make_setup(models_route=False)
    results = await setup.check()
    assert all(result.status is Status.OK for result in results.values())
    [request] = setup.model.requests
    assert request.messages == [{"role": "user", "content": "ping"}]


async def test_a_wrong_discord_token_fails_and_skips_what_needs_it(make_setup: Any) -> None:
    setup = await make_setup()
    results = await setup.check(discord_token=Secret("not-the-right-token"))
    token = results["Discord token"]
    assert token.status is Status.FAIL
    assert "Developer Portal → Bot → Reset Token" in token.fix
    assert results["Message Content intent"].status is Status.SKIP
    assert results["Servers"].status is Status.SKIP
    assert results["EvoLink API key"].status is Status.OK  # the other checks still ran


@pytest.mark.parametrize("models_route", [True, False], ids=["models-list", "completion"])
async def test_a_wrong_api_key_fails_without_showing_it(make_setup: Any, models_route: bool) -> None:
    setup = await make_setup(models_route=models_route)
    # The fake, like OpenAI, echoes the key it was given: the check must not pass it on.
    results = await setup.check(evolink_api_key=Secret("sk-wrong-key-0123456789"))
    key = results["EvoLink API key"]
    assert key.status is Status.FAIL
    assert "HTTP 401" in key.summary and "EVOLINK_API_KEY" in key.fix
    assert results["Model"].status is Status.SKIP


@pytest.mark.parametrize(
    ("code", "fix"),
    [("insufficient_user_quota", "top up"), ("token_daily_quota_exceeded", "midnight")],
    ids=["account", "key-daily"],
)
async def test_an_out_of_credit_key_fails_with_the_fix_for_its_quota(
    make_setup: Any, code: str, fix: str
) -> None:
    setup = await make_setup(models_route=False)
    setup.model.enqueue(Reply(status=402, error_code=code, error_message="no credit left"))
    results = await setup.check()
    key = results["EvoLink API key"]
    assert key.status is Status.FAIL
    assert "out of credit" in key.summary and "HTTP 402" in key.summary
    assert fix in key.fix
    assert len(setup.model.requests) == 1  # a 402 is not retried


@pytest.mark.parametrize("models_route", [True, False], ids=["models-list", "completion"])
async def test_an_unknown_model_fails_and_names_one_that_exists(make_setup: Any, models_route: bool) -> None:
    setup = await make_setup(models_route=models_route)
    results = await setup.check(evolink_model="gpt-5.9")
    assert results["EvoLink API key"].status is Status.OK
    model = results["Model"]
    assert model.status is Status.FAIL
    assert "gpt-5.9" in model.summary and "EVOLINK_MODEL" in model.fix
    if models_route:
        assert "close: gpt-5.2" in model.summary
    else:
        assert "model_not_found" in model.summary


async def test_an_unreachable_completions_service_fails_with_a_clear_line(make_setup: Any) -> None:
    setup = await make_setup()
    results = await setup.check(evolink_base_url=f"http://127.0.0.1:{closed_port()}/v1")
    key = results["EvoLink API key"]
    assert key.status is Status.FAIL
    assert "unreachable" in key.summary and "connection refused" in key.summary
    assert "EVOLINK_BASE_URL" in key.fix
    assert results["Model"].status is Status.SKIP
    assert results["Discord token"].status is Status.OK


async def test_a_service_that_never_answers_fails_within_the_timeout(make_setup: Any) -> None:
    setup = await make_setup(models_route=False)
    setup.model.enqueue(Reply(hang=True))
    results = await setup.check(timeout_seconds=0.5)
    key = results["EvoLink API key"]
    assert key.status is Status.FAIL and "0.5" in key.summary


async def test_an_unreachable_discord_fails_with_a_clear_line(make_setup: Any) -> None:
    setup = await make_setup()
    results = await setup.check(discord_api_base=f"http://127.0.0.1:{closed_port()}/api/v10")
    token = results["Discord token"]
    assert token.status is Status.FAIL and "unreachable" in token.summary
    assert results["Servers"].status is Status.SKIP


async def test_the_message_content_intent_off_is_a_warning_that_explains_follow_ups(make_setup: Any) -> None:
    setup = await make_setup(intent=False)
    results = await setup.check()
    intent = results["Message Content intent"]
    assert intent.status is Status.WARN
    assert "thread follow-ups" in intent.summary and "Message Content Intent" in intent.fix
    assert not any(result.status is Status.FAIL for result in results.values())
    assert "Ready to go live, with 1 warning" in format_report(list(results.values()))


async def test_no_server_is_a_warning_with_the_invite_link(make_setup: Any) -> None:
    setup = await make_setup(servers=0)
    results = await setup.check()
    servers = results["Servers"]
    assert servers.status is Status.WARN and "no server" in servers.summary
    assert servers.fix == (
        "invite it: https://discord.com/oauth2/authorize?"
        f"client_id={setup.discord.bot_user.id}&scope=bot+applications.commands&permissions=309237713920"
    )


async def test_a_dev_guild_the_bot_is_not_in_fails(make_setup: Any) -> None:
    setup = await make_setup(servers=2)
    results = await setup.check(dev_guild_id=123456789012345678)
    servers = results["Servers"]
    assert servers.status is Status.FAIL
    assert "2 servers" in servers.summary and "123456789012345678" in servers.summary
    assert "client_id=" in servers.fix


async def test_a_database_folder_that_is_a_file_fails(make_setup: Any, tmp_path: Path) -> None:
    setup = await make_setup()
    (tmp_path / "blocker").write_text("not a folder")
    results = await setup.check(database_path=tmp_path / "blocker" / "bot.db")
    database = results["Database"]
    assert database.status is Status.FAIL
    assert "blocker" in database.summary and "DATABASE_URL" in database.fix


async def test_an_unreachable_postgresql_fails_naming_database_url_without_its_password(
    make_setup: Any,
) -> None:
    setup = await make_setup()
    url = PostgresUrl.parse("postgresql://bot:pg-secret-word@127.0.0.1:1/bot")  # nothing listens on port 1
    results = await setup.check(postgres_url=url)
    database = results["Database"]
    assert database.status is Status.FAIL
    assert database.summary.startswith("DATABASE_URL (postgresql://bot:***@127.0.0.1:1/bot): cannot reach")
    assert_never_shown("pg-secret-word", format_report(list(results.values())))


async def test_a_working_postgresql_passes(make_setup: Any, postgres: TestPostgres) -> None:
    setup = await make_setup()
    results = await setup.check(postgres_url=await postgres.clean_database())
    assert results["Database"].status is Status.OK
    assert "migrated (schema version" in results["Database"].summary


def test_the_report_gives_each_failure_and_warning_its_fix_and_a_verdict() -> None:
    results = [
        CheckResult(Status.OK, "Settings", "valid"),
        CheckResult(Status.FAIL, "Discord token", "rejected", "copy it again"),
        CheckResult(Status.WARN, "Servers", "none", "invite it"),
        CheckResult(Status.SKIP, "Model", "not checked"),
    ]
    lines = format_report(results).splitlines()
    assert lines[:4] == [
        "✓ Settings       valid",
        "✗ Discord token  rejected",
        "                 → copy it again",
        "⚠ Servers        none",
    ]
    assert lines[-1] == "1 check failed: fix the ✗ lines, then run the check again."


async def test_a_service_that_ignores_reasoning_effort_is_a_warning(make_setup: Any) -> None:
    setup = await make_setup()
    setup.model.reasoning_effort_supported = False
    results = await run_checks(setup.settings, setup.session)
    assert [result.name for result in results] == [*NAMES[:4], "Reasoning effort", *NAMES[4:]]
    warning = results[4]
    assert warning.status is Status.WARN
    assert "does not accept reasoning_effort" in warning.summary and "ignored" in warning.summary
    assert "REASONING_EFFORT=" in warning.fix
    assert all(result.status is Status.OK for result in results if result is not warning)
    assert [request.json.get("reasoning_effort") for request in setup.model.requests] == ["low", None]


async def test_the_check_sends_the_configured_effort_or_none(make_setup: Any) -> None:
    setup = await make_setup()
    await setup.check(reasoning_effort="xhigh")
    await setup.check(reasoning_effort=None)
    assert [request.json.get("reasoning_effort") for request in setup.model.requests] == ["xhigh", None]
