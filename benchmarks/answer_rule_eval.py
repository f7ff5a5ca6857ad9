"""How often "someone else spoke next in the channel" is really an answer, on human reply links.

Onboarding used to count a newcomer's first message as answered when anyone else posted next in the
same channel; /stats counted only replies. The one rule now (bot/core/members.py) is a reply or a
mention by someone else. This measures the old channel rule on the #ubuntu IRC logs of
`../shared/data/chat/irc_ubuntu` (Kummerfeld et al. 2019, CC-BY-4.0), whose annotation links each
line to the line it answers: for every message, and for every member's first message after their
first join in the logs, is the next line by someone else annotated as answering one of that author's
lines? Prints a final JSON line.

    python benchmarks/answer_rule_eval.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.activity.irc import IrcLine, parse, reply_links  # noqa: E402


def _answers(line: IrcLine | None, author: str, by_index: dict[int, IrcLine], links: dict[int, int]) -> bool:
    if line is None:
        return False
    parent = by_index.get(links.get(line.index, -1))
    return parent is not None and parent.kind == "message" and parent.nick == author


def evaluate(logs: Path) -> dict[str, dict[str, float]]:
    """Return, for all messages and for first messages, how often the next other speaker answers them."""
    counts = {"all_messages": [0, 0], "first_messages": [0, 0]}
    for path in sorted(logs.glob("*.raw.txt")):
        lines = parse(path)
        links = reply_links(path)
        by_index = {line.index: line for line in lines}
        messages = [line for line in lines if line.kind == "message"]
        position = {line.index: n for n, line in enumerate(messages)}
        joined: set[str] = set()
        spoke: set[str] = set()
        for line in lines:
            if line.kind == "join":
                joined.add(line.nick)
                continue
            if line.kind != "message":
                continue
            after = messages[position[line.index] + 1 :]
            following = next((m for m in after if m.nick != line.nick), None)
            if following is None:
                continue
            answered = _answers(following, line.nick, by_index, links)
            counts["all_messages"][0] += 1
            counts["all_messages"][1] += answered
            if line.nick in joined and line.nick not in spoke:
                counts["first_messages"][0] += 1
                counts["first_messages"][1] += answered
            spoke.add(line.nick)
    return {
        name: {
            "lines": total,
            "next_speaker_answers": hits,
            "precision": round(hits / total, 3) if total else 0,
        }
        for name, (total, hits) in counts.items()
    }


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data")
    args = parser.parse_args()
    result = evaluate(args.data / "chat" / "irc_ubuntu" / "dev")
    for name, figures in result.items():
        print(
            f"{name}: the next other speaker answers {figures['next_speaker_answers']} of {figures['lines']}"
            f" (precision {figures['precision']:.2f})"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
