"""Welcome templates: parse, validate and render `{placeholder}` text. Pure functions, no I/O.

Syntax is a strict subset of `str.format`: `{name}` for one of PLACEHOLDERS, `{{` and `}}` for
literal braces. Conversions and format specs (`{member!r}`, `{member:>9}`) are refused: they would
let a template reach attributes or pad text past Discord's limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.errors import InvalidValue

PLACEHOLDERS = ("member", "server", "member_count", "rules_channel", "intro_channel")
DISCORD_LIMIT = 2000

# The longest text each placeholder can expand to: a mention is at most `<@` + 20 digits + `>`,
# a server name at most 100 characters, a member count at most 7 digits.
MAX_EXPANSION = {
    "member": 23,
    "server": 100,
    "member_count": 7,
    "rules_channel": 23,
    "intro_channel": 23,
}

_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}]*\}|[{}]")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class Piece:
    """One piece of a parsed template: literal text, or a placeholder name."""

    text: str
    placeholder: bool = False


def normalize(raw: str) -> str:
    """Turn the `\\n` a manager types in a slash command option into a real line break."""
    return raw.replace("\\n", "\n").strip()


def parse(template: str) -> list[Piece]:
    """Split a template into literal text and placeholders; raise InvalidValue on bad syntax."""
    pieces: list[Piece] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            pieces.append(Piece(template[position : match.start()]))
        token = match.group(0)
        if token == "{{":
            pieces.append(Piece("{"))
        elif token == "}}":
            pieces.append(Piece("}"))
        elif token in ("{", "}"):
            raise InvalidValue("onboarding.errors.unbalanced_brace", allowed=allowed_text())
        else:
            name = token[1:-1]
            if name not in PLACEHOLDERS:
                raise InvalidValue(
                    "onboarding.errors.unknown_placeholder", name=name[:40] or " ", allowed=allowed_text()
                )
            pieces.append(Piece(name, placeholder=True))
        position = match.end()
    if position < len(template):
        pieces.append(Piece(template[position:]))
    return pieces


def allowed_text() -> str:
    """List the placeholders as a manager would type them."""
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def max_length(template: str) -> int:
    """Return the longest the rendered text can be, whatever member or server it is for."""
    return sum(MAX_EXPANSION[p.text] if p.placeholder else len(p.text) for p in parse(template))


def validate(template: str) -> str:
    """Check a template (syntax, placeholders, Discord's limit once rendered); return it normalised."""
    text = normalize(template)
    if not text:
        raise InvalidValue("onboarding.errors.empty_template")
    longest = max_length(text)
    if longest > DISCORD_LIMIT:
        raise InvalidValue("onboarding.errors.template_too_long", length=longest, limit=DISCORD_LIMIT)
    return text


def neutralize(text: str, *, keep_role: int | None = None) -> str:
    """Defuse @everyone, @here and role mentions (but `keep_role`'s, the welcome team a template may call)."""
    text = _MASS_MENTION.sub(lambda m: "@\u200b" + m.group(1), text)
    return _ROLE_MENTION.sub(
        lambda m: m.group(0) if int(m.group(1)) == keep_role else "<@\u200b&" + m.group(1) + ">", text
    )


def render(template: str, values: Mapping[str, str], *, keep_role: int | None = None) -> str:
    """Fill a validated template; every value is defused and the result fits in one message.

    The text only stays readable: who is actually pinged is decided where it is sent, by naming
    exactly who in `allowed_mentions` (the joining member, and `keep_role` when the text calls it).
    """
    out = []
    for piece in parse(template):
        out.append(neutralize(values.get(piece.text, "")) if piece.placeholder else piece.text)
    return neutralize("".join(out), keep_role=keep_role)[:DISCORD_LIMIT]


def batch_text(head: str, mentions: list[str], more: str, *, limit: int = DISCORD_LIMIT) -> str:
    """Join a batched welcome: `head` then mentions, ending with `more` ({count}) when they don't fit."""
    shown: list[str] = []
    for index, mention in enumerate(mentions):
        remaining = len(mentions) - index - 1
        tail = more.format(count=remaining) if remaining else ""
        candidate = head + ", ".join([*shown, mention])
        if len(candidate) + len(tail) + 1 > limit:
            break
        shown.append(mention)
    rest = len(mentions) - len(shown)
    text = head + ", ".join(shown)
    if rest:
        text += " " + more.format(count=rest)
    return neutralize(text)[:limit]
