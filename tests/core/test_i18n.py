"""Message catalogs: both languages complete, placeholders consistent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.i18n import LANGUAGES, Catalog, lang_from_locale
from bot.services import setting_specs


def test_no_key_is_missing_in_either_language(catalog: Catalog) -> None:
    assert catalog.missing() == {lang: set() for lang in LANGUAGES}


def test_placeholders_match_between_languages(catalog: Catalog) -> None:
    mismatched = {
        key: (catalog.placeholders("en", key), catalog.placeholders("fr", key))
        for key in catalog.messages["en"]
        if catalog.placeholders("en", key) != catalog.placeholders("fr", key)
    }
    assert mismatched == {}


def test_every_setting_has_a_label_in_both_languages(catalog: Catalog) -> None:
    for key in setting_specs():
        for lang in LANGUAGES:
            assert catalog.has(lang, f"setting.{key}"), (lang, key)


def test_formatting_fills_values_and_keeps_unknown_placeholders(catalog: Catalog) -> None:
    text = catalog.t("fr", "config.saved", setting="Langue", value="fr")
    assert text == "Enregistré : Langue → fr."
    assert "{value}" in catalog.t("en", "config.saved", setting="x")


def test_unknown_language_falls_back_to_english(catalog: Catalog) -> None:
    assert catalog.t("de", "config.view.title") == catalog.t("en", "config.view.title")


def test_same_key_in_two_files_is_refused(tmp_path: Path) -> None:
    for lang in LANGUAGES:
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "a.json").write_text(json.dumps({"x": "1"}))
        (tmp_path / lang / "b.json").write_text(json.dumps({"x": "2"}))
    with pytest.raises(ValueError, match="both"):
        Catalog.load(tmp_path)


@pytest.mark.parametrize(
    ("locale", "lang"), [("fr", "fr"), ("en-US", "en"), ("en-GB", "en"), ("de", None), (None, None)]
)
def test_discord_locales_map_to_catalog_languages(locale: str | None, lang: str | None) -> None:
    assert lang_from_locale(locale) == lang
