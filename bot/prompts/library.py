"""The shipped prompt library: data/prompts/<language>.txt, one prompt a line.

A line is `kind | text`; a this-or-that line carries its two options: `this-or-that | text | A | B`.
Blank lines and lines starting with `#` are ignored. The library is written for each language (not
translated), so the two files need not hold the same prompts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.core.resources import data_path

KINDS: tuple[str, ...] = ("icebreaker", "opinion", "show-and-tell", "this-or-that", "weekly-thread")
LANGUAGES: tuple[str, ...] = ("en", "fr")

# Discord's limits for a poll, which a this-or-that prompt may become: 300 for the question,
# 55 for each answer. A plain prompt keeps well inside a message (2,000).
MAX_QUESTION = 300
MAX_OPTION = 55
MAX_TEXT = 1000


@dataclass(frozen=True)
class ShippedPrompt:
    kind: str
    text: str
    options: tuple[str, ...] = ()


class LibraryError(ValueError):
    """A shipped library line is malformed (a packaging fault, not a user's)."""


def normalise(text: str) -> str:
    """The duplicate-check form of a prompt: case-folded, runs of spaces collapsed, trimmed."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def parse_line(line: str, where: str = "") -> ShippedPrompt | None:
    """One library line as a prompt, None for a blank or comment line; LibraryError when malformed."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    parts = [part.strip() for part in stripped.split("|")]
    kind, text, options = parts[0], parts[1] if len(parts) > 1 else "", tuple(parts[2:])
    if kind not in KINDS:
        raise LibraryError(f"{where}: unknown kind {kind!r}")
    if not text:
        raise LibraryError(f"{where}: no text")
    if kind == "this-or-that":
        if len(options) != 2 or not all(options):
            raise LibraryError(f"{where}: a this-or-that prompt needs two options")
        if len(text) > MAX_QUESTION:
            raise LibraryError(f"{where}: question over {MAX_QUESTION} characters")
        if any(len(option) > MAX_OPTION for option in options):
            raise LibraryError(f"{where}: option over {MAX_OPTION} characters")
    elif options:
        raise LibraryError(f"{where}: only this-or-that prompts carry options")
    if len(text) > MAX_TEXT:
        raise LibraryError(f"{where}: text over {MAX_TEXT} characters")
    return ShippedPrompt(kind=kind, text=text, options=options)


@cache
def load(language: str) -> tuple[ShippedPrompt, ...]:
    """Every shipped prompt for `language` ("en" or "fr"), in file order."""
    if language not in LANGUAGES:
        raise LibraryError(f"no shipped library for {language!r}")
    path = data_path("prompts", f"{language}.txt")
    prompts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        prompt = parse_line(line, f"{path.name}:{number}")
        if prompt is not None:
            prompts.append(prompt)
    return tuple(prompts)
