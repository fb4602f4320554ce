"""The delivery ledger: which papers were shown to which channel, and how far that got.

The ledger makes delivery at-least-once and never twice once a send is
confirmed: ``claim`` records the shown papers as ``pending`` before sending
and moves the channel's window (``advance``), ``confirm`` marks them
``sent`` (a digest's papers message by message, as the platform accepts
each, with the message that showed them when the adapter names it),
``fail`` marks them ``failed``; a process that dies between claim
and confirm leaves them ``pending`` for the next run (``has_pending``,
``interrupted_channels``). Under PostgreSQL's row lock (``bot.digest.locks``)
the lock is the claim, and ``mark_pending``, committed on its own just
before the send, leaves the same trace.
Functions take a ``Session``; callers own the transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, insert, select, update
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.model.address import MessageRef
from bot.store.models import Channel, Delivery

__all__ = [
    "CHUNK",
    "FAILED",
    "PENDING",
    "SENT",
    "DigestInProgress",
    "Shown",
    "advance",
    "chunked",
    "claim",
    "confirm",
    "fail",
    "has_pending",
    "interrupted_channels",
    "mark_pending",
    "message_of",
]

PENDING, SENT, FAILED = "pending", "sent", "failed"

# SQLite allows 32,766 bound parameters per statement; stay well below.
CHUNK = 5000


class DigestInProgress(UserError):
    """A digest was asked for a channel that one is being posted to right now."""


class Shown(Protocol):
    """What ``claim`` records of a digest (a ``bot.digest.select.Selection``)."""

    @property
    def paper_ids(self) -> tuple[str, ...]:
        """The papers shown, in order."""

    @property
    def revision(self) -> int:
        """The catalog revision the selection read up to: the channel's window moves there."""


def chunked(items: Sequence[object], size: int = CHUNK) -> Iterable[Sequence[object]]:
    """``items`` in slices small enough to bind in one ``IN (...)``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def claim(
    session: Session, claims: Sequence[tuple[Channel, Shown]], *, now: datetime
) -> None:
    """Record each selection's papers as ``pending`` and move its channel's window.

    Written in bulk: one read of the rows being retried, one insert of the
    new rows, one update of the retried ones, whatever the number of channels.
    """
    by_channel = {channel.id: selection for channel, selection in claims}
    retried: list[dict[str, object]] = []
    known: set[tuple[int, str]] = set()
    for chunk in chunked(list(by_channel)):
        rows = session.execute(
            select(Delivery.id, Delivery.channel_id, Delivery.paper_id, Delivery.attempts)
            .where(Delivery.channel_id.in_(chunk), Delivery.status.in_((PENDING, FAILED)))
            .with_for_update()  # PostgreSQL: row locks until the claim commits
        )
        for row in rows:
            if row.paper_id in by_channel[row.channel_id].paper_ids:
                known.add((row.channel_id, row.paper_id))
                retried.append({"id": row.id, "status": PENDING, "attempts": row.attempts + 1})
    new = [
        {"channel_id": channel_id, "paper_id": paper_id, "status": PENDING, "attempts": 1,
         "created_at": now}
        for channel_id, selection in by_channel.items()
        for paper_id in selection.paper_ids
        if (channel_id, paper_id) not in known
    ]
    if new:
        session.execute(insert(Delivery), new)
    if retried:
        session.execute(update(Delivery), retried)
    for channel, selection in claims:
        advance(channel, now=now, revision=selection.revision)
    session.flush()


def advance(channel: Channel, *, now: datetime, revision: int) -> None:
    """Move the channel's window: its next digest takes papers entered after ``revision``."""
    channel.last_digest_at = now
    channel.last_revision = revision


def has_pending(session: Session, channel_id: int) -> bool:
    """True when a digest of the channel was claimed and neither confirmed nor failed."""
    found = session.scalar(
        select(Delivery.id).where(Delivery.channel_id == channel_id, Delivery.status == PENDING).limit(1)
    )
    return found is not None


def interrupted_channels(session: Session) -> list[str]:
    """Unpaused channels with ``pending`` papers: a process died while posting to them."""
    channels = session.scalars(
        select(Channel)
        .where(Channel.paused.is_(False))
        .where(Channel.id.in_(select(Delivery.channel_id).where(Delivery.status == PENDING)))
        .order_by(Channel.id)
    )
    return [channel.address for channel in channels]


def confirm(
    session: Session, channel_id: int, paper_ids: Sequence[str], *, now: datetime,
    ref: MessageRef | None = None,
) -> None:
    """The platform accepted the digest (or one of its messages): these papers are ``sent`` for good.

    ``ref`` is the message that showed them, when the adapter said which.
    Papers with no row yet (PostgreSQL's row lock claims none ahead) get one.
    """
    message = {} if ref is None else {
        "message_channel": ref.channel, "message_id": ref.id, "message_link": ref.link}
    _record(session, channel_id, paper_ids, now=now, status=SENT, sent_at=now, error=None,
            **message)


def message_of(delivery: Delivery) -> MessageRef | None:
    """The message that showed a delivered paper (None: not known)."""
    if delivery.message_channel is None or delivery.message_id is None:
        return None
    return MessageRef(channel=delivery.message_channel, id=delivery.message_id,
                      link=delivery.message_link)


def mark_pending(session: Session, channel_id: int, paper_ids: Sequence[str], *, now: datetime) -> None:
    """A post is about to show these papers: ``pending`` until it is confirmed or failed.

    For PostgreSQL's row lock, whose claim writes no rows: committed apart,
    this is what a post that dies leaves behind (see ``bot.digest.select``'s
    ``maybe_posted``).
    """
    _record(session, channel_id, paper_ids, now=now, status=PENDING)


def fail(
    session: Session, channel_id: int, paper_ids: Sequence[str], *, error: str, now: datetime,
) -> None:
    """The send failed: the papers are offered again by the channel's next digest."""
    _record(session, channel_id, paper_ids, now=now, status=FAILED, error=error[:1000])


def _record(
    session: Session, channel_id: int, paper_ids: Sequence[str], *, now: datetime,
    **values: object,
) -> None:
    """Set ``values`` on the channel's rows of ``paper_ids``, adding the rows missing.

    A ``failed`` row was not claimed again (PostgreSQL's row lock claims
    none ahead): this is one more attempt.
    """
    known: set[str] = set()
    attempts = case((Delivery.status == FAILED, Delivery.attempts + 1), else_=Delivery.attempts)
    for chunk in chunked(list(paper_ids)):
        session.execute(
            update(Delivery)
            .where(Delivery.channel_id == channel_id, Delivery.paper_id.in_(chunk))
            .values(attempts=attempts, **values)
        )
        known.update(session.scalars(
            select(Delivery.paper_id)
            .where(Delivery.channel_id == channel_id, Delivery.paper_id.in_(chunk))
        ))
    missing = [i for i in dict.fromkeys(paper_ids) if i not in known]
    if missing:
        session.execute(insert(Delivery), [
            {"channel_id": channel_id, "paper_id": paper_id, "attempts": 1,
             "created_at": now, **values}
            for paper_id in missing
        ])
