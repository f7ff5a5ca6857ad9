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
import operator
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, compress, pairwise
from pathlib import Path

from bot.core.language import guess_language
from bot.core.resources import data_path

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

DATA_DIR = data_path("conflict")

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
    "link",
    "self_directed",
    "you_word",
    "group_generic",
)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_IS_FR = _INDEX["is_fr"]

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
    "you_word": "targeted",
    "group_generic": "identity_hate",
}
_REASON_MIN_CONTRIBUTION = 0.4

_HOSTILE_CATS = ("insult", "profanity", "slur", "threat", "dehum", "sexual", "hate")
_BITS: Mapping[str, int] = {
    name: 1 << i
    for i, name in enumerate(
        (
            *_HOSTILE_CATS,
            "identity",
            "command",
            "you",
            "negator",
            "report",
            "laugh",
            "friendly",
            "mild",
            "me",
            "point",
        )
    )
}
_HOSTILE = sum(_BITS[c] for c in _HOSTILE_CATS)
_PERSONAL = _BITS["insult"] | _BITS["slur"]
_NEGATOR = _BITS["negator"]
_YOU = _BITS["you"]
_REPORT = _BITS["report"]
_IDENTITY = _BITS["identity"]
_LAUGH = _BITS["laugh"]
_FRIENDLY = _BITS["friendly"]
_COMMAND = _BITS["command"]
# Words that insult only when aimed at someone ("you're trash") and
# dehumanise only next to a group ("X are animals"); otherwise plain words.
_MILD = _BITS["mild"]
_ME = _BITS["me"]
# Demonstratives and pointers that aim a noun at a person or a group
# ("ce connard", "ces bouffons", "espèce de", "bande de", "c'est un"):
# an insult right after one is aimed, as after "you".
_POINT = _BITS["point"]
_POINT_WINDOW = 2
# French elided reflexive/subject pronouns start verbs, never insults:
# "s'attarder" (to linger) is not "attardé".
_VERB_HEADS = frozenset(("s", "m", "j", "t"))
_NOT_AFTER_VERB_HEAD = _PERSONAL | _BITS["dehum"] | _MILD
_HOSTILE_BITS = tuple((i, _BITS[c]) for i, c in enumerate(_HOSTILE_CATS))
# Hostile counts are kept in one integer, a 24-bit field per category, so a
# token adds all its categories with one addition: _PACKED[mask & _HOSTILE].
_FIELD = 24
_FIELD_MASK = (1 << _FIELD) - 1
_PACKED = tuple(
    sum(1 << (_FIELD * i) for i, bit in _HOSTILE_BITS if mask & bit) for mask in range(_HOSTILE + 1)
)


