"""Conversation heat: a sliding window per channel (or thread) over recently scored messages.

Pure and synchronous: the caller scores each message (hostility 0..1, who it is aimed at) and
feeds it in; the tracker answers "no flag", "new flag" or "escalate". A conversation is flagged
once; while its cooldown runs, it is only raised again (escalated) when it gets clearly worse.

Heat is a sum of points so each part can be told to a moderator in words:

- every hostile message aimed at another member adds its hostility score (0..1);
- a severe one (threat, slur, dehumanising, identity hate) adds ``SEVERE_BONUS``;
- three or more hostile messages within two minutes add ``PACE_BONUS`` (quickening pace);
- two members hostile to each other add ``MUTUAL_BONUS`` (a back-and-forth);
- a pile-on (several members hostile to the same one) adds ``PILE_ON_BONUS`` per extra attacker;
- hostility rising message after message adds ``RISING_BONUS``.

Nothing here acts on anyone: a decision is a suggestion for human moderators.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

__all__ = [
    "EXCERPT_CHARS",
    "EXCERPT_MESSAGES",
    "SEVERE_KINDS",
    "FlagState",
    "HeatResult",
    "HeatTracker",
    "Observation",
    "Reason",
    "measure",
]

SEVERE_KINDS = frozenset({"threat", "slur", "dehumanizing", "identity_hate"})
_INSULT_KINDS = frozenset({"insult", "slur", "dehumanizing", "identity_hate", "hate", "sexual"})

SEVERE_BONUS = 0.5
PACE_BONUS = 0.3
PACE_SECONDS = 120
PACE_COUNT = 3
MUTUAL_BONUS = 0.3
PILE_ON_BONUS = 0.5
RISING_BONUS = 0.2
RISING_STEP = 0.3

EXCERPT_MESSAGES = 5
EXCERPT_CHARS = 200
MAX_TARGET_REASONS = 3

Decision = Literal["none", "flag", "escalate"]
Key = tuple[int, int]


class Observation(NamedTuple):
    """One scored message: who wrote it, at whom it is aimed, when, how hostile.

    A named tuple: one is built for every member message, cheaper than a frozen dataclass.
    """

    message_id: int
    author_id: int
    targets: tuple[int, ...]
    at: float
    score: float
    hostile: bool
    kinds: tuple[str, ...] = ()
    text: str = ""
    channel_id: int = 0
    lang: str = "en"  # the language it was scored in, so it is read as context in the same one

    @property
    def severe(self) -> bool:
        """Tell whether the scorer saw a threat, slur or dehumanising language."""
        return self.hostile and bool(SEVERE_KINDS.intersection(self.kinds))


@dataclass(frozen=True)
class Reason:
    """One reason in words-to-be: a catalog code and its ids/numbers."""

    code: str
    params: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> list[object]:
        """Return the ``[code, {params}]`` form stored with a flag."""
        return [self.code, dict(self.params)]

    @classmethod
    def from_json(cls, raw: Sequence[object]) -> Reason:
        """Rebuild from ``[code, {params}]``."""
        code, params = raw[0], raw[1] if len(raw) > 1 else {}
        assert isinstance(code, str) and isinstance(params, dict)
        return cls(code, {str(k): int(v) for k, v in params.items()})


@dataclass(frozen=True)
class HeatResult:
    """What the window says after one more message."""

    decision: Decision
    heat: float
    threshold: float
    reasons: tuple[Reason, ...] = ()
    members: tuple[int, ...] = ()
    evidence: tuple[Observation, ...] = ()


def _target_code(kinds: Iterable[str]) -> str:
    kinds = set(kinds)
    if "threat" in kinds:
        return "threat_at"
    if kinds & _INSULT_KINDS:
        return "insult_at"
    return "hostility_at"


def _pace(hostile: Sequence[Observation]) -> tuple[int, int]:
    """Return the most hostile messages within PACE_SECONDS and the minutes they spanned."""
    best, span = 0, 0.0
    start = 0
    for end, obs in enumerate(hostile):
        while obs.at - hostile[start].at > PACE_SECONDS:
            start += 1
        if end - start + 1 > best:
            best, span = end - start + 1, obs.at - hostile[start].at
    return best, max(1, math.ceil(span / 60))


def _rising(exchange: Sequence[Observation]) -> bool:
    last = [o.score for o in exchange[-3:]]
    return len(last) == 3 and last[0] < last[1] < last[2] and last[2] - last[0] >= RISING_STEP


def measure(
    window: Sequence[Observation],
) -> tuple[float, tuple[Reason, ...], tuple[int, ...], tuple[Observation, ...]]:
    """Return (heat, reasons, members involved, evidence messages) for a window, oldest first."""
    hostile = [o for o in window if o.hostile and o.targets]
    if not hostile:
        return 0.0, (), (), ()
    heat = sum(min(max(o.score, 0.0), 1.0) for o in hostile)
    reasons: list[Reason] = []

    strongest: dict[int, Observation] = {}
    attackers: dict[int, set[int]] = {}
    for obs in hostile:
        for target in obs.targets:
            attackers.setdefault(target, set()).add(obs.author_id)
            if target not in strongest or obs.score > strongest[target].score:
                strongest[target] = obs
    ranked = sorted(strongest.items(), key=lambda item: -item[1].score)
    for target, obs in ranked[:MAX_TARGET_REASONS]:
        reasons.append(Reason(_target_code(obs.kinds), {"target": target, "author": obs.author_id}))
    if any(o.severe for o in hostile):
        heat += SEVERE_BONUS

    for target, authors in sorted(attackers.items(), key=lambda item: -len(item[1])):
        if len(authors) >= 2:
            heat += PILE_ON_BONUS * (len(authors) - 1)
            reasons.append(Reason("pile_on", {"target": target, "members": len(authors)}))
            break

    pairs = {(o.author_id, t) for o in hostile for t in o.targets}
    mutual = sorted((a, b) for a, b in pairs if a < b and (b, a) in pairs)
    if mutual:
        heat += MUTUAL_BONUS
        reasons.append(Reason("mutual", {"member": mutual[0][0], "other": mutual[0][1]}))

    count, minutes = _pace(hostile)
    if count >= PACE_COUNT:
        heat += PACE_BONUS
        reasons.append(Reason("negative_replies", {"count": count, "minutes": minutes}))

    exchange = [o for o in window if o.targets]
    if _rising(exchange):
        heat += RISING_BONUS
        reasons.append(Reason("rising", {}))

    members = sorted({o.author_id for o in hostile} | {t for o in hostile for t in o.targets})
    top = sorted(hostile, key=lambda o: -o.score)[:EXCERPT_MESSAGES]
    evidence = tuple(sorted(top, key=lambda o: (o.at, o.message_id)))
    return round(heat, 4), tuple(reasons), tuple(members), evidence


@dataclass(frozen=True)
class FlagState:
    """When a conversation was last flagged (or escalated) and at what heat: its cooldown and baseline."""

    flagged_at: float
    heat: float


@dataclass
class _ChannelState:
    window: deque[Observation]
    seen: deque[int]
    # The last measure() of the window; still right while nothing joins the exchange or leaves it.
    measured: tuple[float, tuple[Reason, ...], tuple[int, ...], tuple[Observation, ...]] | None = None


class HeatTracker:
    """Sliding windows for every active channel; bounded in channels and in messages per channel.

    Flag states live apart from the windows: a window evicted to bound memory must not take its
    conversation's cooldown with it. They are few (conversations flagged within the cooldown) and
    are what a restart has to restore (`restore`), the windows holding message text are not kept.
    """

    def __init__(
        self,
        *,
        window_seconds: float = 600,
        max_messages: int = 25,
        max_channels: int = 500,
        cooldown_seconds: float = 1800,
        escalate_factor: float = 1.5,
        escalate_gap_seconds: float = 300,
    ) -> None:
        self.window_seconds = window_seconds
        self.max_messages = max_messages
        self.max_channels = max_channels
        self.cooldown_seconds = cooldown_seconds
        self.escalate_factor = escalate_factor
        self.escalate_gap_seconds = escalate_gap_seconds
        self._channels: OrderedDict[Key, _ChannelState] = OrderedDict()
        self._flagged: dict[Key, FlagState] = {}

    def _state(self, key: Key) -> _ChannelState:
        state = self._channels.get(key)
        if state is None:
            state = _ChannelState(deque(maxlen=self.max_messages), deque(maxlen=self.max_messages * 2))
            self._channels[key] = state
            while len(self._channels) > self.max_channels:
                self._channels.popitem(last=False)
        else:
            self._channels.move_to_end(key)
        return state

    def seen(self, key: Key, message_id: int) -> bool:
        """Tell whether this message was already observed (each message counts once)."""
        state = self._channels.get(key)
        return state is not None and message_id in state.seen

    def recent(self, key: Key, now: float) -> list[Observation]:
        """Return the window's messages still within the time window, oldest first."""
        state = self._channels.get(key)
        if state is None:
            return []
        return [o for o in state.window if now - o.at <= self.window_seconds]

    def addressee(self, key: Key, author_id: int, since: float) -> int | None:
        """Guess whom a line with "you" but no reply or mention answers, from the window since `since`.

        The latest member who spoke to this author (reply, mention or such a guess), else the one
        this author last spoke to, else the only other member who spoke; None when it is not clear
        (several others spoke and none of them to or with this author). On busy real chat
        (benchmarks/addressee_eval.py) this names the annotated addressee about half the time,
        against a quarter for "the last other member who spoke".
        """
        state = self._channels.get(key)
        if state is None:
            return None
        others: set[int] = set()
        spoke_to: int | None = None
        for obs in reversed(state.window):
            if obs.at < since:
                break
            if obs.author_id == author_id:
                if spoke_to is None and obs.targets:
                    spoke_to = obs.targets[0]
            elif author_id in obs.targets:
                return obs.author_id
            else:
                others.add(obs.author_id)
        if spoke_to is not None:
            return spoke_to
        return next(iter(others)) if len(others) == 1 else None

    def observe(self, key: Key, obs: Observation, threshold: float) -> HeatResult:
        """Add one scored message to its channel's window and decide: none, flag or escalate."""
        state = self._state(key)
        if obs.message_id in state.seen:
            return HeatResult("none", 0.0, threshold)
        state.seen.append(obs.message_id)
        window = state.window
        # Only messages aimed at someone count towards heat: it changes when one joins or leaves.
        changed = bool(obs.targets) or (len(window) == window.maxlen and bool(window[0].targets))
        window.append(obs)
        while window and obs.at - window[0].at > self.window_seconds:
            if window.popleft().targets:
                changed = True
        measured = state.measured
        if measured is not None and not measured[3] and not (obs.hostile and obs.targets):
            # No hostile aimed message was in the window and none joined: still no heat (leaving
            # messages cannot add one), whatever else came or went.
            changed = False
        if changed or measured is None:
            # Most messages are aimed at no one: they change no heat, so the window is not measured again.
            measured = state.measured = measure(window)
        heat, reasons, members, evidence = measured
        decision = self._decide(self._flagged.get(key), heat, threshold, obs.at)
        if decision != "none":
            # An escalation restarts the cooldown: a fight still raging is one conversation.
            self.restore(key, FlagState(obs.at, heat))
        return HeatResult(decision, heat, threshold, reasons, members, evidence)

    def _decide(self, flagged: FlagState | None, heat: float, threshold: float, now: float) -> Decision:
        if heat < threshold or heat <= 0:
            return "none"
        if flagged is None or now - flagged.flagged_at >= self.cooldown_seconds:
            return "flag"
        if (
            heat >= flagged.heat * self.escalate_factor
            and now - flagged.flagged_at >= self.escalate_gap_seconds
        ):
            return "escalate"
        return "none"

    def flag_state(self, key: Key) -> FlagState | None:
        """Return when the conversation was last flagged and at what heat, if it was."""
        return self._flagged.get(key)

    def restore(self, key: Key, state: FlagState) -> None:
        """Set a conversation's flag state (after a flag, or read back at start); drop expired ones."""
        self._flagged[key] = state
        expired = [
            k for k, s in self._flagged.items() if state.flagged_at - s.flagged_at >= self.cooldown_seconds
        ]
        for stale in expired:
            del self._flagged[stale]

    def forget_author(self, guild_id: int, author_id: int) -> None:
        """Drop a member's messages (and the text they hold) from every window of a server."""
        for (guild, _), state in self._channels.items():
            if guild == guild_id and any(o.author_id == author_id for o in state.window):
                state.window = deque(
                    (o for o in state.window if o.author_id != author_id), state.window.maxlen
                )
                state.measured = None

    def forget(self, key: Key) -> None:
        """Drop a channel's window (excluded channel, conflict disabled); its cooldown stays."""
        self._channels.pop(key, None)

    def __len__(self) -> int:
        return len(self._channels)
