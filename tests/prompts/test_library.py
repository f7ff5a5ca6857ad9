"""The shipped prompt libraries load and pass the check: count, no duplicates, limits, known tags."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.prompts import library
from bot.prompts.library import KINDS, LibraryError, load, normalise, parse_line


@pytest.mark.parametrize("language", library.LANGUAGES)
def test_shipped_library_passes_the_check(language: str) -> None:
    prompts = load(language)
    assert len(prompts) >= 150
    keys = Counter(normalise(p.text) for p in prompts)
    assert [text for text, n in keys.items() if n > 1] == []
    assert {p.kind for p in prompts} == set(KINDS)  # every kind present, none unknown
    for prompt in prompts:
        assert len(prompt.text) <= library.MAX_TEXT
        if prompt.kind == "this-or-that":
            assert len(prompt.text) <= library.MAX_QUESTION
            assert len(prompt.options) == 2
            assert all(0 < len(o) <= library.MAX_OPTION for o in prompt.options)
            assert normalise(prompt.options[0]) != normalise(prompt.options[1])
        else:
            assert prompt.options == ()
        # Prompt text is posted as is: it must never carry a mass or role mention.
        assert "@everyone" not in prompt.text and "@here" not in prompt.text
        assert "<@" not in prompt.text


def test_each_kind_is_well_represented() -> None:
    for language in library.LANGUAGES:
        counts = Counter(p.kind for p in load(language))
        assert min(counts.values()) >= 25, (language, counts)


def test_duplicate_check_ignores_case_and_spacing() -> None:
    assert normalise("  Coffee   or TEA? ") == normalise("coffee or tea?")


@pytest.mark.parametrize(
    "line",
    [
        "trivia | What is the capital of France?",
        "opinion |   ",
        "this-or-that | Tea or coffee? | Tea",
        "this-or-that | Tea or coffee? | " + "x" * 56 + " | Coffee",
        "this-or-that | " + "q" * 301 + " | Tea | Coffee",
        "opinion | Which is best? | A | B",
    ],
)
def test_malformed_lines_are_refused(line: str) -> None:
    with pytest.raises(LibraryError):
        parse_line(line, "test")


def test_comments_and_blank_lines_are_skipped() -> None:
    assert parse_line("# a comment") is None
    assert parse_line("   ") is None