def _strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Lexicon:
    """Word categories for one language, with stem (prefix) and phrase matching.

    Categories are stored as bit masks (see _BITS) so the per-token work on
    the hot path is integer tests.
    """

    def __init__(self, entries: Mapping[str, Sequence[str]]) -> None:
        exact: dict[str, int] = {}
        prefixes: dict[str, int] = {}
        phrases: dict[str, int] = {}
        # Words that make the group noun after them a generalisation ("les
        # immigrés", "these women", "tous les X"): a set, not a category bit,
        # because they are frequent and only matter next to a group word.
        self.generic_words = frozenset(
            chain.from_iterable((t, _strip_accents(t)) for t in entries.get("generic", ()))
        )
        # Reflexive heads ("s'y", "s'est"): the token after one is a verb
        # ("qu'on s'y attarde", "il s'est attardé"), never an insult.
        self.reflexive_words = frozenset(
            chain.from_iterable((t, _strip_accents(t)) for t in entries.get("reflexive", ()))
        )
        for category, terms in entries.items():
            if category in ("generic", "plain", "reflexive"):
                continue
            if category not in _BITS:
                raise ValueError(f"unknown lexicon category {category!r}")
            bit = _BITS[category]
            for raw in terms:
                for term in {raw, _strip_accents(raw)}:
                    if "_" in term or (category == "command" and not term.endswith("*")):
                        # Commands ("casse-toi", "kys") count as phrases even as one token.
                        phrase = term.replace("_", " ")
                        phrases[phrase] = phrases.get(phrase, 0) | bit
                    elif term.endswith("*"):
                        prefixes[term[:-1]] = prefixes.get(term[:-1], 0) | bit
                    else:
                        exact[term] = exact.get(term, 0) | bit
        # Plain words, as written only: an insult without its accents can be a
        # common verb ("dérangé" -> "derange" vs "ça me dérange").
        for term in entries.get("plain", ()):
            exact[term] = 0
        self._exact = exact
        self._prefixes = prefixes
        self._prefix_lengths = tuple(sorted({len(p) for p in prefixes}, reverse=True))
        self.phrase_masks = phrases
        # Phrases are matched on tokens: first word -> (following words, mask),
        # longest first, so "ta gueule connard" wins over "ta gueule".
        by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for phrase, mask in phrases.items():
            first, *rest = phrase.split(" ")
            by_first.setdefault(first, []).append((tuple(rest), mask))
        self.phrase_index: dict[str, tuple[tuple[tuple[str, ...], int], ...]] = {
            first: tuple(sorted(entries, key=lambda e: -len(e[0]))) for first, entries in by_first.items()
        }
        self.phrase_first_words = frozenset(by_first)
        # The same, keyed on the first two words (multi-word phrases, longest
        # first) and on the word alone (one-word phrases): a token then costs
        # one or two dict probes instead of a scan of every phrase it starts.
        by_pair: dict[tuple[str, str], list[tuple[tuple[str, ...], int]]] = {}
        single: dict[str, int] = {}
        for first, options in self.phrase_index.items():
            for tail, tail_mask in options:
                if tail:
                    by_pair.setdefault((first, tail[0]), []).append((tail[1:], tail_mask))
                else:
                    single[first] = tail_mask
        self.phrase_pairs: dict[tuple[str, str], tuple[tuple[tuple[str, ...], int], ...]] = {
            pair: tuple(found) for pair, found in by_pair.items()
        }
        self.phrase_single = single
        self.cache: dict[str, int] = {}

    def words(self, category: str) -> frozenset[str]:
        """Return the whole words and phrases (not stems) listed under a category."""
        bit = _BITS[category]
        return frozenset(
            term for terms in (self._exact, self.phrase_masks) for term, mask in terms.items() if mask & bit
        )

    def lookup(self, token: str) -> int:
        """Return the category mask of one lowercase token (0 if none)."""
        found = self.cache.get(token)
        if found is not None:
            return found
        found = self._lookup(token)
        if len(self.cache) > 200_000:
            self.cache.clear()
        self.cache[token] = found
        return found

    def categories(self, token: str) -> frozenset[str]:
        """Return the category names of one token (for tests and debugging)."""
        mask = self.lookup(token)
        return frozenset(name for name, bit in _BITS.items() if mask & bit)

    def _lookup(self, token: str) -> int:
        mask = self._exact.get(token)
        if mask is not None:
            return mask
        if token.endswith("n't"):
            return _NEGATOR
        collapsed = _REPEAT_RE.sub(r"\1", token)
        if collapsed != token:
            # "stuuupid", "fuuuck": stretched words are the same word, louder.
            return self.lookup(collapsed)
        n = len(token)
        if n >= 3:
            for length in self._prefix_lengths:
                if length <= n:
                    mask = self._prefixes.get(token[:length])
                    if mask is not None:
                        return mask
            if token[-1] in "sx":
                mask = self._exact.get(token[:-1])
                if mask is not None:
                    return mask
        if "'" in token:
            head, _, tail = token.partition("'")
            mask = self._exact.get(head + "'", 0)
            if not tail:
                return mask
            tail_mask = self.lookup(tail)
            if head in _VERB_HEADS:
                tail_mask &= ~_NOT_AFTER_VERB_HEAD
                if head == "s":
                    # "ça s'appelle", "il s'appelait": a name, not a report.
                    tail_mask &= ~_REPORT
            return mask | tail_mask
        if "-" in token:
            merged = 0
            for part in token.split("-"):
                if part:
                    merged |= self.lookup(part)
            return merged
        if not token.isascii():
            # Mixed or misplaced accents ("dégenéré"): match the bare letters.
            bare = _strip_accents(token)
            if bare != token:
                return self.lookup(bare)
        return 0


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


