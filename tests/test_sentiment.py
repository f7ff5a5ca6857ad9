"""VADER compound for English and French through bot.sentiment."""

from __future__ import annotations

from bot.core.sentiment import SentimentAnalyzers, default_analyzers, polarity


def test_english_polarity_has_the_right_sign() -> None:
    assert polarity("I love this, thank you so much", "en") > 0.3
    assert polarity("this is terrible, I hate it", "en") < -0.3


def test_french_polarity_uses_the_french_lexicon() -> None:
    assert polarity("j'adore ce jeu, merci beaucoup", "fr") > 0.3
    assert polarity("c'est horrible, je déteste ça", "fr") < -0.3


def test_none_language_is_detected() -> None:
    assert polarity("c'est horrible, je déteste ça", None) == polarity("c'est horrible, je déteste ça", "fr")


def test_empty_text_is_neutral() -> None:
    assert polarity("", "en") == 0.0
    assert polarity("   ", "fr") == 0.0


def test_analyzers_are_built_once() -> None:
    analyzers = SentimentAnalyzers()
    analyzers.polarity("good", "en")
    first = analyzers._english()
    analyzers.polarity("bad", "en")
    assert analyzers._english() is first
    assert default_analyzers() is default_analyzers()


def test_compound_is_bounded() -> None:
    value = polarity("AWFUL!!! HORRIBLE!!! WORST EVER!!!", "en")
    assert -1.0 <= value <= 1.0
