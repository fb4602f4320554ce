"""A channel's taste: what its votes say it wants, as weights on words and authors.

The model is a smoothed log-likelihood ratio per feature, a naive Bayes
over binary features, chosen for what a channel gives it: a handful of
votes a day, most of them on papers its topics already matched.

- A paper's features are the index terms of its title and the first
  ``ABSTRACT_WORDS`` words of its abstract (``bot.search.index.text_words``:
  folded and stemmed as search sees them), and its authors' names.
- ``P`` papers the channel liked (the sum of its people's votes above 0) and
  ``N`` it did not (below 0). For a feature seen in ``k+`` liked and ``k-``
  disliked papers, with ``p`` its share of the catalog's papers, the rates
  ``r+ = (k+ + A·p) / (P + A)`` and ``r- = (k- + A·p) / (N + A)``
  (``A`` pseudo-papers of the catalog's own mix) give the weight
  ``log r+ - log r-``. A class with no vote yet is the catalog itself
  (``r = p``): with only 👍, papers are compared with the catalog as a whole.
- A paper's score is the sum of the weights of its features.

It learns from a few votes without overfitting them (each weight is pulled
to 0 by the pseudo-papers), is exact after every click (the counts are
recomputed from the votes), costs no model file or download, and reads as
words a person understands (``Taste.explain``). Why this rather than
embeddings or a trained classifier, with the figures, is in
docs/relevance.md.

Pure functions on plain values; ``bot.chat.tastes`` stores and loads them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot.model.papers import PaperRecord
from bot.search.index import text_terms, text_words

__all__ = [
    "ABSTRACT_WORDS",
    "MIN_VOTES",
    "StoredWords",
    "Taste",
    "Vote",
    "author_feature",
    "features_of",
    "learn",
    "taste_words",
    "words_of",
]

# Words of the abstract a paper's features take (its opening says what it is).
ABSTRACT_WORDS = 200
# Pseudo-papers of the catalog's mix pulling each side's rate towards the catalog's.
PSEUDO = 4.0
# A feature in more than this share of the catalog's papers weighs nothing.
COMMON = 0.5
# Votes a channel gives before its taste changes a digest.
MIN_VOTES = 3
# Features a taste keeps: the heaviest either way.
KEEP = 300
# Features that look for papers no topic matched ("You may also like").
LEANING = 8
# A feature's share of the catalog, at least (names, rare words): one
# paper's rare word says little of a channel's taste.
FLOOR = 1e-3
# The most a feature weighs either way.
CLIP = 3.0
_AUTHOR = "@"


def author_feature(name: str) -> str:
    return _AUTHOR + " ".join(name.lower().split())


def features_of(record: PaperRecord) -> frozenset[str]:
    """The features of ``record``: index terms of its title and opening words, authors.
    (``words_of`` gives the same features with their words, at five times the cost.)"""
    opening = " ".join(record.abstract.split()[:ABSTRACT_WORDS])
    features = {term for term in text_terms(f"{record.title} {opening}") if not term.isdigit()}
    features.update(author_feature(name) for name in record.authors if name.strip())
    return frozenset(features)


def words_of(record: PaperRecord) -> dict[str, str]:
    """Each feature of ``record`` with the word it stands for as the paper writes it."""
    opening = " ".join(record.abstract.split()[:ABSTRACT_WORDS])
    words: dict[str, str] = {}
    for word, term in text_words(f"{record.title} {opening}"):
        if not term.isdigit():
            words.setdefault(term, word.lower())
    for name in record.authors:
        if name.strip():
            words.setdefault(author_feature(name), " ".join(name.split()))
    return words


@dataclass(frozen=True)
class Vote:
    """A paper the channel voted on, and the sum of its people's votes."""

    paper_id: str
    total: int
    words: Mapping[str, str]  # its features, each with the word it stands for


