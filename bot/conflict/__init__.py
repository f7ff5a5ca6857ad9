"""Message hostility scoring for conflict flagging (English and French).

Scores only: flags go to human moderators, nothing here acts on a member.
See README.md beside this file for features, data and measured figures.
"""

from bot.conflict.context import ChatMessage, context_features, context_signals, score_in_context
from bot.conflict.scoring import (
    FEATURE_NAMES,
    ContextSignals,
    HostilityModel,
    HostilityScore,
    default_model,
    extract_features,
    score_message,
)

__all__ = [
    "FEATURE_NAMES",
    "ChatMessage",
    "ContextSignals",
    "HostilityModel",
    "HostilityScore",
    "context_features",
    "context_signals",
    "default_model",
    "extract_features",
    "score_in_context",
    "score_message",
]
