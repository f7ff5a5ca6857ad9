"""Offline scoring of JSON Lines conversation snippets (``python -m bot conflict score``).

Input, one snippet per line::

    {"id": "…", "lang": "en" | "fr" | null,
     "messages": [{"author": "…", "text": "…", "reply_to": 0}, …]}

Output, exactly one line per input line, in order::

    {"id": "…", "score": 0.0–1.0, "flag": true | false}

The LAST message is scored, the earlier ones are its context, with the
default model and threshold unless one is given. ``lang`` null (or missing,
or anything but "en"/"fr") means detect it from the last messages.

A line that cannot be scored (not JSON, not an object, no non-empty
``messages`` list, a message without string ``text``) still gets its output
line: ``{"id": <id or null>, "score": 0.0, "flag": false, "error": "<code>"}``
with code one of ``invalid_json``, ``not_an_object``, ``no_messages``,
``invalid_message``. A ``reply_to`` that is not an earlier index is ignored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from bot.conflict.context import ChatMessage, context_features
from bot.conflict.scoring import HostilityModel, MessageFeatures, default_model
from bot.core.language import guess_language
from bot.core.sentiment import default_analyzers

__all__ = ["ScoringError", "record_features", "score_line", "score_record", "score_stream"]


class ScoringError(ValueError):
    """A snippet that cannot be scored; ``code`` goes into the output line."""

    def __init__(self, code: str, record_id: Any = None) -> None:
        super().__init__(code)
        self.code = code
        self.record_id = record_id


def _parse_messages(raw: Any, record_id: Any) -> list[ChatMessage]:
    if not isinstance(raw, list) or not raw:
        raise ScoringError("no_messages", record_id)
    messages: list[ChatMessage] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ScoringError("invalid_message", record_id)
        author = item.get("author")
        reply_to = item.get("reply_to")
        if not isinstance(reply_to, int) or isinstance(reply_to, bool) or not 0 <= reply_to < index:
            reply_to = None
        messages.append(
            ChatMessage(
                author="" if author is None else str(author),
                text=item["text"],
                reply_to=reply_to,
            )
        )
    return messages


def record_features(record: Any) -> tuple[Any, MessageFeatures]:
    """Return (id, features of the last message) for one decoded snippet.

    Raises ScoringError if the snippet is malformed.
    """
    if not isinstance(record, dict):
        raise ScoringError("not_an_object")
    record_id = record.get("id")
    messages = _parse_messages(record.get("messages"), record_id)
    lang = record.get("lang")
    if lang not in ("en", "fr"):
        lang = guess_language(" ".join(m.text for m in messages[-3:]))
    compound = default_analyzers().polarity(messages[-1].text, lang)
    return record_id, context_features(messages, lang, compound)


def score_record(
    record: Any, *, model: HostilityModel | None = None, threshold: float | None = None
) -> tuple[Any, float, bool]:
    """Return (id, score, flag) for one decoded snippet; raise ScoringError if malformed."""
    record_id, features = record_features(record)
    mdl = model if model is not None else default_model()
    result = mdl.evaluate(features.vector, threshold)
    return record_id, result.score, result.flag


# Characters str.splitlines() treats as line breaks that json.dumps(ensure_ascii=False) leaves raw.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not JSON: {name}")


def _dump_id(record_id: Any) -> str:
    text = json.dumps(record_id, ensure_ascii=False, allow_nan=False)
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def _output(record_id: Any, score: float, flag: bool, error: str | None = None) -> str:
    head = f'{{"id": {_dump_id(record_id)}, "score": {score:.4f}, '
    tail = f'"flag": {"true" if flag else "false"}'
    if error is not None:
        tail += f', "error": "{error}"'
    return head + tail + "}\n"


def score_line(line: str, *, model: HostilityModel | None = None, threshold: float | None = None) -> str:
    """Return the output line (with newline) for one input line; never raises on bad input."""
    try:
        # Strict JSON only (no NaN/Infinity), and a line nested too deep is invalid, not a crash.
        record = json.loads(line, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        return _output(None, 0.0, False, "invalid_json")
    try:
        record_id, score, flag = score_record(record, model=model, threshold=threshold)
    except ScoringError as exc:
        return _output(exc.record_id, 0.0, False, exc.code)
    return _output(record_id, score, flag)


def score_stream(infile: Iterable[str], outfile: IO[str], *, threshold: float | None = None) -> int:
    """Score every JSON line of infile into outfile; return the number of lines."""
    model = default_model()
    count = 0
    for line in infile:
        outfile.write(score_line(line, model=model, threshold=threshold))
        count += 1
    return count


if __name__ == "__main__":
    score_stream(sys.stdin, sys.stdout)
