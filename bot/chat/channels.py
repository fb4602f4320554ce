"""Channels and the topics they follow: every change to a channel is made here.

``Channels`` is what the commands, the CLI and the runtime call to
subscribe, unsubscribe, schedule, limit, pause and resume; one transaction
each. A channel is addressed as ``<platform>:<workspace>/<channel>``
(``bot.model.address``). A topic is a query of the search language
(``bot.search.query``), stored in its canonical form, so the same topic typed twice
is one topic and an invalid topic is refused with the message search gives.
The module's functions take a ``Session`` (callers own the transaction);
``Channels`` opens its own. No other I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.chat.schedules import Schedule
from bot.errors import UserError
from bot.model.address import ChannelAddress, ChannelError, as_address
from bot.search.query import parse_query
from bot.store.channels import (
    DEFAULT_MAX_PAPERS,
    all_topics,
    channel_topics,
    find_channel,
    get_or_create_channel,
    pause,
    workspace_channels,
)
from bot.store.db import Database
from bot.store.models import Channel, Topic

__all__ = [
    "DEFAULT_MAX_PAPERS",
    "MAX_PAPERS_RANGE",
    "MAX_TOPICS",
    "ChannelInfo",
    "Channels",
    "SubscribeResult",
    "TopicLimitError",
    "parse_max_papers",
    "subscribe",
    "unsubscribe",
]

MAX_TOPICS = 25
MAX_PAPERS_RANGE = (1, 50)


class TopicLimitError(UserError, ValueError):
    """The channel already follows ``MAX_TOPICS`` topics."""


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel is set to, for replies."""

    address: ChannelAddress
    timezone: str
    digest_time: str
    cadence: str
    max_papers: int
    paused: bool
    paused_reason: str | None
    topics: tuple[str, ...]
    # When its last digest was posted; not part of what the scheduler compares.
    last_digest_at: datetime | None = field(default=None, compare=False)
    # Whether later versions and code releases are noted in posted papers' threads.
    thread_updates: bool = field(default=True, compare=False)

    @classmethod
    def of(
        cls, session: Session, channel: Channel, *, topics: Sequence[str] | None = None
    ) -> ChannelInfo:
        """``channel``'s settings; ``topics`` when already loaded, else read."""
        return cls(
            address=channel.address,
            timezone=channel.timezone,
            digest_time=channel.digest_time,
            cadence=channel.cadence,
            max_papers=channel.max_papers,
            paused=channel.paused,
            paused_reason=channel.paused_reason,
            topics=tuple(channel_topics(session, channel) if topics is None else topics),
            last_digest_at=channel.last_digest_at,
            thread_updates=channel.thread_updates is not False,
        )

    @property
    def schedule(self) -> str:
        return f"{self.cadence} at {self.digest_time} {self.timezone}"


@dataclass(frozen=True)
class SubscribeResult:
    topic: str  # canonical form
    added: bool  # False when the channel already followed it
    count: int  # topics the channel follows now


def parse_max_papers(text: str) -> int:
    """A digest size as typed, 1-50; ``ChannelError`` says what is wrong."""
    low, high = MAX_PAPERS_RANGE
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if not low <= value <= high:
        raise ChannelError(f"A digest can show {low} to {high} papers; got {text.strip()[:20]!r}.")
    return value


def _topic_count(session: Session, channel: Channel) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Topic).where(Topic.channel_id == channel.id))
        or 0
    )


def subscribe(session: Session, channel: Channel, text: str, *, now: datetime) -> SubscribeResult:
    """Follow ``text``; raises ``QueryError`` (invalid topic) or ``TopicLimitError``."""
    canonical = str(parse_query(text))
    existing = session.scalar(
        select(Topic).where(Topic.channel_id == channel.id, Topic.query == canonical)
    )
    count = _topic_count(session, channel)
    if existing is not None:
        return SubscribeResult(topic=canonical, added=False, count=count)
    if count >= MAX_TOPICS:
        raise TopicLimitError(
            f"{channel.address} already follows {MAX_TOPICS} topics, the most a channel can; "
            "unsubscribe from one first (list them with topics)."
        )
    session.add(Topic(channel_id=channel.id, query=canonical, created_at=now))
    session.flush()
    return SubscribeResult(topic=canonical, added=True, count=count + 1)


def unsubscribe(session: Session, channel: Channel, text: str) -> str | None:
    """Stop following ``text``, or topic number ``text`` as ``topics`` lists them
    (oldest first, from 1); returns the canonical topic removed, or None."""
    topic = None
    if text.strip().isdigit():
        listed = list(session.scalars(
            select(Topic).where(Topic.channel_id == channel.id).order_by(Topic.id)
        ))
        number = int(text.strip())
        topic = listed[number - 1] if 1 <= number <= len(listed) else None
    if topic is None:
        topic = session.scalar(select(Topic).where(
            Topic.channel_id == channel.id, Topic.query == str(parse_query(text))
        ))
    if topic is None:
        return None
    session.delete(topic)
    session.flush()
    return topic.query


