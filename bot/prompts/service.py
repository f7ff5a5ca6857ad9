"""Managers' own prompts: add, edit, retire, tag, list and import, with a duplicate check."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from bot.core.clock import Clock, to_ts
from bot.core.db import Database
from bot.core.errors import InvalidValue, NotFound, UserError
from bot.prompts.library import KINDS, MAX_OPTION, MAX_QUESTION, MAX_TEXT, normalise

MAX_IMPORT_LINES = 500
MAX_LIST = 25


@dataclass(frozen=True)
class Prompt:
    id: int
    guild_id: int
    kind: str
    text: str
    options: tuple[str, ...]
    retired: bool


@dataclass(frozen=True)
class ImportResult:
    added: int
    duplicates: int


def clean_text(text: str) -> str:
    """A prompt's text as stored: trimmed, inner runs of spaces collapsed, lines kept."""
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return "\n".join(lines).strip()


def check_prompt(kind: str, text: str, options: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Validate a prompt; return its cleaned text and options, or raise InvalidValue."""
    if kind not in KINDS:
        raise InvalidValue("prompts.error.kind", kind=kind[:32])
    cleaned = clean_text(text)
    if not cleaned:
        raise InvalidValue("prompts.error.empty")
    limit = MAX_QUESTION if kind == "this-or-that" else MAX_TEXT
    if len(cleaned) > limit:
        raise InvalidValue("prompts.error.too_long", limit=limit, length=len(cleaned))
    opts = tuple(" ".join(option.split()) for option in options if option and option.strip())
    if kind == "this-or-that":
        if len(opts) != 2 or normalise(opts[0]) == normalise(opts[1]):
            raise InvalidValue("prompts.error.options")
        if any(len(option) > MAX_OPTION for option in opts):
            raise InvalidValue("prompts.error.option_too_long", limit=MAX_OPTION)
    elif opts:
        raise InvalidValue("prompts.error.options_not_allowed")
    return cleaned, opts


class PromptService:
    """A server's own prompt pool."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def add(
        self, guild_id: int, manager_id: int, kind: str, text: str, options: tuple[str, ...] = ()
    ) -> Prompt:
        cleaned, opts = check_prompt(kind, text, options)
        now = to_ts(self._clock.now())
        try:
            prompt_id = await self._db.insert(
                "INSERT INTO prompts(guild_id, kind, text, text_key, options, created_by, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, kind, cleaned, normalise(cleaned), json.dumps(opts), manager_id, now, now),
            )
        except sqlite3.IntegrityError:
            raise UserError("prompts.error.duplicate") from None
        return Prompt(prompt_id, guild_id, kind, cleaned, opts, False)

    async def get(self, guild_id: int, prompt_id: int) -> Prompt:
        row = await self._db.fetchone(
            "SELECT * FROM prompts WHERE guild_id = ? AND id = ?", (guild_id, prompt_id)
        )
        if row is None:
            raise NotFound("prompts.error.not_found", id=prompt_id)
        return _prompt(row)

    async def edit(
        self,
        guild_id: int,
        prompt_id: int,
        *,
        text: str | None = None,
        kind: str | None = None,
        options: tuple[str, ...] | None = None,
    ) -> Prompt:
        """Change a live prompt's text, kind (its tag) or options; the result is checked as a whole."""
        current = await self.get(guild_id, prompt_id)
        if current.retired:
            raise UserError("prompts.error.retired", id=prompt_id)
        new_kind = kind or current.kind
        new_options = (
            options if options is not None else (current.options if new_kind == current.kind else ())
        )
        cleaned, opts = check_prompt(new_kind, text if text is not None else current.text, new_options)
        try:
            await self._db.execute(
                "UPDATE prompts SET kind = ?, text = ?, text_key = ?, options = ?, updated_at = ?"
                " WHERE guild_id = ? AND id = ?",
                (
                    new_kind,
                    cleaned,
                    normalise(cleaned),
                    json.dumps(opts),
                    to_ts(self._clock.now()),
                    guild_id,
                    prompt_id,
                ),
            )
        except sqlite3.IntegrityError:
            raise UserError("prompts.error.duplicate") from None
        return Prompt(prompt_id, guild_id, new_kind, cleaned, opts, False)

    async def retire(self, guild_id: int, prompt_id: int) -> Prompt:
        """Take a prompt out of the rotation; it stays listed as retired and frees its text."""
        current = await self.get(guild_id, prompt_id)
        if current.retired:
            raise UserError("prompts.error.retired", id=prompt_id)
        await self._db.execute(
            "UPDATE prompts SET retired_at = ?, updated_at = ? WHERE guild_id = ? AND id = ?",
            (to_ts(self._clock.now()), to_ts(self._clock.now()), guild_id, prompt_id),
        )
        return Prompt(prompt_id, guild_id, current.kind, current.text, current.options, True)

    async def live(self, guild_id: int, kinds: tuple[str, ...] = ()) -> list[Prompt]:
        """The server's live prompts, oldest first, optionally only those of `kinds`."""
        rows = await self._db.fetchall(
            "SELECT * FROM prompts WHERE guild_id = ? AND retired_at IS NULL ORDER BY id", (guild_id,)
        )
        prompts = [_prompt(row) for row in rows]
        return [p for p in prompts if not kinds or p.kind in kinds]

    async def page(
        self, guild_id: int, *, kind: str | None = None, offset: int = 0
    ) -> tuple[list[Prompt], int]:
        """One page of live prompts (newest first) and how many there are in all."""
        if kind is not None and kind not in KINDS:
            raise InvalidValue("prompts.error.kind", kind=kind[:32])
        where = "guild_id = ? AND retired_at IS NULL" + (" AND kind = ?" if kind else "")
        params: tuple[Any, ...] = (guild_id, kind) if kind else (guild_id,)
        total = int(await self._db.fetchval(f"SELECT COUNT(*) FROM prompts WHERE {where}", params))
        rows = await self._db.fetchall(
            f"SELECT * FROM prompts WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, MAX_LIST, max(0, offset)),
        )
        return [_prompt(row) for row in rows], total

    async def import_lines(self, guild_id: int, manager_id: int, kind: str, content: str) -> ImportResult:
        """Add one prompt per non-blank line, all or nothing: a bad line refuses the whole file.

        Lines that repeat a live prompt (or an earlier line) are counted and skipped, not refused.
        """
        lines = [line for line in content.splitlines() if line.strip()]
        if not lines:
            raise InvalidValue("prompts.error.import_empty")
        if len(lines) > MAX_IMPORT_LINES:
            raise InvalidValue("prompts.error.import_too_many", limit=MAX_IMPORT_LINES)
        checked: list[tuple[str, tuple[str, ...]]] = []
        for number, line in enumerate(lines, start=1):
            parts = line.split("|") if kind == "this-or-that" else [line]
            try:
                checked.append(check_prompt(kind, parts[0], tuple(parts[1:])))
            except InvalidValue as error:
                raise InvalidValue("prompts.error.import_line", line=number) from error
        now = to_ts(self._clock.now())
        added = duplicates = 0
        async with self._db.transaction() as conn:
            for cleaned, opts in checked:
                cursor = await conn.execute(
                    "INSERT INTO prompts(guild_id, kind, text, text_key, options, created_by, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (guild_id, kind, cleaned, normalise(cleaned), json.dumps(opts), manager_id, now, now),
                )
                if cursor.rowcount > 0:
                    added += 1
                else:
                    duplicates += 1
                await cursor.close()
        return ImportResult(added, duplicates)


def _prompt(row: Any) -> Prompt:
    return Prompt(
        id=row["id"],
        guild_id=row["guild_id"],
        kind=row["kind"],
        text=row["text"],
        options=tuple(json.loads(row["options"])),
        retired=row["retired_at"] is not None,
    )
