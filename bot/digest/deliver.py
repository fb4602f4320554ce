"""Posting digests: the run that selects, claims, sends and confirms.

``Deliverer.run`` is what the scheduler and the ``digest`` command end in.
It selects the digests of every channel given in one pass
(``bot.digest.select.select_digests``), claims their papers in the ledger in one
transaction, then hands each digest to ``send`` (the adapter's post) and
confirms or fails it channel by channel, so one channel's failure touches
no other. Within a process, a channel is posted to by one run at a time.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bot.store.catalog import current_revision
from bot.store.db import Database
from bot.digest.select import (
    DigestInProgress,
    Selection,
    TopicCache,
    advance,
    claim,
    confirm,
    fail,
    has_pending,
    interrupted_channels,
    select_digests,
)
from bot.model.messages import Digest, NothingNew
from bot.store.models import Channel
from bot.model.address import ChannelAddress, as_address, parse_address
from bot.store.channels import all_topics

__all__ = [
    "ChannelUnavailable",
    "Deliverer",
    "Outcome",
    "PartlySent",
    "Post",
    "WorkspaceUnavailable",
]

log = logging.getLogger(__name__)

IN_PROGRESS = "A digest is being posted to this channel right now; it will show what is new."

# Posts one message; may return how many platform messages that took (an int).
Post = Callable[[Digest | NothingNew], object]


class ChannelUnavailable(Exception):
    """Raised by an adapter's send when the channel cannot take posts any more.

    The bot was removed, the channel deleted, or a permission revoked: the
    channel is paused with ``reason`` (shown by the next ``/papers`` there)
    and its papers stay in the ledger until someone resumes it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkspaceUnavailable(ChannelUnavailable):
    """Raised by an adapter's send when no channel of the workspace can take posts.

    The token was revoked, the app uninstalled, the account deactivated:
    every channel of the workspace is paused with ``reason``, and the rest
    of the run skips them (their papers stay in the ledger).
    """


class PartlySent(Exception):
    """Raised by an adapter's send when a digest split into several messages
    failed after some were posted: ``paper_ids`` were posted (confirmed as
    sent), the rest are offered again; ``cause`` is what went wrong.
    """

    def __init__(self, paper_ids: Sequence[str], cause: Exception) -> None:
        super().__init__(f"{len(paper_ids)} papers posted before {cause!r}")
        self.paper_ids = tuple(paper_ids)
        self.cause = cause


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one channel's scheduled run posted: a digest, a quiet-day line, or nothing."""

    address: str
    message: Digest | NothingNew | None
    error: str | None = None


def _channels_at(session: Session, due: Mapping[str, datetime]) -> list[Channel]:
    """The channels at the addresses in ``due`` that exist, in the order given."""
    addresses = list(dict.fromkeys(str(as_address(address)) for address in due))
    found: dict[str, Channel] = {}
    # Only the channels asked for, in chunks that stay under SQLite's limit
    # on bound parameters (three per address).
    for start in range(0, len(addresses), 2000):
        keys = [
            (a.platform, a.workspace, a.channel)
            for a in map(parse_address, addresses[start : start + 2000])
        ]
        address_of = tuple_(Channel.platform, Channel.workspace, Channel.channel)
        rows = session.scalars(select(Channel).where(address_of.in_(keys)))
        found.update((channel.address, channel) for channel in rows)
    return [found[a] for a in addresses if a in found]


def _local_day(when: datetime, timezone: str) -> str:
    return when.astimezone(ZoneInfo(timezone)).date().isoformat()


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