# "en"/"fr" -> shipped lexicon, filled on first use (a dict probe on the hot path).
_LEXICONS: dict[str, Lexicon] = {}


@lru_cache(maxsize=4)
def _default_lexicon(lang: str) -> Lexicon:
    lexicon = load_lexicon(DATA_DIR / f"lexicon_{lang}.txt")
    _LEXICONS[lang] = lexicon
    return lexicon


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


_NO_CONTEXT = ContextSignals()


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


# "@url" is the link placeholder of anonymised tweet sets, not a member.
_MENTION_RE = re.compile(r"<@!?\d+>|(?<!\w)@(?!url\b)\w+")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "’": "'"})
_QUOTE_SPLIT_RE = re.compile(r"[\"“”«»]")
_TOKEN_RE = re.compile(r"[^\W_]+(?:[*'\-][^\W_]+)*")
# The same tokens for ASCII text: a plain character class is cheaper than
# the Unicode word test ([^\W_] is isalnum(), which on ASCII is [a-zA-Z0-9]).
_ASCII_TOKEN_RE = re.compile(r"[a-zA-Z0-9]+(?:[*'\-][a-zA-Z0-9]+)*")
_SHOUT_RE = re.compile(r"[!?]{2,}")
_LAUGH_EMOJI_RE = re.compile("[😂🤣😆😄😁😅😜😝😛😉🙂😊😀]|[:;]-?[)pPD]|xD")
# Every emoji in _LAUGH_EMOJI_RE is at or above this one: accented text
# without emoji skips the search.
_FIRST_LAUGH_EMOJI = "\U0001f600"
_LEET_RE = re.compile("[013457$’]")
# "b@stard": an at sign right after a letter is an a (a mention starts a word).
_AT_RE = re.compile(r"(?<=[^\W\d_])@")
_SPACED_RE = re.compile(r"(?<![^\W_])(?:[^\W\d_] ){3,}[^\W\d_](?![^\W_])")
# "#BalanceTonPorc" -> "Balance Ton Porc": hashtags read as words.
_HASHTAG_RE = re.compile(r"(?<![&\w])#([^\W\d_][^\W_]*)")
_CAMEL_RE = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")
_LOG_LENGTH = tuple(math.log1p(n) / 4.0 for n in range(64))
_UPPER_RE = re.compile(r"[A-ZÀ-ÖØ-Þ]")
_NEG_WINDOW = 2
_REPORT_WINDOW = 6
_DIRECT_WINDOW = 4


def _any_bit(masks: list[int], start: int, end: int, bit: int) -> bool:
    """Tell whether any of masks[start:end] (start clipped at 0) has bit."""
    return any(mask & bit for mask in masks[start if start > 0 else 0 : end])


def _about_self(masks: list[int], i: int) -> bool:
    """Tell whether a first-person word within _DIRECT_WINDOW before i comes after any "you"."""
    for j in range(i - 1, i - _DIRECT_WINDOW - 1 if i > _DIRECT_WINDOW else -1, -1):
        mask = masks[j]
        if mask & _YOU:
            return False
        if mask & _ME:
            return True
    return False


def _split_hashtag(match: re.Match[str]) -> str:
    return " " + _CAMEL_RE.sub(" ", match.group(1))


def _join_spaced(match: re.Match[str]) -> str:
    return match.group().replace(" ", "")


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
    vector, words, swears = _extract(text, lang, compound, addressed, context, lexicon)
    lexical = words + 0.3 * vector[0]
    return MessageFeatures(vector=vector, lexical_hostility=lexical if lexical < 1.0 else 1.0, swears=swears)


# (text, lang) -> (lexical words score, swears) as context, i.e. without
# sentiment (compound 0), capped at 1 when read. score_message fills it: in a live channel every
# scored message is context for the next few, so bot.conflict.context then
# finds it here instead of reading it again. Emptied when full.
_SUMMARIES: dict[tuple[str, str], tuple[float, bool]] = {}
_SUMMARIES_MAX = 4096