@dataclass(frozen=True)
class Taste:
    """A channel's learned weights, and what they rest on."""

    weights: Mapping[str, float]
    liked: int  # papers the channel's votes put above 0
    disliked: int  # and below 0
    # Why it does not act, when it does not (too few votes, nothing learned).
    idle: str | None = None
    # The word each feature stands for, as papers write it.
    words: Mapping[str, str] = field(default_factory=dict)
    # How many voted papers have each feature.
    support: Mapping[str, int] = field(default_factory=dict)

    @property
    def acts(self) -> bool:
        return self.idle is None and bool(self.weights)

    @cached_property
    def _features(self) -> frozenset[str]:
        return frozenset(self.weights)

    def score(self, features: frozenset[str]) -> float:
        """The sum of the weights of ``features`` (those the taste has: a set intersection)."""
        weights = self.weights
        return sum(map(weights.__getitem__, self._features & features))

    @cached_property
    def leaning_for(self) -> tuple[tuple[str, float], ...]:
        """The features that speak for a paper, heaviest first (where suggestions start)."""
        mine = [(f, w) for f, w in self.weights.items() if w > 0]
        return tuple(sorted(mine, key=lambda pair: (-pair[1], pair[0]))[:LEANING])

    def word(self, feature: str) -> str:
        return self.words.get(feature, feature.removeprefix("@"))

    def reasons(self, features: Iterable[str], *, count: int = 3) -> list[str]:
        """The features of a paper that speak most for it, heaviest first."""
        mine = [(w, f) for f in features if (w := self.weights.get(f, 0.0)) > 0]
        return [f for _, f in sorted(mine, key=lambda pair: (-pair[0], pair[1]))[:count]]

    def explain(self, *, count: int = 8) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The features that weigh most for and against, ``count`` of each: by
        weight times the papers that show it (one paper's rare word or
        co-author says less of a channel than a word of five papers)."""
        def telling(pair: tuple[str, float]) -> tuple[float, str]:
            feature, weight = pair
            return (-abs(weight) * math.log1p(self.support.get(feature, 1)), feature)

        ranked = sorted(self.weights.items(), key=telling)
        pro = [(f, w) for f, w in ranked if w > 0][:count]
        con = [(f, w) for f, w in ranked if w < 0][:count]
        return pro, con


def taste_words(
    stored: Mapping[str, Sequence[Any]] | None,
) -> tuple[dict[str, str], dict[str, int]]:
    """``Taste``'s ``words`` and ``support`` from their stored form ({feature: [word, papers]})."""
    words: dict[str, str] = {}
    support: dict[str, int] = {}
    for feature, (word, papers) in (stored or {}).items():
        words[feature], support[feature] = str(word), int(papers)
    return words, support


class StoredWords:
    """A taste's stored words as JSON text, decoded when first read.

    A digest reads a taste's words only to say why it suggests a paper, so
    the thousands of tastes a scheduled run loads keep theirs as text
    (decoding them all was a tenth of the run's time)."""

    def __init__(self, text: str | None) -> None:
        self._text = text

    @cached_property
    def _decoded(self) -> tuple[dict[str, str], dict[str, int]]:
        return taste_words(json.loads(self._text) if self._text else None)

    @property
    def words(self) -> Mapping[str, str]:
        return _Later(self, 0)

    @property
    def support(self) -> Mapping[str, int]:
        return _Later(self, 1)


class _Later(Mapping[str, Any]):
    """One of ``StoredWords``' two mappings, decoded at its first use."""

    def __init__(self, stored: StoredWords, which: int) -> None:
        self._stored, self._which = stored, which

    @property
    def _mapping(self) -> Mapping[str, Any]:
        return self._stored._decoded[self._which]

    def __getitem__(self, key: str) -> Any:
        return self._mapping[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)


def learn(votes: Sequence[Vote], share: Callable[[str], float]) -> Taste:
    """The taste ``votes`` teach; ``share(feature)`` is its share of the catalog's papers."""
    liked = [v for v in votes if v.total > 0]
    disliked = [v for v in votes if v.total < 0]
    if len(liked) + len(disliked) < MIN_VOTES:
        have = len(liked) + len(disliked)
        return Taste({}, len(liked), len(disliked),
                     idle=f"it rests on {have} of the {MIN_VOTES} votes it needs")
    up = Counter(f for v in liked for f in v.words)
    down = Counter(f for v in disliked for f in v.words)
    weights: dict[str, float] = {}
    for feature in up.keys() | down.keys():
        p = min(max(share(feature), FLOOR), 1.0)
        if p > COMMON:  # in most papers: says nothing of one
            continue
        # Each side's rate pulled towards the catalog's (a side with no vote is the catalog).
        plus = (up[feature] + PSEUDO * p) / (len(liked) + PSEUDO)
        minus = (down[feature] + PSEUDO * p) / (len(disliked) + PSEUDO)
        weight = max(-CLIP, min(CLIP, math.log(plus) - math.log(minus)))
        if abs(weight) > 1e-9:
            weights[feature] = weight
    if not weights:
        return Taste({}, len(liked), len(disliked),
                     idle="the papers voted on share no word or author it can learn from")
    kept = dict(sorted(weights.items(), key=lambda pair: (-abs(pair[1]), pair[0]))[:KEEP])
    said: dict[str, Counter[str]] = {}
    for vote in votes:
        for feature, word in vote.words.items():
            if feature in kept:
                said.setdefault(feature, Counter())[word] += 1
    words = {f: counts.most_common(1)[0][0] for f, counts in said.items()}
    support = {f: up[f] + down[f] for f in kept}
    return Taste(kept, len(liked), len(disliked), words=words, support=support)
