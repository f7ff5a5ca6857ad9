"""Cheap English/French language guess for chat messages.

Runs on every message, so it is a stopword and diacritic count, not a model (a few µs):
short chat lines rarely carry enough signal for anything heavier to pay off.
"""

from __future__ import annotations

import re
from itertools import repeat

__all__ = ["guess_language"]

# Words that are frequent in one language and rare in the other. Ambiguous
# forms ("a", "on", "me", "six", "place") are left out on purpose.
_EN_TEXT = """
    the and is are was were be been you your yours i'm i'd i'll i've you're it's
    this that these those what which who whom whose why how when where there
    here have has had do does did don't doesn't didn't can't won't isn't aren't
    not no yes of to in with for from at by about into over after before then
    than they them their we our us he she his her him my mine it its an or but
    if so just like get got would should could will shall am very really think
    know want need going good bad lol thanks thank please because some any all
"""
_FR_TEXT = """
    le la les un une des du de et est sont était être été tu vous je il elle ils
    elles nous on ce cet cette ces qui que quoi quand comment pourquoi où mais
    ou donc or ni car ne pas plus jamais rien avec pour dans par sur sous chez
    sans mon ma mes ton ta tes son sa ses notre votre nos vos leur leurs moi toi
    lui eux oui non très bien merci aussi encore déjà avoir fait faire suis es
    ai as avez ont sera c'est j'ai t'es t'as n'est qu'il qu'on d'un d'une l'on
    y en au aux ça cela ceci voilà alors parce trop mdr ptdr bah ben hein quoi
"""
_WEIGHTS: dict[str, float] = dict.fromkeys(_EN_TEXT.split(), -1.0)
_WEIGHTS.update(dict.fromkeys(_FR_TEXT.split(), 1.0))
# Words are split on whitespace only (a regex tokenizer cost more than the rest of the guess), so
# each cue word is also listed with the punctuation that commonly clings to it ("merci!", "(the").
_CLINGING = (",", ".", "!", "?", ";", ":", ")", "...", "!!", "??", "?!")
for _word, _weight in list(_WEIGHTS.items()):
    _WEIGHTS["(" + _word] = _weight
    for _mark in _CLINGING:
        _WEIGHTS[_word + _mark] = _weight
_FR_DIACRITIC_RE = re.compile(r"[éèêëàâçîïôûùœ]")
_FR_ELISIONS = frozenset(("l", "d", "j", "qu", "n", "s", "c", "m", "t"))
_EN_CLITICS = frozenset(("s", "t", "re", "ve", "ll", "d", "m"))
_PUNCTUATION = ",.!?;:()\"'"
_MAX_CHARS = 300


def guess_language(text: str) -> str:
    """Return "fr" or "en" for a chat message; ties and empty text give "en"."""
    sample = text[:_MAX_CHARS].lower()
    if sample.isascii():
        score = 0.0
    else:
        sample = sample.replace("’", "'")
        score = 0.5 * len(_FR_DIACRITIC_RE.findall(sample))
    words = sample.split()
    score += sum(map(_WEIGHTS.get, words, repeat(0.0)))
    if "'" in sample:
        for word in words:
            if "'" in word and word not in _WEIGHTS:
                # French elisions (l', d', qu') versus English clitics ('s, 't, 're).
                head, _, tail = word.strip(_PUNCTUATION).partition("'")
                if head in _FR_ELISIONS and len(tail) > 2:
                    score += 0.5
                elif tail in _EN_CLITICS:
                    score -= 0.5
    return "fr" if score > 0 else "en"
