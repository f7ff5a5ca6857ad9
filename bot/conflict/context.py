"""Score the last message of a conversation snippet in its context.

Context changes how a message reads: a reply or mention aims it at someone,
earlier hostility from others makes a sharp answer part of a heated exchange,
the author's own earlier hostility makes a repeat more likely, and an author
who swears in most messages is probably swearing for emphasis, not at anyone.
Earlier messages only need cheap lexical features (no sentiment analysis), and
those are remembered per (text, language) (``scoring.context_summary``; a
scored message is remembered too): in a live channel each message is context
for the next several, so a sliding window costs one lookup per earlier
message instead of re-reading it every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from bot.conflict.scoring import (
    ContextSignals,
    HostilityModel,
    HostilityScore,
    MessageFeatures,
    context_summary,
    default_model,
    extract_features,
)
from bot.core.language import guess_language
from bot.core.sentiment import polarity

__all__ = ["ChatMessage", "context_features", "context_signals", "score_in_context"]


class ChatMessage(NamedTuple):
    """One message of a snippet; reply_to is the index of the message it answers.

    lang ("en"/"fr"), when already known, is the language this message is read
    in as context; None reads it in the language of the message being scored.
    """

    author: str
    text: str
    reply_to: int | None = None
    lang: str | None = None


def context_signals(messages: Sequence[ChatMessage], index: int, lang: str) -> tuple[ContextSignals, bool]:
    """Return the context signals for messages[index] and whether it is a reply to another author."""
    target = messages[index]
    reply_to_other = False
    if target.reply_to is not None and 0 <= target.reply_to < index:
        reply_to_other = messages[target.reply_to].author != target.author
    self_prev = 0.0
    other_prev = 0.0
    own = 0
    own_swearing = 0
    author = target.author
    for earlier in messages[:index]:
        if not earlier.text:
            continue
        hostility, swears = context_summary(earlier.text, earlier.lang or lang)
        if earlier.author == author:
            own += 1
            own_swearing += swears
            if hostility > self_prev:
                self_prev = hostility
        elif hostility > other_prev:
            other_prev = hostility
    signals = ContextSignals(
        reply_to_other=reply_to_other,
        self_prev=self_prev,
        other_prev=other_prev,
        swear_habit=own_swearing / own if own else 0.0,
    )
    return signals, reply_to_other


def context_features(messages: Sequence[ChatMessage], lang: str, compound: float) -> MessageFeatures:
    """Return the features of the last message, earlier ones being its context."""
    last = messages[-1]
    if len(messages) == 1:
        return extract_features(last.text, lang, compound)
    signals, replying = context_signals(messages, len(messages) - 1, lang)
    return extract_features(last.text, lang, compound, addressed=replying, context=signals)


def score_in_context(
    messages: Sequence[ChatMessage],
    *,
    lang: str | None = None,
    compound: float | None = None,
    model: HostilityModel | None = None,
    threshold: float | None = None,
) -> HostilityScore:
    """Score the last message of messages, earlier ones being its context.

    compound is the VADER compound of the last message if already known.
    lang None detects the language from the last message.
    """
    if not messages:
        raise ValueError("messages must not be empty")
    last = messages[-1]
    if lang not in ("en", "fr"):
        lang = guess_language(last.text)
    if compound is None:
        compound = polarity(last.text, lang)
    mdl = model if model is not None else default_model()
    return mdl.evaluate(context_features(messages, lang, compound).vector, threshold)
