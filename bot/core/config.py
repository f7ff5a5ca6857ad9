"""Settings from the environment and `.env`, built once and passed down."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from platformdirs import user_data_path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Per-user and absolute: the same database whatever directory the bot is started from, outside the
# installed code (a `pip install .` puts the code in site-packages, which upgrades replace).
DEFAULT_DB_PATH = user_data_path("hearth", appauthor=False) / "hearth.db"
# Where versions before 0.2 kept it, beside a checkout; still used when it exists, so an upgrade
# never silently starts on a new, empty database.
LEGACY_DB_PATH = PROJECT_ROOT / "data" / "hearth.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Every key the bot reads, with the comment `.env.example` carries; a test keeps them in step.
KEYS: dict[str, str] = {
    "DISCORD_TOKEN": "Bot token from https://discord.com/developers/applications (Bot tab). Required to run.",
    "HEARTH_DB_PATH": "SQLite database file; created on first start. A relative path is relative to this file's folder. Default: a per-user data folder (python -m bot check prints it)",
    "HEARTH_LOG_LEVEL": "DEBUG, INFO, WARNING, ERROR or CRITICAL. Default: INFO",
    "HEARTH_DEV_GUILD_ID": "Optional server id: slash commands are synced there instantly at start.",
    "HEARTH_DISCORD_API_BASE": "TEST ONLY: REST base URL of a local Discord stand-in. Leave unset.",
    "HEARTH_DISCORD_GATEWAY": "TEST ONLY: gateway URL of a local Discord stand-in. Leave unset.",
}


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message says which and why."""


@dataclass(frozen=True)
class Config:
    """Everything the process needs to start; the token is never shown in repr."""

    token: str | None = field(repr=False)
    db_path: Path
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    api_base: str | None = None
    gateway_url: str | None = None

    @property
    def has_token(self) -> bool:
        """Tell whether a token was given."""
        return bool(self.token)


def default_env_file() -> Path:
    """The `.env` to read: the current directory's, else the checkout's (beside README.md)."""
    here = Path.cwd() / ".env"
    return here if here.is_file() else PROJECT_ROOT / ".env"


def default_db_path() -> Path:
    """The database when HEARTH_DB_PATH is unset: the legacy checkout file if it exists, else per-user."""
    return LEGACY_DB_PATH if LEGACY_DB_PATH.is_file() else DEFAULT_DB_PATH


def load_config(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Config:
    """Build the config from `.env` (if present) overlaid by the process environment."""
    env_file = env_file if env_file is not None else default_env_file()
    values: dict[str, str] = {}
    from_file: dict[str, str] = {}
    if env_file.is_file():
        from_file = {k: v for k, v in dotenv_values(env_file).items() if v is not None}
        values.update(from_file)
    environment = os.environ if environ is None else environ
    values.update(environment)

    def get(key: str) -> str | None:
        raw = values.get(key)
        return raw.strip() if raw is not None and raw.strip() else None

    level = (get("HEARTH_LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"HEARTH_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")

    guild_raw = get("HEARTH_DEV_GUILD_ID")
    dev_guild_id = None
    if guild_raw is not None:
        if not guild_raw.isdigit():
            raise ConfigError("HEARTH_DEV_GUILD_ID must be a server id (digits only)")
        dev_guild_id = int(guild_raw)

    db_raw = get("HEARTH_DB_PATH")
    db_path = Path(db_raw).expanduser() if db_raw else default_db_path()
    if not db_path.is_absolute():
        # A path written in .env is relative to that file, not to wherever the bot is started from.
        base = env_file.resolve().parent if "HEARTH_DB_PATH" not in environment else Path.cwd()
        db_path = base / db_path
    db_path = db_path.resolve()
    if db_path.is_dir():
        raise ConfigError(f"HEARTH_DB_PATH points to a folder, not a file: {db_path}")

    return Config(
        token=get("DISCORD_TOKEN"),
        db_path=db_path,
        log_level=level,
        dev_guild_id=dev_guild_id,
        api_base=get("HEARTH_DISCORD_API_BASE"),
        gateway_url=get("HEARTH_DISCORD_GATEWAY"),
    )


class RedactSecrets(logging.Filter):
    """Replace the token wherever it would appear in a log record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets masked; never drop it."""
        if not self._secrets:
            return True
        message = record.getMessage()
        text = message
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        if text != message:
            record.msg, record.args = text, None
        return True


def setup_logging(config: Config) -> None:
    """Configure one line per event at the configured level, with the token masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([config.token or ""]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
