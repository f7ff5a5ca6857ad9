"""Configuration from the environment and .env."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.core.config import (
    DEFAULT_DB_PATH,
    KEYS,
    LEGACY_DB_PATH,
    PROJECT_ROOT,
    ConfigError,
    RedactSecrets,
    default_db_path,
    load_config,
)


def test_env_example_lists_every_key_with_a_comment() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    for key in KEYS:
        assert re.search(rf"^#? ?{key}=", text, re.M), key
        index = text.index(f"{key}=")
        previous_line = text[:index].rstrip("# \n").splitlines()[-1]
        assert previous_line.startswith("#"), f"{key} has no comment above it"


def test_environment_overrides_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DISCORD_TOKEN=from-file\nHEARTH_LOG_LEVEL=debug\n")
    config = load_config({"DISCORD_TOKEN": "from-env"}, env_file)
    assert config.token == "from-env"
    assert config.log_level == "DEBUG"


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    config = load_config({}, tmp_path / "missing.env")
    assert config.token is None and not config.has_token
    assert config.db_path == default_db_path() and config.db_path.is_absolute()
    assert config.dev_guild_id is None and config.api_base is None


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("HEARTH_LOG_LEVEL", "LOUD", "HEARTH_LOG_LEVEL"),
        ("HEARTH_DEV_GUILD_ID", "my-server", "HEARTH_DEV_GUILD_ID"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(tmp_path: Path, key: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_config({key: value}, tmp_path / "none.env")


def test_db_path_pointing_at_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        load_config({"HEARTH_DB_PATH": str(tmp_path)}, tmp_path / "none.env")


def test_token_is_not_in_repr(tmp_path: Path) -> None:
    config = load_config({"DISCORD_TOKEN": "sekret.token.value"}, tmp_path / "none.env")
    assert "sekret" not in repr(config)


def test_redaction_filter_masks_token_in_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login with %s failed", ("tok123",), None)
    try:
        raise RuntimeError("bad token tok123")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecrets(["tok123"]).filter(record)
    assert "tok123" not in record.getMessage()
    assert record.exc_text is not None and "tok123" not in record.exc_text
    assert "[redacted]" in record.getMessage()


def test_default_database_is_per_user_and_absolute_unless_a_checkout_already_has_one() -> None:
    assert DEFAULT_DB_PATH.is_absolute() and PROJECT_ROOT not in DEFAULT_DB_PATH.parents
    assert default_db_path() == (LEGACY_DB_PATH if LEGACY_DB_PATH.is_file() else DEFAULT_DB_PATH)


def test_relative_database_path_in_env_file_is_relative_to_that_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / ".env").write_text("HEARTH_DB_PATH=state/hearth.db\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config({}, folder / ".env")
    assert config.db_path == folder / "state" / "hearth.db"


def test_relative_database_path_from_the_environment_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config({"HEARTH_DB_PATH": "x.db"}, tmp_path / "missing.env")
    assert config.db_path == tmp_path.resolve() / "x.db"