def context_summary(text: str, lang: str) -> tuple[float, bool]:
    """Return (lexical hostility 0..1, swears) of a message read as context (no sentiment)."""
    key = (text, lang)
    found = _SUMMARIES.get(key)
    if found is None:
        if len(_SUMMARIES) >= _SUMMARIES_MAX:
            _SUMMARIES.clear()
        found = _SUMMARIES[key] = _extract(text, lang, 0.0, False, None, None)[1:]
    words, swears = found
    return (words if words < 1.0 else 1.0), swears


def _extract(
    text: str,
    lang: str,
    compound: float,
    addressed: bool,
    context: ContextSignals | None,
    lexicon: Lexicon | None,
) -> tuple[tuple[float, ...], float, bool]:
    """Return (feature vector, lexical words score, swears) of one message.

    The words score is the lexical hostility before its sentiment term
    (0.3 x negative sentiment) and before capping at 1.
    """
    lex = (
        lexicon
        if lexicon is not None
        else _LEXICONS.get(lang) or _default_lexicon("fr" if lang == "fr" else "en")
    )

    link = "http" in text or "@url" in text or "www." in text
    mentions = _MENTION_RE.findall(text) if "@" in text else ()
    if mentions:
        text = _MENTION_RE.sub(" @ ", text)
        addressed = True
    if "#" in text:
        text = _HASHTAG_RE.sub(_split_hashtag, text)
    norm = text.lower()
    if _LEET_RE.search(norm) is not None:
        norm = norm.translate(_LEET)
    if "@" in norm:
        norm = _AT_RE.sub("a", norm)

    packed = 0
    negated = 0
    quoted = 0
    reported = 0
    direct = 0
    mild = 0
    mild_direct = 0
    self_directed = 0
    seen = 0
    generic = False
    quotes = '"' in norm or "“" in norm or "«" in norm
    tokenize = _ASCII_TOKEN_RE.findall if norm.isascii() else _TOKEN_RE.findall
    if quotes:
        raw_segments = _QUOTE_SPLIT_RE.split(norm)
        segments = list(map(tokenize, raw_segments))
        lengths = list(map(len, chain.from_iterable(segments)))
    else:
        raw_segments = [norm]
        segments = [tokenize(norm)]
        lengths = list(map(len, segments[0]))
    if lengths.count(1) >= 4 and (_SPACED_RE.search(norm) is not None):
        # "c o n n a r d", "f u c k": letters spaced out to dodge filters.
        norm = _SPACED_RE.sub(_join_spaced, norm)
        raw_segments = _QUOTE_SPLIT_RE.split(norm) if quotes else [norm]
        segments = list(map(tokenize, raw_segments))
        lengths = list(map(len, chain.from_iterable(segments)))
        if compound > 0:
            # VADER read the spaced-out letters as words ("a", "e"): its
            # positive score here is noise, not friendliness.
            compound = 0.0
    # Words count as quoted only if the message has words outside the quotes
    # too: a message that is all quote (a retweet, a pasted line) speaks for itself.
    quoting = quotes and len(segments) > 1 and sum(map(len, segments[::2])) >= 2
    n_tokens = 0
    command = 0
    cache_get = lex.cache.get
    first_words = lex.phrase_first_words
    generic_words = lex.generic_words
    reflexive_words = lex.reflexive_words
    single_words = lex.phrase_single.keys()
    pair_keys = lex.phrase_pairs.keys()
    for seg_index, tokens in enumerate(segments):
        # A quote that opens on a mention is a retweet or a reply, not a citation.
        in_quote = quoting and seg_index % 2 == 1 and not raw_segments[seg_index].lstrip().startswith("@")
        n_tokens += len(tokens)
        last_negator = last_you = last_report = last_me = last_point = -100
        found = list(map(cache_get, tokens))
        if None in found:
            masks = [lex.lookup(tok) if m is None else m for tok, m in zip(tokens, found, strict=True)]
        else:
            masks = found  # type: ignore[assignment]  # no None left: all ints
        if not reflexive_words.isdisjoint(tokens):
            for i in range(1, len(tokens)):
                if tokens[i - 1] in reflexive_words:
                    masks[i] &= ~_NOT_AFTER_VERB_HEAD
        # Most words carry no category: visit only the ones that do.
        for i in compress(range(len(masks)), masks):
            mask = masks[i]
            seen |= mask
            if mask & _NEGATOR:
                last_negator = i
            if mask & _YOU:
                last_you = i
            if mask & _REPORT:
                last_report = i
            if mask & _ME:
                last_me = i
            if mask & _POINT:
                last_point = i
            if mask & _IDENTITY and i and tokens[i - 1] in generic_words:
                generic = True
            if not mask & _HOSTILE:
                if mask & _MILD and i - last_negator > _NEG_WINDOW and not in_quote:
                    if i - last_you <= _DIRECT_WINDOW or i - last_point <= _POINT_WINDOW:
                        mild_direct += 1
                    else:
                        mild += 1
                continue
            packed += _PACKED[mask & _HOSTILE]
            if i - last_negator <= _NEG_WINDOW:
                negated += 1
            elif in_quote:
                quoted += 1
            elif i - last_report <= _REPORT_WINDOW:
                reported += 1
            elif mask & _PERSONAL and i - last_me <= _DIRECT_WINDOW and last_me > last_you:
                # "I'm a proud queer", "je suis trop con": about oneself, not at anyone.
                self_directed += 1
            elif mask & _PERSONAL and (i - last_you <= _DIRECT_WINDOW or i - last_point <= _POINT_WINDOW):
                direct += 1
        if first_words.isdisjoint(tokens) or (
            single_words.isdisjoint(tokens) and pair_keys.isdisjoint(pairwise(tokens))
        ):
            # No phrase can start here: none of its one-word phrases and none
            # of the first two words of a longer one.
            continue
        pairs_get = lex.phrase_pairs.get
        single_get = lex.phrase_single.get
        n = len(tokens)
        resume = 0
        # Visit only the tokens that start a phrase; a match skips its words.
        for i in compress(range(n), map(first_words.__contains__, tokens)):
            if i < resume:
                continue
            found_mask = 0
            if i + 1 < n:
                for rest, mask in pairs_get((tokens[i], tokens[i + 1]), ()):
                    end = i + 2 + len(rest)
                    if end <= n and (not rest or tuple(tokens[i + 2 : end]) == rest):
                        found_mask = mask
                        break
            if not found_mask:
                found_mask = single_get(tokens[i], 0)
                end = i + 1
            if not found_mask:
                continue
            resume = end
            if in_quote and found_mask & (_HOSTILE | _COMMAND):
                # 'il m'a traité de « sale arabe »': cited, not said.
                quoted += 1
                continue
            seen |= found_mask
            if found_mask & _COMMAND:
                command += 1
            if found_mask & _HOSTILE:
                packed += _PACKED[found_mask & _HOSTILE]
                # As for single words: "m'a traité de sale arabe" is reported,
                # "jsuis un sale arabe" is about oneself.
                if _any_bit(masks, i - _REPORT_WINDOW, i, _REPORT):
                    reported += 1
                elif found_mask & _PERSONAL and _about_self(masks, i):
                    self_directed += 1
    identity = bool(seen & _IDENTITY)
    you = bool(seen & _YOU)
    friendly = bool(seen & _FRIENDLY)
    laugh = bool(seen & _LAUGH) or (
        (
            ":" in text
            or ";" in text
            or "xD" in text
            or (not text.isascii() and max(text) >= _FIRST_LAUGH_EMOJI)
        )
        and _LAUGH_EMOJI_RE.search(text) is not None
    )

    ctx = context if context is not None else _NO_CONTEXT
    targeted = you or addressed or ctx.reply_to_other or command > 0
    neg = -compound if compound < 0 else 0.0
    question = "?" in text
    shout = (
        min(len(_SHOUT_RE.findall(text)), 3) / 3.0
        if (question or "!" in text) and ("!!" in text or "??" in text or "?!" in text or "!?" in text)
        else 0.0
    )
    if not (packed or command or quoted or mild_direct or (mild and identity)):
        # Nothing hostile (most messages): every hostile feature is 0, and
        # so are negated/reported/self_directed/direct, which only count
        # hostile words. Same vector as below, fewer steps.
        caps = 0.0
        if targeted and not text.islower():
            letters = sum(lengths)
            if letters >= 8:
                caps = len(_UPPER_RE.findall(text)) / letters
        vector = (
            neg,
            compound if compound > 0 else 0.0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1.0 if identity else 0.0,
            1.0 if targeted else 0.0,
            0,
            neg if targeted else 0.0,
            0.0,
            neg if identity else 0.0,
            0.0,
            0,
            0,
            0,
            caps,
            shout,
            1.0 if laugh else 0.0,
            1.0 if friendly else 0.0,
            0.0,
            0.0,
            _LOG_LENGTH[n_tokens] if n_tokens < 64 else math.log1p(n_tokens) / 4.0,
            1.0 if question else 0.0,
            1.0 if lang == "fr" else 0.0,
            1.0 if ctx.reply_to_other else 0.0,
            ctx.self_prev,
            ctx.other_prev if targeted else 0.0,
            0.0,
            1.0 if link else 0.0,
            0,
            1.0 if you else 0.0,
            1.0 if generic else 0.0,
        )
        return vector, 0.0, False
    if packed:
        insult = packed & _FIELD_MASK
        profanity = (packed >> _FIELD) & _FIELD_MASK
        slur = (packed >> 2 * _FIELD) & _FIELD_MASK
        threat = (packed >> 3 * _FIELD) & _FIELD_MASK
        dehum = (packed >> 4 * _FIELD) & _FIELD_MASK
        sexual = (packed >> 5 * _FIELD) & _FIELD_MASK
        hate = packed >> 6 * _FIELD
    else:
        insult = profanity = slur = threat = dehum = sexual = hate = 0
    if mild_direct:
        insult += mild_direct
        direct += mild_direct
    if mild and identity:
        dehum += mild
    pos = compound if compound > 0 else 0.0
    insult = insult if insult < 2 else 2
    profanity = profanity if profanity < 2 else 2
    slur = slur if slur < 2 else 2
    threat = threat if threat < 2 else 2
    dehum = dehum if dehum < 2 else 2
    sexual = sexual if sexual < 2 else 2
    hate = hate if hate < 2 else 2
    strong = insult or slur or direct or command
    # Shouting counts when aimed at someone or carrying hostile words; caps
    # alone are mostly enthusiasm ("GG WP", "LET'S GO").
    caps = 0.0
    if (targeted or strong or profanity) and not text.islower():
        letters = sum(lengths)
        if letters >= 8:
            caps = len(_UPPER_RE.findall(text)) / letters
    mild_swearing = profanity and not strong
    vector = (
        neg,
        pos,
        insult,
        profanity,
        slur,
        threat,
        dehum,
        sexual,
        hate,
        command if command < 2 else 2,
        1.0 if identity else 0.0,
        1.0 if targeted else 0.0,
        direct if direct < 2 else 2,
        neg if targeted else 0.0,
        1.0 if identity and (hate or dehum or threat or slur) else 0.0,
        neg if identity else 0.0,
        1.0 if threat and (targeted or identity) else 0.0,
        negated if negated < 2 else 2,
        quoted if quoted < 2 else 2,
        reported if reported < 2 else 2,
        caps,
        shout,
        1.0 if laugh else 0.0,
        1.0 if friendly else 0.0,
        pos if mild_swearing else 0.0,
        1.0 if mild_swearing and laugh else 0.0,
        _LOG_LENGTH[n_tokens] if n_tokens < 64 else math.log1p(n_tokens) / 4.0,
        1.0 if question else 0.0,
        1.0 if lang == "fr" else 0.0,
        1.0 if ctx.reply_to_other else 0.0,
        ctx.self_prev,
        ctx.other_prev if targeted else 0.0,
        ctx.swear_habit if mild_swearing else 0.0,
        1.0 if link else 0.0,
        self_directed if self_directed < 2 else 2,
        1.0 if you else 0.0,
        1.0 if generic else 0.0,
    )
    words = (
        0.5 * insult
        + 0.8 * slur
        + 0.5 * threat
        + 0.6 * command
        + 0.5 * dehum
        + 0.25 * profanity
        + 0.5 * direct
    )
    return vector, words, profanity > 0


