"""The channels' topics: subscription-like queries over the synthetic vocabulary, popular ones shared.

Topics are drawn from the vocabulary's Zipf weights, 1-3 words, some
quoted phrases, some OR, some with has:code, cat: or an exclusion, in
canonical form (as ``Channels.subscribe`` stores them).
"""

from __future__ import annotations

import random
from bisect import bisect
from collections import Counter
from typing import Any

from bench.synth import CATEGORIES, STOPWORDS, Vocabulary

__all__ = ["TopicMaker", "draw_topics"]

# Topic words: Zipf-weighted ranks from TOPIC_MIN_RANK down to the rank where
# a word is expected in TOPIC_MIN_FRACTION of papers (~1 of 2,000).
TOPIC_MIN_RANK = 50
TOPIC_MIN_FRACTION = 0.0005
# Shared topics: each topic slot takes one of POPULAR_TOPICS popular topics
# (Zipf over their popularity rank) with this probability, else a topic of
# its own; single words repeat by themselves too. At 10,000 channels x 3:
# ~40% of the slots repeat a topic, the most followed one by ~3% of channels.
POPULAR_TOPICS = 3000
POPULAR_ZIPF_S = 0.7
POPULAR_SHARE = 0.35


class TopicMaker:
    """Subscription-like topics over the synthetic vocabulary, in canonical form."""

    def __init__(self, vocab: Vocabulary, rng: random.Random) -> None:
        self.rng = rng
        ranks = [
            rank
            for rank in range(TOPIC_MIN_RANK, len(vocab.words))
            if vocab.doc_fraction(rank) >= TOPIC_MIN_FRACTION and vocab.words[rank] not in STOPWORDS
        ]
        self.words = [vocab.words[rank] for rank in ranks]
        cum: list[float] = []
        total = 0.0
        for rank in ranks:
            total += (rank + 1) ** -vocab.s
            cum.append(total)
        self.cum = cum
        self.band = (ranks[0], ranks[-1])
        self.categories = [name for name, _ in CATEGORIES]
        self.category_cum: list[float] = []
        total = 0.0
        for _, weight in CATEGORIES:
            total += weight
            self.category_cum.append(total)
        self.kinds: Counter[str] = Counter()

    def word(self, avoid: tuple[str, ...] = ()) -> str:
        while True:
            word = self.words[bisect(self.cum, self.rng.random() * self.cum[-1])]
            if word not in avoid:
                return word

    def words_(self, count: int) -> tuple[str, ...]:
        chosen: tuple[str, ...] = ()
        while len(chosen) < count:
            chosen += (self.word(chosen),)
        return chosen

    def make(self) -> str:
        from bot.search.query import parse_query

        r = self.rng.random()
        if r < 0.45:
            kind, parts = "1 word", list(self.words_(1))
        elif r < 0.73:
            kind, parts = "2 words", list(self.words_(2))
        elif r < 0.83:
            kind, parts = "3 words", list(self.words_(3))
        elif r < 0.93:
            a, b = self.words_(2)
            kind, parts = "phrase", [f'"{a} {b}"']
        else:
            a, b = self.words_(2)
            kind, parts = "a OR b", [f"{a} OR {b}"]
        f = self.rng.random()
        if f < 0.08:
            kind, parts = kind + " has:code", parts + ["has:code"]
        elif f < 0.18:
            category = self.categories[
                bisect(self.category_cum, self.rng.random() * self.category_cum[-1])
            ]
            kind, parts = kind + " cat:", parts + [f"cat:{category}"]
        elif f < 0.25:
            kind, parts = kind + " -word", parts + ["-" + self.word(tuple(parts))]
        self.kinds[kind] += 1
        return str(parse_query(" ".join(parts)))


def draw_topics(
    vocab: Vocabulary, *, channels: int, per_channel: int, seed: int
) -> tuple[list[list[str]], dict[str, Any]]:
    """``per_channel`` distinct canonical topics for each channel, and how they were drawn."""
    rng = random.Random(f"topics-{seed}")
    maker = TopicMaker(vocab, rng)
    popular = [maker.make() for _ in range(POPULAR_TOPICS)]
    maker.kinds.clear()
    popular_cum: list[float] = []
    total = 0.0
    for rank in range(len(popular)):
        total += (rank + 1) ** -POPULAR_ZIPF_S
        popular_cum.append(total)
    result: list[list[str]] = []
    from_popular = 0
    for _ in range(channels):
        topics: list[str] = []
        while len(topics) < per_channel:
            if rng.random() < POPULAR_SHARE:
                topic = popular[bisect(popular_cum, rng.random() * total)]
                shared = True
            else:
                topic = maker.make()
                shared = False
            if topic not in topics:
                topics.append(topic)
                from_popular += shared
        result.append(topics)
    slots = channels * per_channel
    counts = Counter(t for topics in result for t in topics)
    info = {
        "slots": slots,
        "distinct": len(counts),
        "repeated_share": 1 - len(counts) / slots if slots else 0.0,
        "from_popular_pool": from_popular,
        "most_followed": counts.most_common(5),
        "kinds_of_own_topics": dict(maker.kinds.most_common()),
        "word_ranks": list(maker.band),
    }
    return result, info
