"""Topics as a digest run uses them: parsed once, and their matches kept as bit masks.

``TopicCache`` keeps topics parsed (and compiled, where the pool's terms
play no part) between runs. A topic's hits in a batch's pool of candidates
(``bot.digest.select``) are ``Matches``: document numbers, raw scores and a
mask of the numbers (``mask_of``); ranked inside a channel's window they
are ``Ranked``. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import tantivy

from bot.gcpause import paused_gc
from bot.search.index import SearchIndex
from bot.search.query import ParsedQuery, QueryError, Word, parse_query
from bot.search.rank import compile_query

__all__ = ["NO_MATCHES", "Eligible", "Matches", "RankKey", "Ranked", "TopicCache", "mask_of"]

# A match as the digest ranks it: best first when sorted ascending, by
# relevance, then publication day (newer first), then id. Unique per paper.
RankKey = tuple[float, int, str]


def mask_of(numbers: Iterable[int], size: int) -> int:
    """The set of document numbers as an int with those bits set.

    Channels' unions, counts and "does topic T match paper P" become an OR,
    ``int.bit_count`` and a bit test, with no Python object per match kept.
    """
    bits = bytearray((size + 7) // 8)
    for number in numbers:
        bits[number >> 3] |= 1 << (number & 7)
    return int.from_bytes(bits, "little")


@dataclass(frozen=True)
class Matches:
    """A topic's hits in the pool, best first as the index ranks them.

    Kept as document numbers and raw scores (plain ints and floats, which
    the garbage collector does not track) and as a bit mask of the numbers.
    """

    numbers: list[int]
    scores: list[float]
    mask: int
    scored: bool


@dataclass(frozen=True)
class Ranked:
    """A topic's matches among some papers: all as a mask, the best ``depth`` as sorted keys."""

    keys: list[RankKey]
    mask: int
    count: int


NO_MATCHES = Matches(numbers=[], scores=[], mask=0, scored=False)


@dataclass(frozen=True)
class Eligible:
    """Papers a topic may show: their document numbers, as a set and as a mask."""

    numbers: frozenset[int]
    mask: int


class TopicCache:
    """Topics parsed, and compiled where the pool's terms play no part, kept between runs.

    Parsing and compiling 18,000 topics costs more than searching with
    them; a long-running bot parses each topic once (``warm`` at start)
    instead of at every digest hour. A topic with a prefix (``segm*``)
    expands against each pool's own terms, so only its parse is kept.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, ParsedQuery] = {}
        self._scored: dict[str, bool] = {}
        self._compiled: dict[str, tantivy.Query] = {}

    def parsed(self, topic: str) -> ParsedQuery:
        found = self._parsed.get(topic)
        if found is None:
            found = self._parsed[topic] = parse_query(topic)
        return found

    def scored(self, topic: str) -> bool:
        """``parsed(topic).scored``, kept: it walks the clauses each time it is asked."""
        found = self._scored.get(topic)
        if found is None:
            found = self._scored[topic] = self.parsed(topic).scored
        return found

    def query(self, topic: str, index: SearchIndex, searcher: tantivy.Searcher) -> tantivy.Query:
        found = self._compiled.get(topic)
        if found is None:
            parsed = self.parsed(topic)
            found = compile_query(parsed, index.schema, searcher)
            if not any(isinstance(o, Word) and o.prefix for c in parsed.clauses for o in c.options):
                self._compiled[topic] = found
        return found

    def warm(self, topics: Iterable[str]) -> int:
        """Parse and compile ``topics`` ahead of a run; returns how many were new."""
        index = SearchIndex.in_memory()
        searcher = index.searcher()
        new = 0
        # Every parse is kept: the collector would scan them again and again.
        with paused_gc():
            for topic in topics:
                if topic not in self._parsed:
                    try:
                        self.query(topic, index, searcher)
                        self.scored(topic)
                    except QueryError:
                        continue  # stored before a grammar change; the digest run reports it
                    new += 1
        return new
