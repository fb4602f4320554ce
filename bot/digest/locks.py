"""How a delivery run claims a channel's digest, and confirms or releases it: one strategy per engine.

The delivery loop (``bot.digest.deliver``) plans a batch of channels
(``Planned``), then holds each one around its send (``Held``) through a
``LockStrategy``: ``CommittedPending`` on SQLite (the batch's claims
committed as ``pending`` before any send), ``RowLock`` on PostgreSQL (each
channel posted inside a transaction holding its row lock from claim to
confirmation), and ``DryRun``, which records nothing. ``lock_for`` picks the
run's. The writes themselves are the ledger's (``bot.digest.ledger``); this
module owns when, and in which transaction, they happen, and the "one
scheduled digest a local day" mark on the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.digest.ledger import (
    DigestInProgress,
    advance,
    claim,
    confirm,
    fail,
    has_pending,
    mark_pending,
)
from bot.digest.select import Selection
from bot.digest.sending import ChannelUnavailable, WorkspaceUnavailable
from bot.model.address import ChannelAddress, MessageRef
from bot.store.catalog import current_revision
from bot.store.channels import pause, workspace_channels
from bot.store.db import Database
from bot.store.models import Channel

__all__ = [
    "IN_PROGRESS", "CommittedPending", "DryRun", "Held", "LockStrategy", "Planned", "RowLock",
    "lock_for",
]

IN_PROGRESS = "A digest is being posted to this channel right now; it will show what is new."


@dataclass(frozen=True)
class Planned:
    """A channel of the run as the batch selection left it."""

    channel_id: int
    address: ChannelAddress
    timezone: str
    # The channel's window when selected: another process posting since moved it.
    last_revision: int | None
    due: datetime | None  # scheduled runs: when the channel's digest was due
    selection: Selection | None


@dataclass(frozen=True)
class Held:
    """A channel taken for posting, and where its confirmation or failure is written.

    ``transaction`` opens the transaction to write in (the one a strategy
    holds open, or a new one each time); None: a dry run, nothing is written.
    ``committed`` opens a transaction that commits when it closes, whatever
    becomes of the held one: where each accepted message of a digest is
    confirmed (``confirm_part``). ``timezone`` is the channel's as the
    strategy read it.
    """

    channel_id: int
    timezone: str
    transaction: Callable[[], AbstractContextManager[Session]] | None
    committed: Callable[[], AbstractContextManager[Session]] | None = None

    def confirm(self, paper_ids: Sequence[str], *, now: datetime) -> None:
        if self.transaction is not None:
            with self.transaction() as session:
                confirm(session, self.channel_id, paper_ids, now=now)

    def confirm_part(
        self, paper_ids: Sequence[str], *, now: datetime, ref: MessageRef | None = None
    ) -> None:
        """One message of the digest was accepted: its papers are ``sent`` (in ``ref``, when
        known), committed now."""
        opened = self.committed or self.transaction
        if opened is not None and paper_ids:
            with opened() as session:
                confirm(session, self.channel_id, paper_ids, now=now, ref=ref)

    def fail(self, selection: Selection, exc: Exception, *, now: datetime) -> None:
        if self.transaction is not None:
            with self.transaction() as session:
                _record_failure(session, self.channel_id, selection, exc, now=now)


class LockStrategy(Protocol):
    """How the delivery loop claims a channel's digest, and confirms or releases it.

    One per run. The loop calls ``may_be_due`` (scheduled runs only) on each
    channel before the selection and ``claim_batch`` once after it, both in
    the batch's transaction; then, for each channel, ``release`` when its
    workspace is known gone, else ``hold`` around the send. ``hold`` yields
    the ``Held`` channel, or None when the loop MUST skip it (another run
    posts it or posted it); for a ``digest`` command (not ``scheduled``) on a
    channel being posted it MUST raise ``DigestInProgress``. Whatever the
    engine, a strategy MUST post nothing twice and lose nothing.
    """

    def may_be_due(self, session: Session, channel: Channel, due: datetime) -> bool: ...

    def claim_batch(
        self, session: Session, channels: Sequence[Channel], selections: Mapping[int, Selection],
        *, now: datetime,
    ) -> None: ...

    def hold(
        self, planned: Planned, *, now: datetime, scheduled: bool
    ) -> AbstractContextManager[Held | None]: ...

    def release(self, planned: Planned, exc: WorkspaceUnavailable, *, now: datetime) -> None: ...


class CommittedPending:
    """SQLite, where one process writes at a time: the batch's claims committed as ``pending``.

    The batch's transaction marks each channel's day, claims every digest
    and moves every window; each channel is then confirmed or failed in a
    transaction of its own, and each message of a digest the platform
    accepted is confirmed as it is. A process that dies while posting leaves
    the papers of the messages not yet accepted ``pending``: that day may
    run again to finish the digest (``_due_today``), and
    ``interrupted_channels`` names the channel.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def may_be_due(self, session: Session, channel: Channel, due: datetime) -> bool:
        return _due_today(session, channel, due)

    def claim_batch(
        self, session: Session, channels: Sequence[Channel], selections: Mapping[int, Selection],
        *, now: datetime,
    ) -> None:
        revision = current_revision(session)
        for channel in channels:
            if channel.id not in selections:
                advance(channel, now=now, revision=revision)
        claim(session, [(c, selections[c.id]) for c in channels if c.id in selections], now=now)

    @contextmanager
    def hold(self, planned: Planned, *, now: datetime, scheduled: bool) -> Iterator[Held | None]:
        yield Held(planned.channel_id, planned.timezone, self.db.session)

    def release(self, planned: Planned, exc: WorkspaceUnavailable, *, now: datetime) -> None:
        if planned.selection is not None:  # claimed by the batch: failed, offered again
            held = Held(planned.channel_id, planned.timezone, self.db.session)
            held.fail(planned.selection, exc, now=now)


