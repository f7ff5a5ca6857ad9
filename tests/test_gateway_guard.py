"""The parser guard on discord.py's real ConnectionState: a malformed event is logged and skipped."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.core.config import Config
from bot.discord_glue.client import HearthBot


def test_message_without_author_never_reaches_the_listeners(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = HearthBot(Config(token=None, db_path=tmp_path / "x.db"), extensions=[])
    dispatched: list[str] = []
    bot.dispatch = lambda event, *args, **kwargs: dispatched.append(event)  # type: ignore[method-assign]
    state = bot._connection
    state.dispatch = bot.dispatch
    payload = {
        "id": "1",
        "channel_id": "2",
        "content": "hi",
        "timestamp": "2026-03-02T09:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }

    with caplog.at_level(logging.ERROR):
        state.parsers["MESSAGE_CREATE"](payload)

    assert "message" not in dispatched, "discord.py would hand every on_message a message with no author"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "skipped a malformed MESSAGE_CREATE" in errors[0].getMessage()
    assert "hi" not in errors[0].getMessage()
