"""Every message key the prompts domain raises is in both catalogs, with the placeholders it fills."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.i18n import LANGUAGES, Catalog

SOURCES = Path(__file__).resolve().parents[2] / "bot" / "prompts"


def test_every_raised_key_has_a_message_in_both_languages(catalog: Catalog) -> None:
    keys = {
        key
        for source in SOURCES.glob("*.py")
        for key in re.findall(r"\"(prompts\.error\.[a-z_]+)\"", source.read_text(encoding="utf-8"))
    }
    assert len(keys) >= 15
    assert {(lang, key) for lang in LANGUAGES for key in keys if not catalog.has(lang, key)} == set()