class Deliverer:
    """Runs digests against one database; shared by the scheduler and the commands."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Callable[[], datetime],
        first_digest_days: int = 7,
        quiet_day_line: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.first_digest_days = first_digest_days
        self.quiet_day_line = quiet_day_line
        # Topics parsed by earlier runs (and by warm_topics at start).
        self.topics = TopicCache()
        # Channels a run of this process is posting to right now.
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()

    # -- entry points: the scheduler, the digest command, the runtime's start --

    def run_scheduled(self, due: Mapping[str, datetime], *, send: Post) -> list[Outcome]:
        """The scheduler's entry point: the digests of the channels in ``due``.

        ``due`` maps each channel address to the time its digest fell due;
        every channel due at once is selected in one pass (``bot.digest.select``).
        At most one scheduled digest per local day of a channel, so a
        daylight-saving change that repeats the hour, or a catch-up after
        downtime, never posts twice; a paused channel gets nothing. A send
        that fails affects only its own channel.
        """
        return self.run(due, send=send, scheduled=True)

    def digest(
        self, address: ChannelAddress | str, *, send: Callable[[Digest], object],
        dry_run: bool = False,
    ) -> Digest | None:
        """Build ``address``'s digest now and hand it to ``send``; None when nothing is new.

        Unless ``dry_run``, the shown papers are claimed in the ledger before
        ``send`` and confirmed after it returns; if ``send`` raises they are
        marked failed (offered again next time) and the error propagates.
        """

        def post(message: Digest | NothingNew) -> object:
            assert isinstance(message, Digest)
            return send(message)

        outcomes = self.run(
            {str(address): self.clock()}, send=post, dry_run=dry_run, raise_errors=True
        )
        message = outcomes[0].message if outcomes else None
        return message if isinstance(message, Digest) else None

    def warm_topics(self) -> int:
        """Parse every channel's topics ahead of the digest hour; returns how many."""
        with self.db.session() as session:
            topics = {t for ts in all_topics(session).values() for t in ts}
        return self.topics.warm(sorted(topics))

    def interrupted(self) -> list[str]:
        """Addresses of unpaused channels whose last digest was claimed but never confirmed."""
        with self.db.session() as session:
            return interrupted_channels(session)

    def run(
        self,
        due: Mapping[str, datetime],
        *,
        send: Post,
        scheduled: bool = False,
        dry_run: bool = False,
        raise_errors: bool = False,
    ) -> list[Outcome]:
        """Select, claim, send and confirm the digests of the channels in ``due``.

        ``scheduled`` runs skip paused channels and channels that had their
        digest of that local day, and post the quiet-day line when asked to.
        ``raise_errors`` re-raises a failed send after recording it.
        """
        now = self.clock()
        taken: set[int] = set()
        deliver = self._deliver_now
        if not dry_run and self.db.engine.dialect.name == "postgresql":
            deliver = self._deliver_locked
        try:
            return deliver(
                due, now=now, send=send, scheduled=scheduled, dry_run=dry_run,
                raise_errors=raise_errors, taken=taken,
            )
        finally:
            with self._in_flight_lock:
                self._in_flight -= taken

    def _take(self, channels: list[Channel], *, scheduled: bool, taken: set[int]) -> list[Channel]:
        """Mark ``channels`` as being posted to, leaving out those another run is posting to.

        Papers a live run has claimed are ``pending``; a second run must not
        take them for a crashed run's leftovers and post them again.
        """
        with self._in_flight_lock:
            free = [c for c in channels if c.id not in self._in_flight]
            if not scheduled and len(free) < len(channels):
                raise DigestInProgress(IN_PROGRESS)
            taken.update(c.id for c in free)
            self._in_flight |= taken
        return free

    def _deliver_now(
        self,
        due: Mapping[str, datetime],
        *,
        now: datetime,
        send: Post,
        scheduled: bool,
        dry_run: bool,
        raise_errors: bool,
        taken: set[int],
    ) -> list[Outcome]:
        with self.db.session() as session:
            channels = _channels_at(session, due)
            if not dry_run:
                channels = self._take(channels, scheduled=scheduled, taken=taken)
            if scheduled:
                channels = [c for c in channels if _due_today(session, c, due[c.address])]
            selections = select_digests(
                session, channels, now=now, first_days=self.first_digest_days,
                topics_cache=self.topics,
            )
            if not dry_run:
                revision = current_revision(session)
                for channel in channels:
                    if channel.id not in selections:
                        advance(channel, now=now, revision=revision)
                claim(session, [(c, selections[c.id]) for c in channels if c.id in selections],
                      now=now)
            plan = [(c.id, c.address, c.timezone, selections.get(c.id)) for c in channels]
        outcomes = []
        gone: dict[str, str] = {}  # workspace prefix -> why it cannot take posts
        for channel_id, address, timezone, selection in plan:
            workspace = address.rsplit("/", 1)[0]
            if workspace in gone:
                if selection is not None and not dry_run:
                    self._failed(channel_id, selection, WorkspaceUnavailable(gone[workspace]))
                outcomes.append(Outcome(address=address, message=None, error=gone[workspace]))
                continue
            if selection is None:
                message: Digest | NothingNew | None = None
                if scheduled and self.quiet_day_line:
                    message = _quiet_day(send, address, _local_day(now, timezone))
                outcomes.append(Outcome(address=address, message=message))
                continue
            try:
                parts = send(selection.digest)
            except Exception as exc:
                posted, selection, exc = _partly_sent(selection, exc)
                if posted and not dry_run:
                    with self.db.session() as session:
                        confirm(session, channel_id, posted, now=self.clock())
                if not dry_run:
                    self._failed(channel_id, selection, exc)
                if isinstance(exc, WorkspaceUnavailable):
                    gone[workspace] = exc.reason
                if raise_errors:
                    raise exc
                log.warning("digest for %s not sent, kept for the next run: %r", address, exc)
                outcomes.append(Outcome(address=address, message=selection.digest, error=str(exc)))
                continue
            if not dry_run:
                with self.db.session() as session:
                    confirm(session, channel_id, selection.paper_ids, now=self.clock())
                log.info("digest channel=%s papers=%d%s", address, selection.digest.count,
                         f" parts={parts}" if isinstance(parts, int) else "")
            outcomes.append(Outcome(address=address, message=selection.digest))
        return outcomes

    def _failed(self, channel_id: int, selection: Selection, exc: Exception) -> None:
        with self.db.session() as session:
            _record_failure(session, channel_id, selection, exc)

    def _deliver_locked(
        self,
        due: Mapping[str, datetime],
        *,
        now: datetime,
        send: Post,
        scheduled: bool,
        dry_run: bool,
        raise_errors: bool,
        taken: set[int],
    ) -> list[Outcome]:
        """``_deliver_now`` for several processes on one PostgreSQL database.

        Selection is the same batch. Then each channel is posted in a
        transaction of its own that holds the channel's row lock
        (``FOR UPDATE SKIP LOCKED``) from the claim to the confirmation: a
        channel another process is posting to is skipped (a ``digest``
        command hears it is in progress), and when this process dies while
        posting, the transaction rolls back, so the claim, the window and the
        day's mark go with it and the papers wait for the next run, here or
        in another process. Nothing is ever left ``pending``.
        """
        with self.db.session() as session:
            channels = self._take(_channels_at(session, due), scheduled=scheduled, taken=taken)
            if scheduled:
                channels = [c for c in channels if _could_be_due(c, due[c.address])]
            selections = select_digests(
                session, channels, now=now, first_days=self.first_digest_days,
                topics_cache=self.topics,
            )
            revision = current_revision(session)
            plan = [(c.id, c.address, c.last_revision, selections.get(c.id)) for c in channels]
        outcomes = []
        gone: dict[str, str] = {}  # workspace prefix -> why it cannot take posts
        for channel_id, address, seen_revision, selection in plan:
            workspace = address.rsplit("/", 1)[0]
            failure: Exception | None = None
            if workspace in gone:  # nothing claimed: the papers stay for the next run
                outcomes.append(Outcome(address=address, message=None, error=gone[workspace]))
                continue
            with self.db.session() as session:
                channel = session.scalar(
                    select(Channel).where(Channel.id == channel_id)
                    .with_for_update(skip_locked=True)
                )
                if channel is None:
                    if not scheduled:
                        raise DigestInProgress(IN_PROGRESS)
                    continue  # another process is posting it
                if channel.last_revision != seen_revision:
                    continue  # another process posted it since the selection
                if scheduled and not _due_today(session, channel, due[address]):
                    continue
                if selection is None:
                    advance(channel, now=now, revision=revision)
                    message: Digest | NothingNew | None = None
                    if scheduled and self.quiet_day_line:
                        message = _quiet_day(send, address, _local_day(now, channel.timezone))
                    outcomes.append(Outcome(address=address, message=message))
                    continue
                claim(session, [(channel, selection)], now=now)
                try:
                    parts = send(selection.digest)
                except Exception as exc:
                    posted, selection, exc = _partly_sent(selection, exc)
                    if posted:
                        confirm(session, channel_id, posted, now=self.clock())
                    _record_failure(session, channel_id, selection, exc)
                    failure = exc
                else:
                    confirm(session, channel_id, selection.paper_ids, now=self.clock())
            if failure is not None:  # recorded and committed above
                if isinstance(failure, WorkspaceUnavailable):
                    gone[workspace] = failure.reason
                if raise_errors:
                    raise failure
                log.warning("digest for %s not sent, kept for the next run: %r", address, failure)
                outcomes.append(
                    Outcome(address=address, message=selection.digest, error=str(failure))
                )
                continue
            log.info("digest channel=%s papers=%d%s", address, selection.digest.count,
                     f" parts={parts}" if isinstance(parts, int) else "")
            outcomes.append(Outcome(address=address, message=selection.digest))
        return outcomes


