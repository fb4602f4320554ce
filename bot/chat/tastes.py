"""Each channel's taste, kept in the ``tastes`` table and learned again on every vote.

``Tastes.learn`` reads a channel's votes since its last reset (the latest
``MAX_VOTES`` papers), computes the papers' features and learns the taste
(``bot.digest.taste.learn``), weighing each feature by its share of the
catalog (the search index's document frequencies). It runs after each vote
is committed: a click changes the channel's ranking at once, well inside
a second (about 20 ms for 300 voted papers). Digest selection reads
the stored rows (``bot.digest.select``): no learning there. ``reset`` forgets what
the votes taught (they stay recorded). A channel's taste reads only its
own votes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.digest.taste import MIN_VOTES, Taste, Vote, learn, words_of
from bot.model.address import ChannelAddress, as_address
from bot.search.index import SearchIndex, name_terms
from bot.store.catalog import get_papers
from bot.store.channels import find_channel
from bot.store.db import Database
from bot.store.models import Channel, Rating
from bot.store.models import Taste as TasteRow

__all__ = ["MAX_VOTES", "TasteReport", "Tastes"]

log = logging.getLogger(__name__)

# The papers a taste learns from at most: the channel's latest votes.
MAX_VOTES = 300


@dataclass(frozen=True)
class TasteReport:
    """A channel's taste as ``/papers taste`` tells it."""

    channel: str
    taste: Taste
    votes: int  # votes recorded since the last reset (people x papers)

    def lines(self, *, count: int = 8) -> list[str]:
        taste = self.taste
        rests = (f"{taste.liked} paper{'s' if taste.liked != 1 else ''} liked and "
                 f"{taste.disliked} not")
        if not taste.acts:
            why = taste.idle or "nothing learned yet"
            return [(f"This channel's digests rank by its topics alone: {why} "
                    f"({rests}). Vote with 👍 / 👎 under a digest's papers, or /papers more ID "
                    "and /papers less ID.")]
        pro, con = taste.explain(count=count)
        lines = [f"What this channel's votes taught its digests, from {rests}:"]
        if pro:
            lines.append("More of: " + ", ".join(_shown(f, taste) for f, _ in pro) + ".")
        if con:
            lines.append("Less of: " + ", ".join(_shown(f, taste) for f, _ in con) + ".")
        if not taste.disliked:
            lines.append("No paper was voted down yet, so papers are compared with the "
                         "catalog as a whole.")
        lines.append("Digests rank topic matches by these, may leave out a match the votes "
                     "speak against, and may add 2 papers no topic matches. "
                     "/papers taste reset forgets it.")
        return lines


def _shown(feature: str, taste: Taste) -> str:
    if feature.startswith("@"):
        return f"papers by {taste.word(feature)}"
    return f"“{taste.word(feature)}”"


class Tastes:
    """Learns, stores and tells channels' tastes, against one database and its index."""

    def __init__(self, *, db: Database, index: SearchIndex, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.index = index
        self.clock = clock
        # Channels voted on too fast to learn at each click (``Ratings``).
        self._stale: set[int] = set()
        self._stale_lock = threading.Lock()

    def learn_later(self, channel_id: int) -> None:
        """Learn ``channel_id``'s taste before its next digest (``catch_up``)."""
        with self._stale_lock:
            self._stale.add(channel_id)

    def catch_up(self) -> int:
        """Learn the tastes ``learn_later`` left; returns how many."""
        with self._stale_lock:
            stale, self._stale = self._stale, set()
        for channel_id in sorted(stale):
            self.learn(channel_id)
        return len(stale)

    def learn(self, channel_id: int) -> Taste:
        """Learn ``channel_id``'s taste again from its votes, and store it."""
        with self._stale_lock:
            self._stale.discard(channel_id)
        now = self.clock()
        with self.db.session() as session:
            row = session.get(TasteRow, channel_id)
            since = row.votes_since if row is not None else None
            votes = self._votes(session, channel_id, since)
            taste = learn(votes, self._share())
            if row is None:
                row = TasteRow(channel_id=channel_id, votes_since=None, words={})
                session.add(row)
            row.weights = dict(taste.weights)
            row.words = {f: [taste.word(f), taste.support.get(f, 1)] for f in taste.weights}
            row.liked, row.disliked, row.idle = taste.liked, taste.disliked, taste.idle
            row.updated_at = now
        return taste

    def report(self, address: ChannelAddress | str) -> TasteReport:
        """What ``address``'s votes taught its ranking (learned again: never stale)."""
        address = as_address(address)
        with self.db.session() as session:
            channel = find_channel(session, address)
        if channel is None:
            return TasteReport(str(address), Taste({}, 0, 0, idle=_NO_VOTES), 0)
        taste = self.learn(channel.id)
        with self.db.session() as session:
            votes = self._count(session, channel)
        return TasteReport(str(address), taste, votes)

    def reset(self, address: ChannelAddress | str) -> int:
        """Forget what ``address``'s votes taught; returns the votes it had learned from."""
        now = self.clock()
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            if channel is None:
                return 0
            counted = self._count(session, channel)
            row = session.get(TasteRow, channel.id)
            if row is None:
                row = TasteRow(channel_id=channel.id)
                session.add(row)
            row.weights, row.words, row.liked, row.disliked = {}, {}, 0, 0
            row.idle = f"it was reset; it rests on 0 of the {MIN_VOTES} votes it needs"
            row.votes_since, row.updated_at = now, now
        log.info("taste reset channel=%s votes=%d", address, counted)
        return counted

    def _count(self, session: Session, channel: Channel) -> int:
        row = session.get(TasteRow, channel.id)
        query = select(func.count()).select_from(Rating).where(Rating.channel_id == channel.id)
        if row is not None and row.votes_since is not None:
            query = query.where(Rating.updated_at > row.votes_since)
        return int(session.scalar(query) or 0)

    def _votes(self, session: Session, channel_id: int, since: datetime | None) -> list[Vote]:
        query = (
            select(Rating.paper_id, func.sum(Rating.vote), func.max(Rating.updated_at))
            .where(Rating.channel_id == channel_id)
            .group_by(Rating.paper_id)
            .order_by(func.max(Rating.updated_at).desc(), Rating.paper_id)
            .limit(MAX_VOTES)
        )
        if since is not None:
            query = query.where(Rating.updated_at > since)
        totals = {paper_id: int(total) for paper_id, total, _ in session.execute(query)}
        papers = get_papers(session, sorted(totals))
        return [Vote(paper_id, total, words_of(papers[paper_id]))
                for paper_id, total in sorted(totals.items()) if paper_id in papers and total]

    def _share(self) -> Callable[[str], float]:
        searcher = self.index.searcher()
        total = max(int(searcher.num_docs), 1)

        def share(feature: str) -> float:
            if feature.startswith("@"):
                tokens = name_terms(feature[1:])
                if not tokens:
                    return 0.0
                return min(searcher.doc_freq("authors", t) for t in tokens) / total
            return max(searcher.doc_freq("title", feature),
                       searcher.doc_freq("abstract", feature)) / total

        return share


_NO_VOTES = f"it rests on 0 of the {MIN_VOTES} votes it needs"
