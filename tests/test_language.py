"""Language guess on simple English and French chat lines."""

from __future__ import annotations

import pytest

from bot.core.language import guess_language


@pytest.mark.parametrize(
    "text",
    [
        "you are an idiot",
        "what a great game, thanks everyone",
        "I don't think that's right",
        "is anyone up for a match tonight?",
    ],
)
def test_english_sentences_are_english(text: str) -> None:
    assert guess_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "t'es un connard",
        "Je déteste les lundis.",
        "salut tout le monde, ça va ?",
        "c'est nul mais bon",
        "quelqu'un est chaud pour une partie ce soir",
    ],
)
def test_french_sentences_are_french(text: str) -> None:
    assert guess_language(text) == "fr"


def test_empty_or_unknown_text_defaults_to_english() -> None:
    assert guess_language("") == "en"
    assert guess_language("12345 !!!") == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Merci! Bonne soirée.", "fr"),
        ("ok, the bot is down (again)", "en"),
        ("Pourquoi?? c'est cassé...", "fr"),
        ("what?! no way, thanks.", "en"),
        ("l’équipe arrive demain", "fr"),
    ],
)
def test_punctuation_clinging_to_words_does_not_hide_them(text: str, lang: str) -> None:
    assert guess_language(text) == lang
