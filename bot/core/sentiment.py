"""VADER compound polarity for English (vaderSentiment) and French (vaderSentiment-fr).

Both analyzers are built once, on first use, and reused: building them reads
their lexicon files. Callers that score a message for several purposes should
compute the compound here once and pass it along (the conflict scorer accepts it).
"""

from __future__ import annotations

import threading
import warnings
from typing import Protocol

from bot.core.language import guess_language

__all__ = ["SentimentAnalyzers", "default_analyzers", "polarity"]


class _Analyzer(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


class SentimentAnalyzers:
    """Lazily built pair of VADER analyzers, one per language."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._en: _Analyzer | None = None
        self._fr: _Analyzer | None = None

    def _english(self) -> _Analyzer:
        if self._en is None:
            with self._lock:
                if self._en is None:
                    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                    self._en = SentimentIntensityAnalyzer()
        return self._en

    def _french(self) -> _Analyzer:
        if self._fr is None:
            with self._lock:
                if self._fr is None:
                    with warnings.catch_warnings():
                        # fuzzywuzzy warns about its pure-Python matcher at import.
                        warnings.simplefilter("ignore")
                        from vaderSentiment_fr.vaderSentiment import (
                            SentimentIntensityAnalyzer as FrenchAnalyzer,
                        )
                    self._fr = FrenchAnalyzer()
        return self._fr

    def polarity(self, text: str, lang: str | None = "en") -> float:
        """Return the VADER compound (-1..1) of text; lang None means detect it."""
        if not text or text.isspace():
            return 0.0
        if lang is None:
            lang = guess_language(text)
        analyzer = self._french() if lang == "fr" else self._english()
        return float(analyzer.polarity_scores(text)["compound"])


_DEFAULT = SentimentAnalyzers()


def default_analyzers() -> SentimentAnalyzers:
    """Return the process-wide analyzers (built on first use)."""
    return _DEFAULT


def polarity(text: str, lang: str | None = "en") -> float:
    """Return the VADER compound (-1..1) of text in "en" or "fr"; None detects."""
    return _DEFAULT.polarity(text, lang)
