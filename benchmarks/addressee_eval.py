"""How often the guess of whom a second-person line answers names the right person.

Conflict flagging counts only messages aimed at someone. A reply or a mention says at whom; a line
that says "you…" / "t'es…" with neither is aimed by `HeatTracker.addressee` (as `FlagService._score`
does it, over `flags.ADDRESS_SECONDS`): the latest member who spoke to the author, else the one the
author last spoke to, else the only other member who spoke. This checks that rule on real chat with
human reply links: the #ubuntu IRC logs of `../shared/data/chat/irc_ubuntu`
(Kummerfeld et al. 2019, CC-BY-4.0), every annotated message line.

IRC's own way to address someone, a leading "nick:" or "nick," naming a recent speaker, stands for a
Discord mention and is left out of the rule's figures. For every other annotated line by a member,
the gold addressee is the author of its annotated parent when that is someone else, none otherwise.
Printed: how many second-person lines each rule aims (`aimed`), how often it names the gold addressee
(`precision`), and the share of second-person lines with a gold addressee it aims correctly
(`recall`), for the rule and for the simpler "the last other member who spoke". Guessed addressees
are kept as the lines' targets, as in the bot, so later guesses build on them. Prints a final JSON line.

    python benchmarks/addressee_eval.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.conflict.flags import ADDRESS_SECONDS, second_person_pattern  # noqa: E402
from bot.conflict.heat import HeatTracker, Observation  # noqa: E402
from tests.activity.irc import parse, reply_links, user_id  # noqa: E402

KEY = (1, 1)
_NICK_PREFIX = re.compile(r"^\s*([^\s:,]+)\s*[:,]")


def evaluate(logs: Path) -> dict[str, dict[str, float]]:
    """Score the rule and the last-speaker baseline over every annotated second-person line."""
    counts = {rule: {"aimed": 0, "right": 0, "gold": 0, "found": 0} for rule in ("addressee", "last_speaker")}
    pattern = second_person_pattern()
    for path in sorted(logs.glob("*.raw.txt")):
        lines = [line for line in parse(path) if line.kind == "message"]
        by_index = {line.index: line for line in lines}
        links = reply_links(path)
        annotated = _annotated(path)
        tracker = HeatTracker(window_seconds=600, max_messages=25)
        recent_nicks: list[str] = []
        for message_no, line in enumerate(lines):
            at = line.at.timestamp()
            author = user_id(line.nick)
            prefix = _NICK_PREFIX.match(line.text)
            targets: tuple[int, ...] = ()
            if prefix is not None and prefix.group(1) in recent_nicks:
                targets = (user_id(prefix.group(1)),)  # IRC's mention
            elif pattern.search(line.text):
                since = at - ADDRESS_SECONDS
                guess = tracker.addressee(KEY, author, since)
                targets = (guess,) if guess is not None else ()
                if line.index in annotated:
                    parent = by_index.get(links.get(line.index, -1))
                    gold = user_id(parent.nick) if parent is not None and parent.nick != line.nick else None
                    guesses = {"addressee": guess, "last_speaker": _last_speaker(tracker, author, at)}
                    for rule, guessed in guesses.items():
                        tally = counts[rule]
                        tally["gold"] += gold is not None
                        if guessed is not None:
                            tally["aimed"] += 1
                            tally["right"] += guessed == gold
                            tally["found"] += guessed == gold and gold is not None
            tracker.observe(KEY, Observation(message_no, author, targets, at, 0.0, False), 1.0)
            recent_nicks = [*recent_nicks[-49:], line.nick]
    return {
        rule: {
            "aimed": tally["aimed"],
            "precision": round(tally["right"] / tally["aimed"], 3) if tally["aimed"] else 0.0,
            "recall": round(tally["found"] / tally["gold"], 3) if tally["gold"] else 0.0,
            "lines_with_gold_addressee": tally["gold"],
        }
        for rule, tally in counts.items()
    }


def _last_speaker(tracker: HeatTracker, author: int, at: float) -> int | None:
    for obs in reversed(tracker.recent(KEY, at)):
        if obs.at < at - ADDRESS_SECONDS:
            return None
        if obs.author_id != author:
            return obs.author_id
    return None


def _annotated(path: Path) -> set[int]:
    annotation = path.with_name(path.name.replace(".raw.txt", ".annotation.txt"))
    return {int(raw.split()[1]) for raw in annotation.read_text().splitlines() if len(raw.split()) >= 2}


def main() -> None:
    """Print the figures per rule and a final JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    result = evaluate(args.data / "chat" / "irc_ubuntu" / "dev")
    for rule, figures in result.items():
        sys.stderr.write(f"{rule}: {figures}\n")
    print(json.dumps({"address_seconds": ADDRESS_SECONDS, **result}))


if __name__ == "__main__":
    main()
