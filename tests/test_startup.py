"""Start-up mistakes, each one line with its fix and a non-zero exit: never a traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

import bot
from assistant import __version__, launch
from assistant.startup import StartupError, load_env_file
from tests.conftest import API_KEY
from tests.fakes.completions import FakeCompletions
from tests.fakes.discord import FakeDiscord
from tests.test_bot_process import ROOT, bot_env, fakes_env, run_bot


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def one_error_line(stdout: str, stderr: str) -> str:
    """Return the one ERROR line the bot logged (or printed) and check there is nothing worse."""
    output = stdout + stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if " ERROR " in line or line.startswith("Configuration")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
async def fakes() -> tuple[FakeDiscord, FakeCompletions]:  # type: ignore[misc]
    discord_fake, model = FakeDiscord(), FakeCompletions(api_key=API_KEY)
    await discord_fake.start()
    await model.start()
    yield discord_fake, model
    await model.close()
    await discord_fake.close()


async def test_an_old_python_gets_one_line_not_an_import_error(tmp_path: Path) -> None:
    pretend = (
        "import runpy, sys; sys.version_info = (3, 10, 12, 'final', 0); "
        f"runpy.run_path({str(ROOT / 'bot.py')!r}, run_name='__main__')"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", pretend, cwd=tmp_path, env=bot_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    code, _, stderr = await finish(process)
    assert code != 0
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert "needs Python 3.11 or newer" in stderr and "Traceback" not in stderr


async def test_a_database_that_cannot_be_opened_is_found_before_going_online(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeCompletions]
) -> None:
    discord_fake, model = fakes
    (tmp_path / "a-file").write_text("not a folder")
    env = fakes_env(tmp_path, discord_fake, model, DATABASE_URL=f"sqlite:///{tmp_path}/a-file/bot.db")
    code, stdout, stderr = await finish(await run_bot(tmp_path, env))
    assert code == 2
    line = one_error_line(stdout, stderr)
    assert "DATABASE_URL" in line and "a-file" in line
    assert discord_fake.requests == []  # nothing went online


async def test_an_unreachable_discord_is_one_line(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeCompletions]
) -> None:
    discord_fake, model = fakes
    env = fakes_env(tmp_path, discord_fake, model, DISCORD_API_BASE="http://127.0.0.1:1/api/v10")
    code, stdout, stderr = await finish(await run_bot(tmp_path, env))
    assert code == 1
    line = one_error_line(stdout, stderr)
    assert "Cannot reach Discord at http://127.0.0.1:1/api/v10" in line and "DISCORD_API_BASE" in line


async def test_a_dev_guild_the_bot_is_not_in_is_one_line(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeCompletions]
) -> None:
    discord_fake, model = fakes
    discord_fake.add_guild("The bot's server")
    env = fakes_env(tmp_path, discord_fake, model, DEV_GUILD_ID="123456789012345678")
    code, stdout, stderr = await finish(await run_bot(tmp_path, env))
    assert code == 2
    line = one_error_line(stdout, stderr)
    assert "DEV_GUILD_ID 123456789012345678" in line and "not in" in line
    assert discord_fake.identify_payloads == []


async def test_version_is_printed(tmp_path: Path) -> None:
    code, stdout, _ = await finish(await run_bot(tmp_path, bot_env(tmp_path), "--version"))
    assert code == 0
    assert stdout.strip() == f"bot.py {__version__}"


def test_the_version_is_the_project_s() -> None:
    assert f'version = "{__version__}"' in (ROOT / "pyproject.toml").read_text()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private copy of the environment for code that loads .env into it."""
    env = {"PATH": os.environ.get("PATH", "")}
    monkeypatch.setattr(os, "environ", env)
    return env


def test_an_unparsable_env_file_names_its_line_not_a_missing_setting(
    tmp_path: Path,
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('DISCORD_TOKEN=abc\nEVOLINK_API_KEY "sk-secret"\n', encoding="utf-8")
    monkeypatch.setattr(launch, "ENV_FILE", env_file)
    assert bot.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert "line 2" in err and "NAME=value" in err
    assert "sk-secret" not in err and "not set" not in err


def test_an_env_file_with_a_byte_order_mark_is_read_and_noted(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("\ufeffDISCORD_TOKEN=abc\nEVOLINK_API_KEY=xyz\n", encoding="utf-8")
    note = load_env_file(env_file)
    assert note is not None and "byte-order mark" in note
    assert environment["DISCORD_TOKEN"] == "abc"
    assert environment["EVOLINK_API_KEY"] == "xyz"


def test_the_environment_wins_over_the_env_file(tmp_path: Path, environment: dict[str, str]) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\n", encoding="utf-8")
    environment["DISCORD_TOKEN"] = "from-environment"
    assert load_env_file(env_file) is None
    assert environment["DISCORD_TOKEN"] == "from-environment"


def test_a_binary_env_file_is_one_clear_error(tmp_path: Path, environment: dict[str, str]) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"\xff\xfe\x00D\x00I")
    with pytest.raises(StartupError, match="plain UTF-8"):
        load_env_file(env_file)


@pytest.mark.parametrize("arguments", [(), ("--check",)], ids=["start", "check"])
async def test_an_unreachable_postgresql_is_one_line_naming_database_url_without_its_password(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeCompletions], arguments: tuple[str, ...]
) -> None:
    discord_fake, model = fakes
    url = "postgresql://bot:pg-secret-word@127.0.0.1:1/bot"  # nothing listens on port 1
    code, stdout, stderr = await finish(
        await run_bot(tmp_path, fakes_env(tmp_path, discord_fake, model, DATABASE_URL=url), *arguments)
    )
    output = stdout + stderr
    assert code == 1 and "Traceback" not in output and "pg-secret-word" not in output
    assert "DATABASE_URL (postgresql://bot:***@127.0.0.1:1/bot): cannot reach PostgreSQL" in output
    if not arguments:
        assert "DATABASE_URL" in one_error_line(stdout, stderr)
        assert discord_fake.requests == []  # nothing went online
