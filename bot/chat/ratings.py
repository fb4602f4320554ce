"""What people in a channel say of papers: relevant (+1) or not for us (-1).

``Ratings.rate`` records one person's vote on one paper for one channel: a
click on a digest's 👍 / 👎 buttons, ``/papers more ID`` / ``less ID``, or
``digestbot feedback CHANNEL ID up|down``. One vote per (channel, paper,
person): the same click again changes nothing and says so, the other
click replaces it. A paper the channel was never sent may be rated (it is
a signal all the same); the answer says so. A flood of clicks (more than
``FAST_VOTES`` a minute from one person) is recorded vote by vote, so the
latest opinion stands, but the channel's taste learns from them once, before
its next digest, rather than at each click. Votes belong to their channel:
nothing here reads another channel's. One transaction each; no other I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.digest.ledger import SENT
from bot.errors import UserError
from bot.model.address import ChannelAddress, as_address
from bot.store.channels import find_channel, get_or_create_channel
from bot.store.db import Database
from bot.store.models import Delivery, Paper, Rating

__all__ = ["DOWN", "FAST_VOTES", "UP", "Rated", "Ratings", "UnknownPaper", "parse_vote"]

UP, DOWN = 1, -1
# Votes a person may give in a channel in a minute before their taste is
# learned again only before the next digest (each vote is still recorded).
FAST_VOTES = 30
_MINUTE = timedelta(minutes=1)
_PEOPLE_KEPT = 10_000
_VOTES = {"up": UP, "+1": UP, "+": UP, "more": UP, "down": DOWN, "-1": DOWN, "-": DOWN,
          "less": DOWN}


class UnknownPaper(UserError, LookupError):
    """A vote on a paper id the catalog does not hold."""


def parse_vote(text: str) -> int:
    """``up`` / ``down`` (or ``+1`` / ``-1``, ``more`` / ``less``) as +1 / -1."""
    vote = _VOTES.get(text.strip().lower())
    if vote is None:
        raise UserError(f"Say up or down, not {text.strip()[:20]!r}.")
    return vote


@dataclass(frozen=True)
class Rated:
    """What became of one vote: on the paper ``title``, ``vote`` as it now stands."""

    paper_id: str
    title: str
    vote: int
    previous: int | None  # the person's vote before this one, None if none
    delivered: bool  # the channel was sent the paper
    fast: bool = False  # one of many votes in a minute: the ranking takes it in later

    @property
    def changed(self) -> bool:
        return self.previous != self.vote

    def line(self) -> str:
        """The answer for whoever voted."""
        what = "more" if self.vote == UP else "fewer"
        title = self.title if len(self.title) <= 80 else self.title[:79] + "…"
        if not self.changed:
            head = "Already noted"
        elif self.previous is None:
            head = "Noted"
        else:
            head = "Changed"
        line = f"{head}: {what} papers like “{title}” in this channel's digests."
        if not self.delivered:
            line += " (Its digests never showed this paper; the vote counts all the same.)"
        if self.fast and self.changed:
            line += (f" (More than {FAST_VOTES} votes in a minute: each is kept, and the "
                     "ranking takes them in before the next digest.)")
        return line


class Ratings:
    """Reads and records votes in one database; a channel is created on its first vote."""

    def __init__(
        self, *, db: Database, clock: Callable[[], datetime], timezone: str = "UTC",
        digest_time: str = "09:00", on_vote: Callable[[int], object] | None = None,
        on_vote_later: Callable[[int], object] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        # Called with the channel's id once a vote is committed (its taste
        # learns), or, for a person voting faster than ``FAST_VOTES`` a
        # minute, ``on_vote_later`` (it learns before the next digest).
        self.on_vote = on_vote
        self.on_vote_later = on_vote_later
        self._recent: dict[tuple[int, str], deque[datetime]] = {}
        self.timezone = timezone
        self.digest_time = digest_time

    def rate(self, address: ChannelAddress | str, paper_id: str, user: str, vote: int) -> Rated:
        """``user`` in ``address`` says ``vote`` (``UP`` or ``DOWN``) of ``paper_id``."""
        if vote not in (UP, DOWN):
            raise ValueError(f"a vote is {UP} or {DOWN}, not {vote!r}")
        now = self.clock()
        with self.db.session() as session:
            title = session.scalar(select(Paper.title).where(Paper.id == paper_id))
            if title is None:
                raise UnknownPaper(f"No paper with id {paper_id[:40]}. "
                                   "Find ids with /papers search WORDS.")
            channel = get_or_create_channel(session, as_address(address), timezone=self.timezone,
                                            digest_time=self.digest_time, now=now)
            row = session.scalar(select(Rating).where(
                Rating.channel_id == channel.id, Rating.paper_id == paper_id,
                Rating.user_id == user))
            previous = row.vote if row is not None else None
            if row is None:
                session.add(Rating(channel_id=channel.id, paper_id=paper_id, user_id=user,
                                   vote=vote, created_at=now, updated_at=now))
            elif row.vote != vote:
                row.vote, row.updated_at = vote, now
            delivered = session.scalar(select(Delivery.id).where(
                Delivery.channel_id == channel.id, Delivery.paper_id == paper_id,
                Delivery.status == SENT).limit(1)) is not None
            channel_id = channel.id
        fast = self._fast(channel_id, user, now)
        if previous != vote:
            learn = self.on_vote_later if fast else self.on_vote
            if learn is not None:
                learn(channel_id)
        return Rated(paper_id=paper_id, title=title, vote=vote, previous=previous,
                     delivered=delivered, fast=fast)

    def _fast(self, channel_id: int, user: str, now: datetime) -> bool:
        """True when ``user`` voted ``FAST_VOTES`` times in the last minute in the channel."""
        key = (channel_id, user)
        recent = self._recent.get(key)
        if recent is None:
            if len(self._recent) > _PEOPLE_KEPT:  # forget the people no longer voting
                self._recent = {k: q for k, q in self._recent.items()
                                if q and now - q[-1] < _MINUTE}
            recent = self._recent[key] = deque()
        while recent and now - recent[0] >= _MINUTE:
            recent.popleft()
        recent.append(now)
        return len(recent) > FAST_VOTES

    def votes(self, address: ChannelAddress | str) -> dict[str, int]:
        """The channel's votes by paper: the sum of its people's (+1 each up, -1 each down)."""
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            if channel is None:
                return {}
            rows = session.execute(
                select(Rating.paper_id, func.sum(Rating.vote))
                .where(Rating.channel_id == channel.id).group_by(Rating.paper_id)
            )
            return {paper_id: int(total) for paper_id, total in rows}
