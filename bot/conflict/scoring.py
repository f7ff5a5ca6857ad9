"""Message hostility score: lexicon, targeting and sentiment features, logistic model.

The score is a probability-like value in 0..1 that a message is hostile
(insulting, abusive, threatening or hateful). It combines the VADER compound
(passed in when the caller already has it) with what sentiment misses: insult,
profanity and slur lexicons, second-person targeting, negation and quotation of
hostile words, shouting, and friendly-swearing cues. The weights are fitted by
``scripts/fit_conflict.py`` and shipped in ``data/conflict/model.json``.

Everything here is plain Python over precompiled regexes and frozensets so it
can run on every message; there is no model download and no GPU.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.language import guess_language

__all__ = [
    "DATA_DIR",
    "FEATURE_NAMES",
    "REASON_CODES",
    "ContextSignals",
    "HostilityModel",
    "HostilityScore",
    "Lexicon",
    "MessageFeatures",
    "default_model",
    "extract_features",
    "load_lexicon",
    "score_message",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "conflict"

FEATURE_NAMES: tuple[str, ...] = (
    "neg_sent",
    "pos_sent",
    "insult",
    "profanity",
    "slur",
    "threat",
    "dehum",
    "sexual",
    "hate",
    "command",
    "identity",
    "targeted",
    "direct_insult",
    "targeted_x_neg",
    "identity_x_hate",
    "identity_x_neg",
    "threat_x_target",
    "negated",
    "quoted",
    "reported",
    "caps",
    "exclaim",
    "laugh",
    "friendly",
    "prof_x_pos",
    "prof_x_laugh",
    "length",
    "question",
    "is_fr",
    "ctx_reply",
    "ctx_self_prev",
    "ctx_other_prev",
    "ctx_swear_habit",
)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}

# Feature -> machine reason code a cog can translate. Features missing here
# never appear as a reason (they only modulate the score).
REASON_CODES: Mapping[str, str] = {
    "neg_sent": "negative_sentiment",
    "insult": "insult",
    "profanity": "profanity",
    "slur": "slur",
    "threat": "threat",
    "dehum": "dehumanizing",
    "sexual": "sexual",
    "hate": "hate",
    "command": "hostile_command",
    "targeted": "targeted",
    "direct_insult": "targeted",
    "targeted_x_neg": "targeted",
    "identity_x_hate": "identity_hate",
    "identity_x_neg": "identity_hate",
    "threat_x_target": "threat",
    "caps": "shouting",
    "exclaim": "shouting",
    "ctx_reply": "targeted",
    "ctx_self_prev": "repeated_hostility",
    "ctx_other_prev": "heated_context",
}
_REASON_MIN_CONTRIBUTION = 0.4

_HOSTILE_CATS = ("insult", "profanity", "slur", "threat", "dehum", "sexual", "hate")
_HOSTILE_SET = frozenset(_HOSTILE_CATS)
_CATEGORIES = frozenset(
    (*_HOSTILE_CATS, "identity", "command", "you", "negator", "report", "laugh", "friendly")
)


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Lexicon:
    """Word categories for one language, with stem (prefix) and phrase matching."""

    def __init__(self, entries: Mapping[str, Sequence[str]]) -> None:
        exact: dict[str, frozenset[str]] = {}
        prefixes: dict[str, frozenset[str]] = {}
        phrases: dict[str, str] = {}
        for category, terms in entries.items():
            if category not in _CATEGORIES:
                raise ValueError(f"unknown lexicon category {category!r}")
            for raw in terms:
                for term in {raw, _strip_accents(raw)}:
                    if "_" in term:
                        phrases[term.replace("_", " ")] = category
                    elif term.endswith("*"):
                        stem = term[:-1]
                        prefixes[stem] = prefixes.get(stem, frozenset()) | {category}
                    else:
                        exact[term] = exact.get(term, frozenset()) | {category}
        self._exact = exact
        self._prefixes = prefixes
        self._prefix_lengths = tuple(sorted({len(p) for p in prefixes}, reverse=True))
        self.phrase_categories = phrases
        if phrases:
            alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
            self.phrase_re: re.Pattern[str] | None = re.compile(rf"(?<![\w'])(?:{alternation})(?![\w'])")
        else:
            self.phrase_re = None
        self._cache: dict[str, frozenset[str]] = {}

    def lookup(self, token: str) -> frozenset[str]:
        """Return the categories of one lowercase token (empty if none)."""
        found = self._cache.get(token)
        if found is not None:
            return found
        found = self._lookup(token)
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[token] = found
        return found

    def _lookup(self, token: str) -> frozenset[str]:
        cats = self._exact.get(token)
        if cats is not None:
            return cats
        n = len(token)
        if n >= 3:
            for length in self._prefix_lengths:
                if length <= n:
                    cats = self._prefixes.get(token[:length])
                    if cats is not None:
                        return cats
            if token[-1] in "sx":
                cats = self._exact.get(token[:-1])
                if cats is not None:
                    return cats
        if "'" in token:
            head, _, tail = token.partition("'")
            found = self._exact.get(head + "'", frozenset())
            return found | self.lookup(tail) if tail else found
        if "-" in token:
            merged: frozenset[str] = frozenset()
            for part in token.split("-"):
                if part:
                    merged |= self.lookup(part)
            return merged
        return frozenset()


def load_lexicon(path: Path) -> Lexicon:
    """Read a ``category: term term …`` lexicon file."""
    entries: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        category, _, terms = line.partition(":")
        entries.setdefault(category.strip(), []).extend(terms.lower().split())
    return Lexicon(entries)


@lru_cache(maxsize=4)
def _default_lexicon(lang: str) -> Lexicon:
    return load_lexicon(DATA_DIR / f"lexicon_{lang}.txt")


@dataclass(frozen=True, slots=True)
class ContextSignals:
    """What the conversation around a message adds (all 0 when scored alone).

    reply_to_other: the message replies to, or mentions, another member.
    self_prev / other_prev: highest lexical hostility (0..1) among the author's
    own / other members' earlier messages in the snippet.
    swear_habit: share of the author's earlier messages that swear (0..1).
    """

    reply_to_other: bool = False
    self_prev: float = 0.0
    other_prev: float = 0.0
    swear_habit: float = 0.0


@dataclass(frozen=True, slots=True)
class MessageFeatures:
    """Feature vector of one message plus the summary used as context for others."""

    vector: tuple[float, ...]
    lexical_hostility: float
    swears: bool


@dataclass(frozen=True, slots=True)
class HostilityScore:
    """Score of one message: probability-like 0..1, flag at the threshold, reasons."""

    score: float
    flag: bool
    reasons: tuple[str, ...]


_MENTION_RE = re.compile(r"<@!?\d+>|(?<!\w)@\w+")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})
_QUOTE_SPLIT_RE = re.compile(r"[\"“”«»]")
_TOKEN_RE = re.compile(r"[^\W_](?:[^\W_]|[*'\-](?=[^\W_]))*")
_SHOUT_RE = re.compile(r"[!?]{2,}")
_LAUGH_EMOJI = frozenset("😂🤣😆😄😁😅😜😝😛😉🙂😊😀")
_NEG_WINDOW = 2
_DIRECT_WINDOW = 4


def extract_features(
    text: str,
    lang: str,
    compound: float,
    *,
    addressed: bool = False,
    context: ContextSignals | None = None,
    lexicon: Lexicon | None = None,
) -> MessageFeatures:
    """Compute the feature vector of one message (see FEATURE_NAMES)."""
    lex = lexicon if lexicon is not None else _default_lexicon("fr" if lang == "fr" else "en")
    vec = [0.0] * len(FEATURE_NAMES)

    mentions = _MENTION_RE.findall(text) if "@" in text else ()
    if mentions:
        text = _MENTION_RE.sub(" ", text)
        addressed = True
    letters = 0
    upper = 0
    for ch in text:
        if ch.isalpha():
            letters += 1
            if ch.isupper():
                upper += 1
    norm = text.lower().replace("’", "'").translate(_LEET)
    norm = _REPEAT_RE.sub(r"\1", norm)

    counts = dict.fromkeys(_HOSTILE_CATS, 0)
    negated = 0
    quoted = 0
    identity = False
    you = False
    report = False
    laugh = False
    friendly = False
    direct = 0
    n_tokens = 0
    if '"' in norm or "“" in norm or "«" in norm:
        segments = [_TOKEN_RE.findall(seg) for seg in _QUOTE_SPLIT_RE.split(norm)]
    else:
        segments = [_TOKEN_RE.findall(norm)]
    # Words count as quoted only if the message has words outside the quotes
    # too: a message that is all quote (a retweet, a pasted line) speaks for itself.
    quoting = len(segments) > 1 and sum(len(t) for t in segments[::2]) >= 2
    for seg_index, tokens in enumerate(segments):
        in_quote = quoting and seg_index % 2 == 1
        n_tokens += len(tokens)
        last_negator = -100
        last_you = -100
        for i, tok in enumerate(tokens):
            cats = lex.lookup(tok)
            if not cats:
                if tok.endswith("n't"):
                    last_negator = i
                continue
            if "negator" in cats:
                last_negator = i
            if "you" in cats:
                you = True
                last_you = i
            if "report" in cats:
                report = True
            if "identity" in cats:
                identity = True
            if "laugh" in cats:
                laugh = True
            if "friendly" in cats:
                friendly = True
            if cats.isdisjoint(_HOSTILE_SET):
                continue
            for cat in cats:
                if cat in counts:
                    counts[cat] += 1
            if i - last_negator <= _NEG_WINDOW:
                negated += 1
            elif in_quote:
                quoted += 1
            elif ("insult" in cats or "slur" in cats) and i - last_you <= _DIRECT_WINDOW:
                direct += 1
    command = 0
    if lex.phrase_re is not None:
        for match in lex.phrase_re.findall(norm):
            cat = lex.phrase_categories[match]
            if cat == "command":
                command += 1
            elif cat in counts:
                counts[cat] += 1
            elif cat == "identity":
                identity = True
            elif cat == "you":
                you = True
    if not laugh and any(ch in _LAUGH_EMOJI for ch in text):
        laugh = True

    ctx = context if context is not None else ContextSignals()
    targeted = you or addressed or ctx.reply_to_other or command > 0
    neg = -compound if compound < 0 else 0.0
    pos = compound if compound > 0 else 0.0
    insult = min(counts["insult"], 2)
    profanity = min(counts["profanity"], 2)
    slur = min(counts["slur"], 2)
    threat = min(counts["threat"], 2)
    dehum = min(counts["dehum"], 2)
    hate = min(counts["hate"], 2)
    strong = insult or slur or direct or command
    vec[0] = neg
    vec[1] = pos
    vec[2] = insult
    vec[3] = profanity
    vec[4] = slur
    vec[5] = threat
    vec[6] = dehum
    vec[7] = min(counts["sexual"], 2)
    vec[8] = hate
    vec[9] = min(command, 2)
    vec[10] = 1.0 if identity else 0.0
    vec[11] = 1.0 if targeted else 0.0
    vec[12] = min(direct, 2)
    vec[13] = neg if targeted else 0.0
    vec[14] = 1.0 if identity and (hate or dehum or threat or slur) else 0.0
    vec[15] = neg if identity else 0.0
    vec[16] = 1.0 if threat and (targeted or identity) else 0.0
    vec[17] = min(negated, 2)
    vec[18] = min(quoted, 2)
    vec[19] = 1.0 if report and (quoted or negated or insult or slur or hate or threat) else 0.0
    vec[20] = upper / letters if letters >= 8 else 0.0
    vec[21] = min(len(_SHOUT_RE.findall(text)), 3) / 3.0
    vec[22] = 1.0 if laugh else 0.0
    vec[23] = 1.0 if friendly else 0.0
    vec[24] = pos if profanity and not strong else 0.0
    vec[25] = 1.0 if profanity and laugh and not strong else 0.0
    vec[26] = math.log1p(n_tokens) / 4.0
    vec[27] = 1.0 if "?" in text else 0.0
    vec[28] = 1.0 if lang == "fr" else 0.0
    vec[29] = 1.0 if ctx.reply_to_other else 0.0
    vec[30] = ctx.self_prev
    vec[31] = ctx.other_prev if targeted else 0.0
    vec[32] = ctx.swear_habit if profanity and not strong else 0.0

    lexical = (
        0.5 * insult
        + 0.8 * slur
        + 0.5 * threat
        + 0.6 * command
        + 0.5 * dehum
        + 0.25 * profanity
        + 0.5 * direct
        + 0.3 * neg
    )
    return MessageFeatures(
        vector=tuple(vec),
        lexical_hostility=lexical if lexical < 1.0 else 1.0,
        swears=profanity > 0,
    )


@dataclass(frozen=True, slots=True)
class HostilityModel:
    """Logistic weights over FEATURE_NAMES plus the default flag threshold."""

    bias: float
    weights: tuple[float, ...]
    threshold: float

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> HostilityModel:
        """Build from the JSON written by scripts/fit_conflict.py."""
        raw = data["weights"]
        if not isinstance(raw, Mapping):
            raise ValueError("weights must be an object")
        unknown = set(raw) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"unknown features in weights: {sorted(unknown)}")
        weights = tuple(float(raw.get(name, 0.0)) for name in FEATURE_NAMES)
        bias = data["bias"]
        threshold = data["threshold"]
        if not isinstance(bias, int | float) or not isinstance(threshold, int | float):
            raise ValueError("bias and threshold must be numbers")
        return cls(bias=float(bias), weights=weights, threshold=float(threshold))

    def evaluate(self, vector: Sequence[float], threshold: float | None = None) -> HostilityScore:
        """Return score, flag (at threshold, default the model's) and reasons."""
        value = self.score(vector)
        limit = self.threshold if threshold is None else threshold
        flag = value >= limit
        reasons = self.reasons(vector) if value >= 0.5 * limit else ()
        return HostilityScore(score=value, flag=flag, reasons=reasons)

    @classmethod
    def load(cls, path: Path) -> HostilityModel:
        """Read a model JSON file."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def logit(self, vector: Sequence[float]) -> float:
        """Return bias + w·x."""
        z = self.bias
        for w, x in zip(self.weights, vector, strict=True):
            if x:
                z += w * x
        return z

    def score(self, vector: Sequence[float]) -> float:
        """Return the 0..1 hostility score of a feature vector."""
        z = self.logit(vector)
        if z < -35.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def reasons(self, vector: Sequence[float]) -> tuple[str, ...]:
        """Return reason codes for the features that pushed the score up most."""
        scored: dict[str, float] = {}
        for name, w, x in zip(FEATURE_NAMES, self.weights, vector, strict=True):
            code = REASON_CODES.get(name)
            contribution = w * x
            if code is not None and contribution >= _REASON_MIN_CONTRIBUTION:
                scored[code] = scored.get(code, 0.0) + contribution
        return tuple(sorted(scored, key=lambda c: -scored[c]))


@lru_cache(maxsize=1)
def default_model() -> HostilityModel:
    """Return the shipped model (data/conflict/model.json), loaded once."""
    return HostilityModel.load(DATA_DIR / "model.json")


def score_message(
    text: str,
    *,
    lang: str | None = None,
    compound: float | None = None,
    addressed: bool = False,
    context: ContextSignals | None = None,
    model: HostilityModel | None = None,
    threshold: float | None = None,
) -> HostilityScore:
    """Score one message; pass ``compound`` when the VADER compound is already known.

    lang None detects the language; addressed says a mention or reply aims the
    message at someone; context carries signals from earlier messages (see
    bot.conflict.context). threshold None uses the model's default.
    """
    if lang not in ("en", "fr"):
        lang = guess_language(text)
    if compound is None:
        from bot.sentiment import polarity

        compound = polarity(text, lang)
    mdl = model if model is not None else default_model()
    feats = extract_features(text, lang, compound, addressed=addressed, context=context)
    return mdl.evaluate(feats.vector, threshold)
