"""The deployment files, checked without a container engine or systemd: they parse and agree.

The Dockerfile's instructions are read with a small parser (continuation lines joined, comments
dropped), docker-compose.yml with PyYAML, the systemd unit with configparser. What needs a real
engine (building, running) is not here.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from assistant import __version__
from assistant.settings import DEFAULT_DATABASE_URL, PROJECT_FOLDER, Settings, parse_database_url
from assistant.startup import EXIT_BAD_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_ONLY_EXCLUDED = {"tests", "bench"}
REQUIRED = {"DISCORD_TOKEN": "token", "EVOLINK_API_KEY": "key"}


def instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments) in order."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(arguments.split())))
    return found


def only(keyword: str) -> str:
    """Return the arguments of the one `keyword` instruction."""
    [arguments] = [arguments for name, arguments in instructions() if name == keyword]
    return arguments


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yml, parsed."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_the_image_runs_what_the_procfile_runs() -> None:
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")
    [worker] = [line.split(":", 1)[1] for line in procfile.splitlines() if line.startswith("worker:")]
    assert (
        json.loads(only("CMD")) == shlex.split(worker) == ["python", "bot.py"]
    )  # exec form: signals reach python


def test_the_base_is_a_slim_python_that_the_project_supports() -> None:
    assert re.fullmatch(r"python:3\.(1[1-9])-slim(-\w+)?", only("FROM"))


def test_the_pinned_requirements_are_installed() -> None:
    steps = instructions()
    assert ("COPY", "requirements.txt ./") in steps
    assert any(
        name == "RUN" and "pip install --no-cache-dir -r requirements.txt" in args for name, args in steps
    )
    requirements = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [line for line in requirements if line.strip() and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", pin) for pin in pins), pins


def test_the_bot_runs_as_a_user_that_is_not_root() -> None:
    steps = instructions()
    user = only("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert any(name == "RUN" and "useradd" in args and user in args for name, args in steps)
    names = [name for name, _ in steps]
    assert names.index("USER") < names.index("CMD")


def test_the_database_lives_in_a_volume() -> None:
    workdir = Path(only("WORKDIR"))
    [volume] = json.loads(only("VOLUME"))
    # A relative sqlite path is from bot.py's folder, which in the image is the working directory.
    database = workdir / parse_database_url(DEFAULT_DATABASE_URL).relative_to(PROJECT_FOLDER)
    assert database.parent == Path(volume)


def test_the_health_check_runs_the_probe() -> None:
    healthcheck = only("HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert command == ["python", "-m", "assistant.observability.probe"]
    assert (ROOT / "assistant" / "observability" / "probe.py").is_file()


def test_the_image_holds_every_runtime_package() -> None:
    copied = {args.split()[0] for name, args in instructions() if name == "COPY"}
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - RUNTIME_ONLY_EXCLUDED
    modules = {path.name for path in ROOT.glob("*.py")}
    assert packages | modules <= copied, "the image must COPY every package and module bot.py can import"
    assert all((ROOT / source).exists() for source in copied)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and "data/" in ignored  # secrets and the database stay out of the image


def test_compose_runs_the_bot_with_a_named_volume(compose: dict) -> None:
    bot = compose["services"]["bot"]
    assert bot["build"] == "."
    assert bot["env_file"] == ".env"
    assert "bot-data:/app/data" in bot["volumes"]
    assert "bot-data" in compose["volumes"]
    assert bot["init"] is True  # tini as PID 1 forwards SIGTERM
    grace = int(bot["stop_grace_period"].removesuffix("s"))
    assert grace > Settings.from_env(REQUIRED).shutdown_grace_seconds
    assert "profiles" not in bot  # `docker compose up -d` starts it


def test_the_postgres_profile_adds_a_database_the_bot_waits_for(compose: dict) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "postgres-data" in compose["volumes"]
    assert any(volume.startswith("postgres-data:") for volume in postgres["volumes"])
    assert "healthcheck" in postgres
    assert compose["services"]["bot"]["depends_on"]["postgres"] == {
        "condition": "service_healthy",
        "required": False,  # without the profile the bot starts alone
    }
    env = postgres["environment"]
    user, database = env["POSTGRES_USER"], env["POSTGRES_DB"]
    documented = f"DATABASE_URL=postgresql://{user}:<the same password>@postgres:5432/{database}"
    assert documented in (ROOT / "docker-compose.yml").read_text(encoding="utf-8")


def test_the_systemd_unit_runs_the_procfile_command_gracefully() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read(ROOT / "deploy" / "evolink-discord-assistant.service", encoding="utf-8")
    service = unit["Service"]
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8").split(":", 1)[1].split()
    executable, *arguments = service["ExecStart"].split()
    assert executable.endswith("/.venv/bin/python") and arguments == procfile[1:]
    assert service["User"] not in ("root", "0")
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) > Settings.from_env(REQUIRED).shutdown_grace_seconds
    assert service["RestartPreventExitStatus"] == str(EXIT_BAD_SETTINGS)
    assert service["ReadWritePaths"] == service["WorkingDirectory"] + "/data"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_changelog_starts_with_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (\d+\.\d+\.\d+)", changelog, flags=re.MULTILINE)
    assert first is not None
    pyproject = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), flags=re.MULTILINE)
    assert pyproject is not None
    assert first.group(1) == pyproject.group(1) == __version__
