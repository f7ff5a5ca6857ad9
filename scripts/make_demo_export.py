"""Write the demo community shipped in data/demo/: `python scripts/make_demo_export.py [--out DIR]`.

A fictional bilingual board-game club ("La Table Ronde"), ten weeks in two channels, in
DiscordChatExporter's JSON format (what `python -m bot import` reads). Deterministic: a fixed seed,
so the committed files equal a fresh run (tests/demo/test_demo.py checks it). No real people and no
text from elsewhere: every line is assembled from the short phrases below.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "demo"
GUILD = {"id": "900000000000000001", "name": "La Table Ronde"}
CHANNELS = (
    {"id": "900000000000000010", "type": "GuildTextChat", "name": "general"},
    {"id": "900000000000000011", "type": "GuildTextChat", "name": "soirees-jeux"},
)
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
WEEKS = 10
FIRST_NAMES = [
    "Amelie",
    "Bastien",
    "Chloe",
    "Dimitri",
    "Elsa",
    "Fabien",
    "Gaelle",
    "Hugo",
    "Ines",
    "Jules",
    "Karim",
    "Lea",
    "Malo",
    "Nina",
    "Oscar",
    "Pauline",
    "Quentin",
    "Rose",
    "Sami",
    "Tess",
    "Ugo",
    "Vera",
    "Wael",
    "Yanis",
    "Zoe",
    "Alex",
    "Brooke",
    "Casey",
    "Dana",
    "Eli",
    "Finn",
    "Gwen",
    "Harper",
    "Ivy",
    "Jonah",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olive",
    "Pia",
    "Reed",
    "Sky",
    "Theo",
    "Uma",
    "Wren",
    "Yara",
    "Zack",
    "Anouk",
    "Basile",
]
EN = (
    "anyone up for a game tonight?",
    "that expansion looks great",
    "I finally won at Carcassonne!",
    "what are you all playing this weekend?",
    "thanks for the tip, it worked",
    "the new rules are a bit confusing to me",
    "I loved last Friday's session",
    "can someone explain the scoring?",
    "good luck everyone",
    "I'll bring snacks next time",
)
FR = (
    "quelqu'un pour une partie ce soir ?",
    "cette extension a l'air géniale",
    "j'ai enfin gagné à Carcassonne !",
    "vous jouez à quoi ce week-end ?",
    "merci pour l'astuce, ça marche",
    "les nouvelles règles me paraissent floues",
    "j'ai adoré la soirée de vendredi",
    "quelqu'un peut m'expliquer le décompte ?",
    "bonne chance à tous",
    "j'apporte le goûter la prochaine fois",
)
GRUMPY = ("honestly this is so annoying", "franchement c'est pénible", "that was a terrible call")


def build(seed: int = 2026) -> dict[str, list[dict[str, object]]]:
    """Return the messages of each channel, in time order."""
    rng = random.Random(seed)
    members = []
    for index, name in enumerate(FIRST_NAMES):
        joined = START + timedelta(days=rng.randrange(0, WEEKS * 7 - 3)) if index >= 18 else START
        members.append(
            {
                "id": str(910000000000000000 + index),
                "name": name.lower(),
                "joined": joined,
                "lang": "fr" if index % 3 else "en",
                "activity": rng.choice((0.2, 0.5, 1.0, 2.0, 4.0)),
                "quits_after": rng.choice((None, None, None, 3, 5)),
            }
        )
    messages: dict[str, list[dict[str, object]]] = {c["id"]: [] for c in CHANNELS}
    next_id = 920000000000000000
    for member in members:
        if member["joined"] > START:
            next_id += 1
            messages[CHANNELS[0]["id"]].append(
                _message(next_id, member, member["joined"], "", "GuildMemberJoin")
            )
    recent: dict[str, list[dict[str, object]]] = {c["id"]: [] for c in CHANNELS}
    for day in range(WEEKS * 7):
        date = START + timedelta(days=day)
        weekend = date.weekday() >= 4
        for member in members:
            if member["joined"] > date + timedelta(hours=20):
                continue
            weeks_in = (date - member["joined"]).days // 7
            if member["quits_after"] is not None and weeks_in >= member["quits_after"]:
                continue
            count = rng.random() * member["activity"] * (1.6 if weekend else 1.0)
            for _ in range(int(count) + (rng.random() < count % 1)):
                hour = rng.choice((12, 13, 18, 19, 20, 20, 21, 21, 22, 23 if weekend else 17))
                at = date.replace(hour=hour) + timedelta(minutes=rng.randrange(60), seconds=rng.randrange(60))
                channel = rng.choice(CHANNELS)["id"]
                lines = FR if member["lang"] == "fr" else EN
                text = rng.choice(GRUMPY) if rng.random() < 0.03 else rng.choice(lines)
                next_id += 1
                message = _message(next_id, member, at, text, "Default")
                earlier = [m for m in recent[channel] if m["author"]["id"] != member["id"]]  # type: ignore[index]
                if earlier and rng.random() < 0.35:
                    target = rng.choice(earlier[-5:])
                    message["type"] = "Reply"
                    message["reference"] = {
                        "messageId": target["id"],
                        "channelId": channel,
                        "guildId": GUILD["id"],
                    }
                if earlier and rng.random() < 0.15:
                    fan = rng.choice(members[:18])
                    message["reactions"] = [
                        {
                            "emoji": {"id": None, "name": "👍"},
                            "count": 1,
                            "users": [{"id": fan["id"], "isBot": False}],
                        }
                    ]
                messages[channel].append(message)
                recent[channel] = [*recent[channel][-20:], message]
    for channel in messages.values():
        channel.sort(key=lambda m: (str(m["timestamp"]), str(m["id"])))
    return messages


def _message(mid: int, member: dict[str, object], at: datetime, text: str, kind: str) -> dict[str, object]:
    return {
        "id": str(mid),
        "type": kind,
        "timestamp": at.isoformat(),
        "content": text,
        "author": {"id": member["id"], "name": member["name"], "isBot": False},
        "mentions": [],
        "reactions": [],
    }


def write(out: Path = OUT) -> list[Path]:
    """Write one export file per channel into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    messages = build()
    for channel in CHANNELS:
        export = {"guild": GUILD, "channel": channel, "messages": messages[channel["id"]]}
        path = out / f"{channel['name']}.json"
        path.write_text(
            json.dumps(export, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
        )
        paths.append(path)
    return paths


def main() -> int:
    """Write the demo export."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the files")
    for path in write(parser.parse_args().out):
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