# (index, reason code, weight) of each feature that can give a reason.
_ReasonTerms = tuple[tuple[int, str, float], ...]


@dataclass(frozen=True, slots=True)
class HostilityModel:
    """Logistic weights over FEATURE_NAMES plus the default flag threshold.

    weights_fr (optional) replaces weights for French messages (is_fr = 1);
    None means one set of weights for both languages.
    """

    bias: float
    weights: tuple[float, ...]
    threshold: float
    weights_fr: tuple[float, ...] | None = None
    # (index, reason code, weight) of the features that can give a reason,
    # computed once here: evaluating must not hash the weights per message.
    _terms: _ReasonTerms = field(init=False, repr=False, compare=False)
    _terms_fr: _ReasonTerms = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Precompute the reason terms of both weight sets."""
        object.__setattr__(self, "_terms", _reason_terms(self.weights))
        fr = self.weights_fr
        object.__setattr__(self, "_terms_fr", _reason_terms(fr) if fr is not None else self._terms)

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
        weights_fr: tuple[float, ...] | None = None
        raw_fr = data.get("weights_fr")
        if raw_fr is not None:
            if not isinstance(raw_fr, Mapping) or set(raw_fr) - set(FEATURE_NAMES):
                raise ValueError("weights_fr must be an object over FEATURE_NAMES")
            weights_fr = tuple(
                float(raw_fr.get(name, w)) for name, w in zip(FEATURE_NAMES, weights, strict=True)
            )
        bias = data["bias"]
        threshold = data["threshold"]
        if not isinstance(bias, int | float) or not isinstance(threshold, int | float):
            raise ValueError("bias and threshold must be numbers")
        return cls(bias=float(bias), weights=weights, threshold=float(threshold), weights_fr=weights_fr)

    def evaluate(self, vector: Sequence[float], threshold: float | None = None) -> HostilityScore:
        """Return score, flag (at threshold, default the model's) and, if flagged, reasons."""
        french = self.weights_fr is not None and vector[_IS_FR]
        z = self.bias + sum(map(operator.mul, self.weights_fr if french else self.weights, vector))  # type: ignore[arg-type]
        value = 0.0 if z < -35.0 else 1.0 / (1.0 + math.exp(-z))
        if value < (self.threshold if threshold is None else threshold):
            return HostilityScore(value, False, ())
        return HostilityScore(value, True, _reasons(self._terms_fr if french else self._terms, vector))

    @classmethod
    def load(cls, path: Path) -> HostilityModel:
        """Read a model JSON file."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _reasons(terms: _ReasonTerms, vector: Sequence[float]) -> tuple[str, ...]:
    scored: dict[str, float] = {}
    for index, code, weight in terms:
        value = vector[index]
        if value:
            contribution = weight * value
            if contribution >= _REASON_MIN_CONTRIBUTION:
                scored[code] = scored.get(code, 0.0) + contribution
    if len(scored) < 2:
        return tuple(scored)
    return tuple(sorted(scored, key=scored.__getitem__, reverse=True))


def _reason_terms(weights: tuple[float, ...]) -> _ReasonTerms:
    """Return (index, reason code, weight) of the features that give a reason and weigh > 0."""
    return tuple(
        (i, REASON_CODES[name], w)
        for i, (name, w) in enumerate(zip(FEATURE_NAMES, weights, strict=True))
        if name in REASON_CODES and w > 0
    )


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
        from bot.core.sentiment import polarity

        compound = polarity(text, lang)
    mdl = model if model is not None else default_model()
    # The vector alone: score_message needs no MessageFeatures object.
    vector, words, swears = _extract(text, lang, compound, addressed, context, None)
    if len(_SUMMARIES) >= _SUMMARIES_MAX:
        _SUMMARIES.clear()
    _SUMMARIES[text, lang] = (words, swears)
    return mdl.evaluate(vector, threshold)
