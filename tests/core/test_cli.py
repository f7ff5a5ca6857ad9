"""The command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, env_extra: dict[str, str] | None = None, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "HEARTH_"))}
    env["HEARTH_DB_PATH"] = str(tmp_path / "cli.db")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_exits_2_with_guidance(tmp_path: Path) -> None:
    result = run_cli(tmp_path=tmp_path)
    assert result.returncode == 2
    for words in (
        "DISCORD_TOKEN",
        "discord.com/developers/applications",
        "Server Members Intent",
        "Message Content Intent",
        "applications.commands",
        "Manage Roles",
    ):
        assert words in result.stderr, words
    assert not (tmp_path / "cli.db").exists()


def test_check_passes_on_a_fresh_checkout_with_a_token_warning(tmp_path: Path) -> None:
    result = run_cli("check", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: DISCORD_TOKEN" in result.stdout
    assert "check passed" in result.stdout


def test_migrate_creates_the_database_then_check_sees_it(tmp_path: Path) -> None:
    assert run_cli("migrate", tmp_path=tmp_path).returncode == 0
    assert (tmp_path / "cli.db").exists()
    result = run_cli("check", tmp_path=tmp_path)
    assert result.returncode == 0 and "at schema" in result.stdout
    assert "runs the activity writer's batch statements" in result.stdout


def test_check_reports_a_bad_setting_and_fails(tmp_path: Path) -> None:
    result = run_cli("check", env_extra={"HEARTH_LOG_LEVEL": "chatty"}, tmp_path=tmp_path)
    assert result.returncode == 1
    assert "HEARTH_LOG_LEVEL" in result.stderr


@pytest.mark.parametrize("command", ["", "run", "migrate", "sync", "check", "backup", "demo"])
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    args = [command, "--help"] if command else ["--help"]
    result = run_cli(*args, tmp_path=tmp_path)
    assert result.returncode == 0
    assert "usage:" in result.stdout


def test_token_never_printed_by_check(tmp_path: Path) -> None:
    result = run_cli("check", env_extra={"DISCORD_TOKEN": "MTAx.secret-token-value"}, tmp_path=tmp_path)
    assert "secret-token-value" not in result.stdout + result.stderr


def test_version_is_printed(tmp_path: Path) -> None:
    result = run_cli("--version", tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("python -m bot ") and result.stdout.split()[-1][0].isdigit()


def test_check_fails_when_the_catalogs_are_empty(tmp_path: Path) -> None:
    from bot.__main__ import check_catalogs

    for lang in ("en", "fr"):
        (tmp_path / lang).mkdir()
    problems = check_catalogs(tmp_path)
    assert problems and "empty" in problems[0] and str(tmp_path) in problems[0]
    assert check_catalogs() == []


def test_no_voice_warnings_when_the_bot_is_built(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import discord

    from bot.core.config import Config
    from bot.discord_glue.client import HearthBot

    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = True  # as on a fresh process
    with caplog.at_level("WARNING"):
        HearthBot(Config(token=None, db_path=tmp_path / "x.db"))
    assert not [r for r in caplog.records if "voice" in r.getMessage()]


def test_conflict_score_help_documents_the_format_with_an_example_that_is_true(tmp_path: Path) -> None:
    result = run_cli("conflict", "score", "--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for words in ('"messages"', '"reply_to"', '"score"', '"flag"', "invalid_json", "example:"):
        assert words in result.stdout, words
    lines = result.stdout.splitlines()
    echo = next(line for line in lines if "$ echo" in line)
    snippet = echo.split("echo '", 1)[1].rsplit("'", 1)[0]
    expected = lines[lines.index(echo) + 2].strip()
    scored = subprocess.run(
        [sys.executable, "-m", "bot", "conflict", "score"],
        input=snippet + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert scored.stdout.strip() == expected


async def test_login_gives_up_after_its_retries_with_the_reason() -> None:
    import aiohttp

    from bot.__main__ import Unreachable, login_with_retries

    class Offline:
        """A client whose login always meets a refused connection (what aiohttp raises then)."""

        attempts = 0

        async def login(self, token: str) -> None:
            self.attempts += 1
            raise aiohttp.ClientConnectionError("Cannot connect to host discord.com:443")

    client = Offline()
    with pytest.raises(Unreachable) as caught:
        await login_with_retries(client, "token", delays=(0.0, 0.0))
    assert client.attempts == 3 and caught.value.attempts == 3
    assert "Cannot connect to host" in caught.value.reason