def _quiet_day(send: Post, address: str, day: str) -> NothingNew:
    """Post the "nothing new today" line; a failure is logged, not retried."""
    message = NothingNew(channel=address, date=day)
    try:
        send(message)
    except Exception as exc:  # a quiet-day line is not worth a retry
        log.warning("quiet-day line for %s not sent: %r", address, exc)
    return message


def _partly_sent(
    selection: Selection, exc: Exception
) -> tuple[list[str], Selection, Exception]:
    """After a failed send: the papers posted anyway, the selection left and
    what went wrong (a ``PartlySent`` says which parts went out)."""
    if not isinstance(exc, PartlySent):
        return [], selection, exc
    posted = [i for i in selection.paper_ids if i in exc.paper_ids]
    rest = tuple(i for i in selection.paper_ids if i not in posted)
    return posted, dataclasses.replace(selection, paper_ids=rest), exc.cause


def _could_be_due(channel: Channel, due: datetime) -> bool:
    """``_due_today`` without marking: whether the channel may have its digest now."""
    if channel.paused:
        return False
    return channel.last_scheduled_on != due.astimezone(ZoneInfo(channel.timezone)).date()


def _record_failure(
    session: Session, channel_id: int, selection: Selection, exc: Exception
) -> None:
    """The send failed: the papers wait for the next run; a channel (or a whole
    workspace) that can take no posts is paused with the reason."""
    fail(session, channel_id, selection.paper_ids, error=repr(exc))
    channel = session.get(Channel, channel_id)
    if channel is None or not isinstance(exc, ChannelUnavailable):
        return
    paused = [channel]
    if isinstance(exc, WorkspaceUnavailable):
        paused = list(session.scalars(select(Channel).where(
            Channel.platform == channel.platform, Channel.workspace == channel.workspace
        )))
    for each in paused:
        each.paused = True
        each.paused_reason = exc.reason
