"""Conflict scoring CLI: one output line per input line, ids in order, bad lines handled."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bot.conflict.cli import score_line, score_stream

ROOT = Path(__file__).resolve().parents[2]


def run(lines: list[str]) -> list[dict[str, object]]:
    out = io.StringIO()
    count = score_stream(io.StringIO("".join(line + "\n" for line in lines)), out)
    text = out.getvalue()
    assert text.endswith("\n")
    outputs = [json.loads(line) for line in text.splitlines()]
    assert count == len(lines) == len(outputs)
    return outputs


def snippet(rid: str, text: str, lang: str | None = "en", **extra: object) -> str:
    return json.dumps({"id": rid, "lang": lang, "messages": [{"author": "a", "text": text}], **extra})


def test_each_line_gets_one_output_with_id_score_and_flag_in_order() -> None:
    lines = [
        snippet("1", "you are a stupid idiot, shut up"),
        snippet("2", "see you all tomorrow"),
        snippet("3", "t'es un connard", lang=None),
    ]
    outputs = run(lines)
    assert [o["id"] for o in outputs] == ["1", "2", "3"]
    for output in outputs:
        assert set(output) == {"id", "score", "flag"}
        assert isinstance(output["score"], float)
        assert 0.0 <= output["score"] <= 1.0
        assert isinstance(output["flag"], bool)
    assert [o["flag"] for o in outputs] == [True, False, True]


def test_last_message_is_scored_in_its_context() -> None:
    line = json.dumps(
        {
            "id": "ctx",
            "lang": "en",
            "messages": [
                {"author": "a", "text": "you are a stupid idiot"},
                {"author": "b", "text": "thanks, have a nice day"},
            ],
        }
    )
    [output] = run([line])
    assert output["flag"] is False


def test_malformed_lines_still_get_an_output_line_with_error() -> None:
    lines = [
        "this is not json",
        "[1, 2]",
        json.dumps({"id": "empty", "messages": []}),
        json.dumps({"id": "notext", "messages": [{"author": "a"}]}),
        "",
        snippet("ok", "hello there"),
    ]
    outputs = run(lines)
    assert [o.get("error") for o in outputs] == [
        "invalid_json",
        "not_an_object",
        "no_messages",
        "invalid_message",
        "invalid_json",
        None,
    ]
    assert [o["id"] for o in outputs] == [None, None, "empty", "notext", None, "ok"]
    assert all(o["flag"] is False for o in outputs[:5])
    assert all(o["score"] == 0.0 for o in outputs[:5])


def test_bad_reply_to_and_unknown_lang_are_tolerated() -> None:
    line = json.dumps(
        {
            "id": 7,
            "lang": "de",
            "messages": [{"author": "a", "text": "hi"}, {"text": "ok", "reply_to": 9}],
        }
    )
    output = json.loads(score_line(line))
    assert output["id"] == 7
    assert "error" not in output


def test_threshold_argument_changes_flags() -> None:
    line = snippet("x", "you are an idiot")
    out_low, out_high = io.StringIO(), io.StringIO()
    score_stream([line + "\n"], out_low, threshold=0.0)
    score_stream([line + "\n"], out_high, threshold=1.0)
    assert json.loads(out_low.getvalue())["flag"] is True
    assert json.loads(out_high.getvalue())["flag"] is False


def test_module_runs_as_a_filter_on_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.conflict.cli"],
        input=snippet("s", "ferme ta gueule connard", lang="fr") + "\nnot json\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in outputs] == ["s", None]
    assert outputs[0]["flag"] is True
