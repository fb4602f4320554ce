"""Channels and the topics they follow.

A channel is addressed as ``<platform>:<workspace>/<channel>``
(``bot.model.address``). A topic is a query of the search language
(``bot.search.query``), stored in its canonical form, so the same topic typed twice
is one topic and an invalid topic is refused with the message search gives.
Functions take a ``Session``; callers own the transaction. No other I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.search.query import parse_query
from bot.model.address import ChannelError
from bot.store.channels import DEFAULT_MAX_PAPERS, channel_topics
from bot.store.models import Channel, Topic

__all__ = [
    "DEFAULT_MAX_PAPERS",
    "MAX_PAPERS_RANGE",
    "MAX_TOPICS",
    "ChannelInfo",
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

    address: str
    timezone: str
    digest_time: str
    cadence: str
    max_papers: int
    paused: bool
    paused_reason: str | None
    topics: tuple[str, ...]

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
    """Stop following ``text``; returns the canonical topic removed, or None."""
    canonical = str(parse_query(text))
    topic = session.scalar(
        select(Topic).where(Topic.channel_id == channel.id, Topic.query == canonical)
    )
    if topic is None:
        return None
    session.delete(topic)
    session.flush()
    return canonical
