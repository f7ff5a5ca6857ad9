"""Run the real `python -m bot run` process against the Discord stand-in, and wait on it.

Every wait is bounded; `running_bot()` kills the process in `finally`, whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.standin import PERM_MANAGE_GUILD, DiscordStandIn

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "ready as "
# The first start pays for imports, migrations and discord.py's 2 s guild_ready_timeout.
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


@dataclass
class Server:
    """Ids of the server a test builds in the stand-in."""

    guild: int
    general: int
    welcome: int
    managers: int
    manager_role: int
    manager: int
    member: int
    others: list[int] = field(default_factory=list)


def build_server(
    standin: DiscordStandIn, *, extra_members: int = 0, bot_permissions: int | None = None
) -> Server:
    """Create one guild with channels, a Manage Server role, a manager and a plain member."""
    guild = standin.add_guild(
        "Hearth e2e", **({"bot_permissions": bot_permissions} if bot_permissions is not None else {})
    )
    manager_role = standin.add_role(guild, "Managers", permissions=PERM_MANAGE_GUILD)
    return Server(
        guild=guild,
        general=standin.add_channel(guild, "general"),
        welcome=standin.add_channel(guild, "welcome"),
        managers=standin.add_channel(guild, "managers"),
        manager_role=manager_role,
        manager=standin.add_member(guild, username="manon", roles=[manager_role]),
        member=standin.add_member(guild, username="marc"),
        others=[standin.add_member(guild, username=f"member{i}") for i in range(extra_members)],
    )


class BotProcess:
    """One `python -m bot run` child process, its environment, database and log file."""

    def __init__(
        self,
        standin: DiscordStandIn,
        workdir: Path,
        *,
        guild_id: int | None = None,
        token: str | None = None,
        log_level: str = "INFO",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.standin = standin
        self.workdir = workdir
        self.db_path = workdir / "hearth.db"
        self.token = token if token is not None else (standin.token or "")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "DISCORD_"))},
            **standin.env,
            "DISCORD_TOKEN": self.token,
            "HEARTH_DB_PATH": str(self.db_path),
            "HEARTH_LOG_LEVEL": log_level,
            "PYTHONUNBUFFERED": "1",
            **({"HEARTH_DEV_GUILD_ID": str(guild_id)} if guild_id else {}),
            **(extra_env or {}),
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.log_path = workdir / "bot-0.log"
        self._identifies_at_start = 0
        self._guild_creates_at_start = 0

    @property
    def pid(self) -> int:
        """Return the running process id."""
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        """Start a fresh process; its output goes to a new log file (`bot-N.log`)."""
        assert self.proc is None or self.proc.returncode is not None, "the bot is already running"
        self.log_path = self.workdir / f"bot-{self.starts}.log"
        self.starts += 1
        self._identifies_at_start = len(self.standin.identifies)
        self._guild_creates_at_start = sum(
            1 for event, _ in self.standin.dispatched if event == "GUILD_CREATE"
        )
        with self.log_path.open("wb") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=str(PROJECT_ROOT),
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )

    def log(self) -> str:
        """Return the current process's output so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def all_logs(self) -> str:
        """Return the output of every start, in order."""
        return "\n".join(
            (self.workdir / f"bot-{i}.log").read_text(encoding="utf-8", errors="replace")
            for i in range(self.starts)
            if (self.workdir / f"bot-{i}.log").exists()
        )

    async def wait_log(self, pattern: str, *, within: float = 10.0, count: int = 1) -> str:
        """Wait until `pattern` (a regex) appears `count` times in the current log; return the log."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while True:
            text = self.log()
            if len(regex.findall(text)) >= count:
                return text
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(
                    f"bot exited ({self.proc.returncode}) before {pattern!r}:\n{text[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the bot's log after {within}s:\n{text[-4000:]}")
            await asyncio.sleep(0.05)

    async def wait_ready(self, *, within: float = READY_TIMEOUT) -> None:
        """Wait until the process logged on_ready (scheduled jobs start running then)."""
        await self.wait_log(re.escape(READY_LINE), within=within)

    async def wait_connected(self, *, within: float = READY_TIMEOUT) -> None:
        """Wait until the bot has synced its commands and holds a live gateway session with the guilds.

        About 2 s sooner than on_ready (discord.py waits `guild_ready_timeout` for more guilds);
        enough for commands and events, not for scheduled jobs.
        """
        await self.wait_log("slash commands|ready as ", within=within)
        await self.standin.wait_until_identified(timeout=within, count=self._identifies_at_start + 1)
        await self.standin.wait_for(
            lambda: (
                sum(1 for event, _ in self.standin.dispatched if event == "GUILD_CREATE")
                >= self._guild_creates_at_start + len(self.standin.guilds)
            ),
            timeout=within,
        )
        await asyncio.sleep(0.3)

    async def wait_exit(self, *, within: float = STOP_TIMEOUT) -> int:
        """Wait for the process to end on its own; return its exit status."""
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), within)

    async def kill(self) -> None:
        """`kill -9` the process and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.proc.wait(), STOP_TIMEOUT)

    async def terminate(self, *, within: float = STOP_TIMEOUT) -> int:
        """Send SIGTERM and wait for a clean exit; return the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await self.wait_exit(within=within)

    def peak_rss_mb(self) -> float:
        """Return the process's peak resident memory so far (Linux VmHWM), in MB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else 0.0

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the bot's database from outside the process (WAL allows it while the bot runs)."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return list(conn.execute(sql, params).fetchall())
        finally:
            conn.close()

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """Return the first column of the first row of a query on the bot's database."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def table_exists(self, name: str) -> bool:
        """Tell whether the bot's database has a table (features land one migration at a time)."""
        return bool(self.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))


