"""Counting what a fault did: papers posted, lost and duplicated.

``posted`` is what the platform showed (the fake's record of the messages it
accepted, by paper id), ``duplicated`` the papers it showed more than once,
``lost`` the papers that should have been shown and were not. ``waiting``
are the papers the delivery ledger still holds for the channel (``pending``
or ``failed``: offered again by its next digest), so a paused channel's
papers are kept, not lost, until it is resumed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from bot.chat.service import Service
from bot.config import Settings
from bot.model.address import as_address
from bot.store.models import Channel, Delivery

__all__ = ["ChannelState", "Tally", "channel_state", "tally"]


@dataclass(frozen=True)
class Tally:
    posted: int
    lost: int
    duplicated: int
    waiting: int = 0

    def __str__(self) -> str:
        return (f"posted={self.posted} lost={self.lost} duplicated={self.duplicated} "
                f"waiting={self.waiting}")


@dataclass(frozen=True)
class ChannelState:
    """The ledger's view of one channel: each paper's status, and its pause."""

    statuses: dict[str, str]
    paused: bool
    reason: str | None

    def waiting(self) -> set[str]:
        return {i for i, status in self.statuses.items() if status in ("pending", "failed")}


def channel_state(settings: Settings, address: str) -> ChannelState:
    where = as_address(address)
    service = Service.open(settings)
    try:
        with service.db.session() as session:
            channel = session.scalars(select(Channel).where(
                Channel.platform == where.platform, Channel.workspace == where.workspace,
                Channel.channel == where.channel)).one()
            rows = session.execute(select(Delivery.paper_id, Delivery.status)
                                   .where(Delivery.channel_id == channel.id)).all()
            return ChannelState(statuses={p: s for p, s in rows}, paused=channel.paused,
                                reason=channel.paused_reason)
    finally:
        service.close()


def tally(expected: Iterable[str], shown: Counter[str], *, waiting: Iterable[str] = ()) -> Tally:
    """What became of the ``expected`` papers, given how often each was ``shown``."""
    wanted = set(expected)
    held = set(waiting) - set(shown)
    return Tally(
        posted=sum(1 for i in shown if i in wanted),
        lost=len(wanted - set(shown) - held),
        duplicated=sum(1 for i, n in shown.items() if n > 1),
        waiting=len(held & wanted),
    )
