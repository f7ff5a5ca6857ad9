"""Message catalogs in English and French.

Catalogs live in `data/locales/<lang>/<feature>.json`, flat `"key": "text"` maps with `{name}`
placeholders. Slash command names and descriptions use keys `cmd.<qualified.name>.name`,
`cmd.<qualified.name>.description`, `cmd.<qualified.name>.params.<param>.name|description`, and
choices `choice.<value>`; `bot.translator` hands them to Discord.
"""

from __future__ import annotations

import json
import logging
import string
from pathlib import Path
from typing import Any

from bot.core.resources import data_path

log = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = data_path("locales")


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def lang_from_locale(locale: str | None) -> str | None:
    """Map a Discord locale ("fr", "en-US") to a catalog language, None when not one we speak."""
    if not locale:
        return None
    prefix = str(locale).split("-")[0].lower()
    return prefix if prefix in LANGUAGES else None


class Catalog:
    """All user-facing strings, per language."""

    def __init__(self, messages: dict[str, dict[str, str]]) -> None:
        self.messages = messages

    @classmethod
    def load(cls, directory: Path = LOCALES_DIR) -> Catalog:
        """Read every `<lang>/*.json` file; a key defined in two files is an error."""
        messages: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            merged: dict[str, str] = {}
            origin: dict[str, str] = {}
            for path in sorted((directory / lang).glob("*.json")):
                data = json.loads(path.read_text(encoding="utf-8"))
                for key, text in data.items():
                    if key in merged:
                        raise ValueError(f"{lang}: key {key!r} in both {origin[key]} and {path.name}")
                    if not isinstance(text, str):
                        raise ValueError(f"{lang}: key {key!r} in {path.name} is not a string")
                    merged[key] = text
                    origin[key] = path.name
            messages[lang] = merged
        return cls(messages)

    def has(self, lang: str, key: str) -> bool:
        """Tell whether the language defines the key."""
        return key in self.messages.get(lang, {})

    def raw(self, lang: str, key: str) -> str | None:
        """Return the unformatted text, or None when the language lacks it."""
        return self.messages.get(lang, {}).get(key)

    def t(self, lang: str | None, key: str, **params: Any) -> str:
        """Return the text for `key` in `lang` (falling back to English) with values filled in."""
        text = self.raw(lang or DEFAULT_LANGUAGE, key)
        if text is None:
            text = self.raw(DEFAULT_LANGUAGE, key)
            if text is None:
                log.warning("missing catalog key %s", key)
                return key
        return string.Formatter().vformat(text, (), _Missing(params))

    def missing(self) -> dict[str, set[str]]:
        """Return, per language, the keys the other languages define and it lacks."""
        every = set().union(*(set(m) for m in self.messages.values()))
        return {lang: every - set(self.messages.get(lang, {})) for lang in LANGUAGES}

    def placeholders(self, lang: str, key: str) -> set[str]:
        """Return the `{names}` a text uses."""
        text = self.raw(lang, key) or ""
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
