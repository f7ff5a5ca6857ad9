"""`python -m bot conflict score` in a subprocess: one output line per input line, same ids, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "conflict", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def snippet(rid: object, *texts: str, lang: str | None = "en") -> str:
    messages = [
        {"author": f"m{i % 2}", "text": t, "reply_to": i - 1 if i else None} for i, t in enumerate(texts)
    ]
    return json.dumps({"id": rid, "lang": lang, "messages": messages}, ensure_ascii=False)


def test_conflict_score_writes_one_line_per_input_line_with_same_ids_in_order() -> None:
    lines = [
        snippet("a", "you are a stupid idiot, shut up"),
        snippet(2, "see you all tomorrow"),
        "this is not json",
        "",
        snippet("é-3", "t'es vraiment un connard", lang=None),
        json.dumps({"id": "empty", "messages": []}),
        snippet("ctx", "I think the rules are fine", "shut up, nobody asked you, moron"),
    ]
    result = run_cli("\n".join(lines) + "\n", "score")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    records = [json.loads(line) for line in out]
    assert [r["id"] for r in records] == ["a", 2, None, None, "é-3", "empty", "ctx"]
    for record in records:
        assert set(record) - {"error"} == {"id", "score", "flag"}
        assert 0.0 <= record["score"] <= 1.0 and isinstance(record["flag"], bool)
    assert records[0]["flag"] is True and records[1]["flag"] is False
    assert records[2]["error"] == "invalid_json" and records[3]["error"] == "invalid_json"
    assert records[5]["error"] == "no_messages"
    assert records[6]["flag"] is True
    assert result.stderr == ""


def test_conflict_score_matches_the_library_output_byte_for_byte() -> None:
    import io

    from bot.conflict.cli import score_stream

    text = snippet("x", "you're a crazy genius lol") + "\n" + snippet("y", "get lost loser") + "\n"
    expected = io.StringIO()
    score_stream(io.StringIO(text), expected)
    assert run_cli(text, "score").stdout == expected.getvalue()


def test_conflict_without_subcommand_is_a_usage_error() -> None:
    result = run_cli("")
    assert result.returncode == 2
    assert "SUBCOMMAND" in result.stderr


def test_conflict_score_output_stays_one_strict_json_line_for_awkward_input() -> None:
    lines = [
        json.dumps({"id": "a\u2028b\u2029c\x85d", "messages": [{"text": "hi"}]}, ensure_ascii=False),
        "[" * 100_000,
        '{"id": NaN, "messages": [{"text": "hi"}]}',
        '{"id": 1e400, "messages": [{"text": "hi"}]}',
    ]
    result = run_cli("\n".join(lines) + "\n", "score")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)

    def strict(name: str) -> object:
        raise AssertionError(f"not strict JSON: {name}")

    records = [json.loads(line, parse_constant=strict) for line in out]
    assert records[0]["id"] == "a\u2028b\u2029c\x85d" and "error" not in records[0]
    assert [r.get("error") for r in records[1:]] == ["invalid_json"] * 3
