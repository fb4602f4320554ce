"""A channel's reading list: the papers its people saved, and who has read them.

``ReadingList.save`` puts a paper on the channel's list (a digest's Save
button, ``/papers save ID``), once: saving it again says who saved it and
when. ``mark_read`` records that one person read it (``/papers read ID``),
once a person. ``entries`` is the list, newest first, with who saved each
and who read it, for ``/papers saved`` and ``digestbot saved CHANNEL
--format bibtex|ris|csv`` (``bot.chat.citations``). Lists belong to their
channel: nothing here reads another channel's. One transaction each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.chat.ratings import UnknownPaper
from bot.errors import UserError
from bot.model.address import ChannelAddress, as_address
from bot.store.catalog import record_from_row
from bot.store.channels import find_channel, get_or_create_channel
from bot.store.db import Database
from bot.store.models import Paper, PaperRead, SavedPaper
from bot.chat.citations import Cited

__all__ = ["NotSaved", "ReadingList", "Saved", "short_title"]

# The most a reading list shows in chat; the CLI export has every paper.
SHOWN = 20


class NotSaved(UserError, LookupError):
    """``read`` of a paper that is not on the channel's list."""


@dataclass(frozen=True)
class Saved:
    """What ``save`` did: ``new`` False when it was on the list already (by ``saved_by``)."""

    paper_id: str
    title: str
    new: bool
    saved_by: str
    saved_at: datetime

    def line(self, *, zone_date: Callable[[datetime], str]) -> str:
        title = short_title(self.title)
        if self.new:
            return f"Saved “{title}” to this channel's reading list (/papers saved shows it)."
        return (f"“{title}” is on this channel's reading list already: saved by "
                f"{self.saved_by} on {zone_date(self.saved_at)}.")


def short_title(title: str, limit: int = 80) -> str:
    """``title`` cut to ``limit`` characters with an ellipsis, for one-line answers."""
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _who(user_id: str, name: str) -> str:
    return name or user_id


class ReadingList:
    """Reads and writes reading lists in one database; a channel is created on its first save."""

    def __init__(self, *, db: Database, clock: Callable[[], datetime], timezone: str = "UTC",
                 digest_time: str = "09:00") -> None:
        self.db = db
        self.clock = clock
        self.timezone = timezone
        self.digest_time = digest_time

    def save(self, address: ChannelAddress | str, paper_id: str, user_id: str,
             user_name: str = "") -> Saved:
        address = as_address(address)
        now = self.clock()
        for attempt in range(2):
            try:
                with self.db.session() as session:
                    paper = session.get(Paper, paper_id)
                    if paper is None:
                        raise UnknownPaper(f"No paper with id {paper_id[:40]}. "
                                           "Find ids with /papers search WORDS.")
                    channel = get_or_create_channel(session, address, timezone=self.timezone,
                                                    digest_time=self.digest_time, now=now)
                    row = session.scalar(select(SavedPaper).where(
                        SavedPaper.channel_id == channel.id, SavedPaper.paper_id == paper_id))
                    if row is not None:
                        return Saved(paper_id, paper.title, False,
                                     _who(row.saved_by, row.saved_by_name), row.saved_at)
                    session.add(SavedPaper(channel_id=channel.id, paper_id=paper_id,
                                           saved_by=user_id, saved_by_name=user_name,
                                           saved_at=now))
                    session.commit()
                    return Saved(paper_id, paper.title, True, _who(user_id, user_name), now)
            except IntegrityError:
                if attempt:  # two clicks at once: the other one saved it
                    raise
        raise AssertionError("unreachable")

    def mark_read(self, address: ChannelAddress | str, paper_id: str, user_id: str,
                  user_name: str = "") -> tuple[str, bool]:
        """Marks it read for ``user_id``: (the paper's title, whether it was new)."""
        address = as_address(address)
        with self.db.session() as session:
            channel = find_channel(session, address)
            row = None if channel is None else session.scalar(select(SavedPaper).where(
                SavedPaper.channel_id == channel.id, SavedPaper.paper_id == paper_id))
            if row is None:
                raise NotSaved(f"{paper_id} is not on this channel's reading list: "
                               f"/papers save {paper_id} adds it.")
            title = session.get(Paper, paper_id).title  # type: ignore[union-attr]
            done = session.scalar(select(PaperRead.id).where(
                PaperRead.saved_id == row.id, PaperRead.user_id == user_id))
            if done is not None:
                return title, False
            session.add(PaperRead(saved_id=row.id, user_id=user_id, user_name=user_name,
                                  read_at=self.clock()))
            try:
                session.commit()
            except IntegrityError:  # the same click twice at once
                return title, False
            return title, True

    def entries(self, address: ChannelAddress | str, *, limit: int | None = None) -> list[Cited]:
        """The channel's list, newest first (ties: by id), each with who saved and who read."""
        address = as_address(address)
        with self.db.session() as session:
            channel = find_channel(session, address)
            if channel is None:
                return []
            query = (select(SavedPaper, Paper).join(Paper, Paper.id == SavedPaper.paper_id)
                     .where(SavedPaper.channel_id == channel.id)
                     .order_by(SavedPaper.saved_at.desc(), SavedPaper.id.desc()))
            if limit is not None:
                query = query.limit(limit)
            rows = session.execute(query).all()
            readers: dict[int, list[str]] = defaultdict(list)
            ids = [saved.id for saved, _ in rows]
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                for saved_id, user_id, name in session.execute(
                    select(PaperRead.saved_id, PaperRead.user_id, PaperRead.user_name)
                    .where(PaperRead.saved_id.in_(chunk)).order_by(PaperRead.read_at, PaperRead.id)
                ):
                    readers[saved_id].append(_who(user_id, name))
            return [Cited(record=record_from_row(paper), saved_by=_who(saved.saved_by,
                                                                        saved.saved_by_name),
                          saved_at=saved.saved_at, read_by=tuple(readers[saved.id]))
                    for saved, paper in rows]

    def count(self, address: ChannelAddress | str) -> int:
        address = as_address(address)
        with self.db.session() as session:
            channel = find_channel(session, address)
            if channel is None:
                return 0
            return session.scalar(select(func.count()).select_from(SavedPaper).where(
                SavedPaper.channel_id == channel.id)) or 0