class DryRun(CommittedPending):
    """What a run would post, with nothing claimed, confirmed or failed."""

    def claim_batch(
        self, session: Session, channels: Sequence[Channel], selections: Mapping[int, Selection],
        *, now: datetime,
    ) -> None:
        pass

    @contextmanager
    def hold(self, planned: Planned, *, now: datetime, scheduled: bool) -> Iterator[Held | None]:
        yield Held(planned.channel_id, planned.timezone, None)

    def release(self, planned: Planned, exc: WorkspaceUnavailable, *, now: datetime) -> None:
        pass


class RowLock:
    """PostgreSQL, for several processes on one database: a row lock from claim to confirmation.

    The batch selects and claims nothing. Then each channel is posted in a
    transaction of its own that holds the channel's row lock (``FOR NO KEY
    UPDATE SKIP LOCKED``) from the claim to the confirmation: a channel
    another process is posting to is skipped (a ``digest`` command hears it
    is in progress), and when this process dies while posting, the
    transaction rolls back, so the window and the day's mark go with it and
    the papers wait for the next run, here or in another process. The held
    transaction writes no ledger rows before the send (the lock is the
    claim); a second one, committed just before it, marks the papers
    ``pending``, so the next run knows a post that died may have shown them
    (``Digest.maybe_posted``).

    Each message of a digest the platform accepted is confirmed at once in
    a second transaction, committed on its own (``Held.committed``): its
    papers are ``sent`` whatever becomes of the held one, and a rolled-back
    window takes them again only to leave them out (a selection never offers
    a paper ``sent`` to the channel). The lock is ``NO KEY UPDATE`` so that
    this second transaction's ledger rows, whose foreign key takes a key
    share of the channel row, do not wait for the held one.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._revision: int | None = None  # set by claim_batch

    def may_be_due(self, session: Session, channel: Channel, due: datetime) -> bool:
        return _could_be_due(channel, due)

    def claim_batch(
        self, session: Session, channels: Sequence[Channel], selections: Mapping[int, Selection],
        *, now: datetime,
    ) -> None:
        # Where a window with nothing new moves to, once its channel is locked.
        self._revision = current_revision(session)

    @contextmanager
    def hold(self, planned: Planned, *, now: datetime, scheduled: bool) -> Iterator[Held | None]:
        with self.db.session() as session:
            channel = session.scalar(
                select(Channel).where(Channel.id == planned.channel_id)
                .with_for_update(skip_locked=True, key_share=True)
            )
            if channel is None:  # another process is posting it
                if not scheduled:
                    raise DigestInProgress(IN_PROGRESS)
                yield None
            elif channel.last_revision != planned.last_revision:
                yield None  # another process posted it since the selection
            elif planned.due is not None and not _due_today(session, channel, planned.due):
                yield None
            else:
                if planned.selection is None:
                    assert self._revision is not None, "claim_batch comes first"
                    advance(channel, now=now, revision=self._revision)
                else:
                    advance(channel, now=now, revision=planned.selection.revision)
                    with self.db.session() as marking:  # committed now, whatever comes
                        mark_pending(marking, channel.id, planned.selection.paper_ids, now=now)
                session.flush()
                yield Held(channel.id, channel.timezone, lambda: nullcontext(session),
                           committed=self.db.session)

    def release(self, planned: Planned, exc: WorkspaceUnavailable, *, now: datetime) -> None:
        pass  # nothing claimed: the papers stay for the next run


def lock_for(db: Database, *, dry_run: bool) -> LockStrategy:
    """The run's strategy: ``DryRun`` when asked, else the one for ``db``'s engine."""
    if dry_run:
        return DryRun(db)
    if db.engine.dialect.name == "postgresql":
        return RowLock(db)
    return CommittedPending(db)


def _due_today(session: Session, channel: Channel, due: datetime) -> bool:
    """Marks the channel's scheduled digest of ``due``'s local day; False if it had one.

    A day whose digest was interrupted (papers still ``pending`` in the
    ledger: the process died while posting) may run again to finish it.
    """
    if channel.paused:
        return False
    day = due.astimezone(ZoneInfo(channel.timezone)).date()
    if channel.last_scheduled_on == day and not has_pending(session, channel.id):
        return False
    channel.last_scheduled_on = day
    return True


def _could_be_due(channel: Channel, due: datetime) -> bool:
    """``_due_today`` without marking: whether the channel may have its digest now."""
    if channel.paused:
        return False
    return channel.last_scheduled_on != due.astimezone(ZoneInfo(channel.timezone)).date()


def _record_failure(
    session: Session, channel_id: int, selection: Selection, exc: Exception, *, now: datetime
) -> None:
    """The send failed: the papers wait for the next run; a channel (or a whole
    workspace) that can take no posts is paused with the reason."""
    fail(session, channel_id, selection.paper_ids, error=repr(exc), now=now)
    channel = session.get(Channel, channel_id)
    if channel is None or not isinstance(exc, ChannelUnavailable):
        return
    paused = [channel]
    if isinstance(exc, WorkspaceUnavailable):
        paused = workspace_channels(session, channel.platform, channel.workspace)
    pause(paused, reason=exc.reason)
