"""End-to-end tests fail, never skip, when what they exercise is missing (a renamed cog is a bug)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.e2e.helpers import require_cog

E2E = Path(__file__).resolve().parent
SKIPS = {"skip", "skipif", "importorskip", "xfail"}


def skip_calls(path: Path) -> list[str]:
    """Return `file:line` of every pytest.skip/skipif/importorskip/xfail in a test module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in SKIPS:
            found.append(f"{path.name}:{node.lineno} ({node.attr})")
    return found


def test_no_end_to_end_test_can_skip() -> None:
    found = [hit for path in sorted(E2E.glob("test_*.py")) for hit in skip_calls(path)]
    assert not found, f"end-to-end tests must fail, not skip (use require_cog): {found}"


def test_a_missing_cog_fails_the_test() -> None:
    require_cog("activity", "config")
    with pytest.raises(pytest.fail.Exception, match=r"cogs/renamed_away\.py not found"):
        require_cog("activity", "renamed_away")