@contextlib.asynccontextmanager
async def running_bot(
    standin: DiscordStandIn,
    workdir: Path,
    *,
    guild_id: int | None = None,
    wait: str = "connected",
    **kwargs: Any,
) -> AsyncIterator[BotProcess]:
    """Start the bot, wait until it is `connected` (commands, events) or `ready` (jobs too), always kill it."""
    bot = BotProcess(standin, workdir, guild_id=guild_id, **kwargs)
    await bot.start()
    try:
        if wait == "ready":
            await bot.wait_ready()
        elif wait == "connected":
            await bot.wait_connected()
        yield bot
    finally:
        await bot.kill()


async def wait_until(predicate: Callable[[], Any], *, within: float = 10.0, what: str = "condition") -> Any:
    """Poll `predicate()` (e.g. a database count) until truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what} (last value {value!r})")
        await asyncio.sleep(0.05)


def require_cog(*modules: str) -> None:
    """Fail the test (never skip it) when a cog it exercises is missing: a renamed cog file is a bug."""
    missing = [m for m in modules if not (PROJECT_ROOT / "cogs" / f"{m}.py").exists()]
    if missing:
        names = ", ".join(f"cogs/{m}.py" for m in missing)
        pytest.fail(f"{names} not found: a cog this test exercises was renamed or removed", pytrace=False)


def reply_text(body: Any) -> str:
    """Return the text of an interaction callback or message body (content and embed text)."""
    if not isinstance(body, dict):
        return ""
    data = body.get("data", body) or {}
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(parts)


def assert_no_mass_pings(standin: DiscordStandIn) -> None:
    """Fail if any message the bot sent lets Discord ping @everyone/@here or every role."""
    checked = 0
    for request in standin.requests:
        if request.method not in ("POST", "PATCH") or not isinstance(request.json, dict):
            continue
        if not ("/messages" in request.path or "/callback" in request.path or "/webhooks/" in request.path):
            continue
        body = request.json.get("data", request.json) if "/callback" in request.path else request.json
        if not isinstance(body, dict) or not (body.get("content") or body.get("embeds")):
            continue
        checked += 1
        allowed = body.get("allowed_mentions")
        assert allowed is not None, (
            f"{request.key} sent without allowed_mentions: Discord's default pings all"
        )
        parse = allowed.get("parse", [])
        assert "everyone" not in parse, f"{request.key} may ping @everyone/@here"
        assert "roles" not in parse, f"{request.key} may ping every role"
    assert checked, "the bot sent nothing to check"


async def configure(standin: DiscordStandIn, server: Server, command: str, **options: object) -> str:
    """Run a /config subcommand as the manager and return the reply text."""
    sent = await standin.interaction_create(
        command, channel_id=server.general, user_id=server.manager, options=options
    )
    return reply_text((await standin.wait_for_response(sent.id, timeout=10)).body)
