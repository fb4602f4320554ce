"""Channel and topic rows: lookups shared by the channel commands, digests and transfers.

Functions take a ``Session``; callers own the transaction. No other I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.model.address import ChannelAddress
from bot.store.models import Channel, Topic

__all__ = [
    "DEFAULT_MAX_PAPERS",
    "all_topics",
    "channel_topic_times",
    "channel_topics",
    "find_channel",
    "get_or_create_channel",
    "pause",
    "workspace_channels",
]

# Papers a digest shows at most, before its "N more matched" footer.
DEFAULT_MAX_PAPERS = 10


def find_channel(session: Session, address: ChannelAddress) -> Channel | None:
    return session.scalar(
        select(Channel).where(
            Channel.platform == address.platform,
            Channel.workspace == address.workspace,
            Channel.channel == address.channel,
        )
    )


def get_or_create_channel(
    session: Session, address: ChannelAddress, *, timezone: str, digest_time: str, now: datetime
) -> Channel:
    """The channel at ``address``, created with the given defaults when new."""
    channel = find_channel(session, address)
    if channel is None:
        channel = Channel(
            platform=address.platform,
            workspace=address.workspace,
            channel=address.channel,
            timezone=timezone,
            digest_time=digest_time,
            cadence="daily",
            max_papers=DEFAULT_MAX_PAPERS,
            paused=False,
            created_at=now,
        )
        session.add(channel)
        session.flush()
    return channel


def all_topics(session: Session) -> dict[int, list[str]]:
    """Every channel's topics by channel id, oldest first, in one query."""
    found: dict[int, list[str]] = {}
    for channel_id, query in session.execute(
        select(Topic.channel_id, Topic.query).order_by(Topic.id)
    ):
        found.setdefault(channel_id, []).append(query)
    return found


def channel_topics(session: Session, channel: Channel) -> list[str]:
    """The channel's topics, oldest first."""
    return list(
        session.scalars(
            select(Topic.query).where(Topic.channel_id == channel.id).order_by(Topic.id)
        )
    )


def channel_topic_times(session: Session, channel: Channel) -> list[datetime]:
    """When the channel took up each of its topics, oldest first."""
    return list(
        session.scalars(
            select(Topic.created_at).where(Topic.channel_id == channel.id).order_by(Topic.id)
        )
    )


def workspace_channels(session: Session, platform: str, workspace: str) -> list[Channel]:
    """Every channel of one workspace (one token, one installation)."""
    return list(session.scalars(
        select(Channel).where(Channel.platform == platform, Channel.workspace == workspace)
    ))


def pause(channels: Iterable[Channel], *, reason: str | None) -> int:
    """Pause ``channels`` with ``reason`` shown to the channel (None resumes them).

    A paused channel gets no digests; its papers keep accumulating in the
    catalog and wait for it. Returns how many channels were set.
    """
    count = 0
    for channel in channels:
        channel.paused = reason is not None
        channel.paused_reason = reason
        count += 1
    return count