Address = ChannelAddress | str


class Channels:
    """Reads and changes channels in one database; a channel is created on first change.

    ``on_topic`` hears every topic a channel takes up (digests parse it
    ahead, rather than at the digest hour).
    """

    def __init__(
        self,
        *,
        db: Database,
        clock: Callable[[], datetime],
        timezone: str = "UTC",
        digest_time: str = "09:00",
        on_topic: Callable[[str], object] = lambda topic: None,
    ) -> None:
        self.db = db
        self.clock = clock
        # Schedule defaults of a channel seen for the first time.
        self.timezone = timezone
        self.digest_time = digest_time
        self._on_topic = on_topic

    def _channel(self, session: Session, address: Address) -> Channel:
        return get_or_create_channel(
            session, as_address(address), timezone=self.timezone,
            digest_time=self.digest_time, now=self.clock(),
        )

    def subscribe(self, address: Address, topic: str) -> SubscribeResult:
        """``address`` follows ``topic``; raises ``QueryError`` or ``TopicLimitError``."""
        with self.db.session() as session:
            result = subscribe(session, self._channel(session, address), topic, now=self.clock())
        self._on_topic(result.topic)
        return result

    def unsubscribe(self, address: Address, topic: str) -> str | None:
        """Stop following ``topic``; the canonical topic removed, or None."""
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return unsubscribe(session, channel, topic) if channel else None

    def topics(self, address: Address) -> list[str]:
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return channel_topics(session, channel) if channel else []

    def info(self, address: Address) -> ChannelInfo | None:
        """What the channel is set to; None for a channel never changed."""
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return ChannelInfo.of(session, channel) if channel else None

    def set_schedule(self, address: Address, schedule: Schedule) -> ChannelInfo:
        """Change when ``address`` gets its digest; parts left None are kept.

        A new schedule counts from now: when its time is still to come today,
        today's digest comes then, even if the old schedule's digest of the
        day was already posted (a digest asked for by hand never counts).
        """
        with self.db.session() as session:
            channel = self._channel(session, address)
            before = (channel.digest_time, channel.timezone, channel.cadence)
            channel.digest_time = schedule.time
            if schedule.timezone:
                channel.timezone = schedule.timezone
            if schedule.cadence:
                channel.cadence = schedule.cadence
            if (channel.digest_time, channel.timezone, channel.cadence) != before:
                channel.last_scheduled_on = None
            return ChannelInfo.of(session, channel)

    def set_max_papers(self, address: Address, count: int) -> ChannelInfo:
        """Show at most ``count`` papers in ``address``'s digests; the rest go in the footer."""
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.max_papers = count
            return ChannelInfo.of(session, channel)

    def set_thread_updates(self, address: Address, on: bool) -> ChannelInfo:
        """Note (or not) a posted paper's later versions and code in its message's thread."""
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.thread_updates = on
            return ChannelInfo.of(session, channel)

    def pause(self, address: Address, *, reason: str) -> ChannelInfo:
        """Stop ``address``'s digests until ``resume``; papers keep accumulating."""
        # As typed, it may hold what no database stores (a lone surrogate).
        reason = reason.encode("utf-8", "replace").decode("utf-8")
        with self.db.session() as session:
            channel = self._channel(session, address)
            pause([channel], reason=reason)
            return ChannelInfo.of(session, channel)

    def resume(self, address: Address) -> ChannelInfo:
        with self.db.session() as session:
            channel = self._channel(session, address)
            pause([channel], reason=None)
            return ChannelInfo.of(session, channel)

    def pause_workspace(self, platform: str, workspace: str, *, reason: str) -> int:
        """Pause every channel of a workspace (the app was uninstalled); returns how many."""
        with self.db.session() as session:
            return pause(workspace_channels(session, platform, workspace), reason=reason)

    def all(self) -> list[ChannelInfo]:
        """Every channel, in the order they were first seen."""
        with self.db.session() as session:
            topics = all_topics(session)
            channels = session.scalars(select(Channel).order_by(Channel.id))
            return [ChannelInfo.of(session, c, topics=topics.get(c.id, [])) for c in channels]

    def scheduled(self) -> list[ChannelInfo]:
        """Channels whose digests the scheduler runs: not paused, with topics."""
        with self.db.session() as session:
            topics = all_topics(session)
            channels = session.scalars(
                select(Channel).where(Channel.paused.is_(False)).order_by(Channel.id)
            )
            return [
                ChannelInfo.of(session, c, topics=topics[c.id]) for c in channels if topics.get(c.id)
            ]
