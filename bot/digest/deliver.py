"""Posting digests: the one delivery loop that selects, claims, sends and confirms.

``Deliverer.run`` is what the scheduler and the ``digest`` command end in.
It selects the digests of every channel given in one pass
(``bot.digest.select.select_digests``), then hands each digest to ``send``
(the adapter's post, ``bot.digest.sending``) and confirms or fails it in the
ledger (``bot.digest.ledger``) channel by channel, so one channel's failure
touches no other. Within a process, a channel is posted to by one run at a
time.

How a channel's digest is claimed, confirmed or released is the run's
``LockStrategy`` (``bot.digest.locks``), one per engine: ``CommittedPending``
on SQLite (the batch's claims committed as ``pending`` before any send) and
``RowLock`` on PostgreSQL (each channel posted inside a transaction holding
its row lock from claim to confirmation); a dry run records nothing
(``DryRun``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bot.digest.ledger import DigestInProgress, interrupted_channels
from bot.digest.locks import IN_PROGRESS, Held, LockStrategy, Planned, lock_for
from bot.digest.select import (
    SEED_PLATFORMS,
    Selection,
    TopicPreview,
    count_new_matches,
    select_digests,
)
from bot.digest.sending import (
    ChannelUnavailable,
    NotAllSent,
    OnPart,
    Outcome,
    PartlySent,
    Parts,
    Post,
    Posted,
    WorkspaceUnavailable,
)
from bot.digest.topics import TopicCache
from bot.digest.why import Why, explain
from bot.model.address import ChannelAddress, as_address
from bot.model.messages import Digest, NothingNew
from bot.search.index import SearchIndex
from bot.store.catalog import count_entered
from bot.store.channels import all_topics, channel_topic_times, find_channel
from bot.store.db import Database
from bot.store.models import Channel
from bot.text.when import local_time

__all__ = [
    "ChannelUnavailable", "Deliverer", "DigestInProgress", "NotAllSent", "OnPart", "Outcome",
    "PartlySent", "Parts", "Post", "Posted", "Why", "WorkspaceUnavailable",
]

log = logging.getLogger(__name__)


class Deliverer:
    """Runs digests against one database; shared by the scheduler and the commands."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Callable[[], datetime],
        first_digest_days: int = 7,
        quiet_day_line: bool = False,
        index: SearchIndex | None = None,
    ) -> None:
        self.db = db
        # The catalog's search index, where a new topic's papers are counted.
        self.index = index
        self.clock = clock
        self.first_digest_days = first_digest_days
        self.quiet_day_line = quiet_day_line
        # Topics parsed by earlier runs (and by warm_topics at start).
        self.topics = TopicCache()
        # Called before each selection (tastes voted on too fast to learn at once).
        self.before_selection: Callable[[], object] | None = None
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
        ``send`` and confirmed after it returns (or message by message, when
        it yields ``Parts``). If ``send`` raises, the papers not confirmed are
        marked failed (offered again next time) and ``NotAllSent`` says what
        went out; a ``ChannelUnavailable`` before anything went out
        propagates as it is.
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

    def nothing_new(self, address: ChannelAddress | str) -> str:
        """What a digest of ``address`` looks at, said for when it finds nothing:
        what came in since its last one and how many topics looked ("None of
        the 214 papers that came in since Tue 2 Dec 09:00 match its 2 topics;
        last digest Tue 2 Dec 09:00 UTC."). Ask before the digest runs: a
        digest with nothing moves the channel's window on."""
        now = self.clock()
        back = now - timedelta(days=self.first_digest_days)
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            if channel is None:
                return ""
            taken = channel_topic_times(session, channel)
            topics = len(taken)
            seeds = channel.platform in SEED_PLATFORMS
            last = channel.last_digest_at
            if channel.last_revision is None:
                since = back
                came = count_entered(session, after_revision=None, first_seen_after=since, seeds=seeds)
            else:
                # A topic taken up since the last digest looks back as far as a first digest.
                new_topic = last is not None and any(t > last for t in taken)
                since = min(last or now, back) if new_topic else last or now
                came = count_entered(
                    session, after_revision=channel.last_revision,
                    first_seen_after=back if new_topic else None, seeds=seeds,
                )
            zone = channel.timezone
        noun = "topic" if topics == 1 else "topics"
        when = local_time(since, zone)
        last_line = f"last digest {local_time(last, zone)} {zone}" if last else "no digest yet"
        if came == 0:
            return f"No paper came in since {when}; {last_line}."
        if came == 1:
            return (f"The one paper that came in since {when} does not match its "
                    f"{topics} {noun}; {last_line}.")
        return (f"None of the {came:,} papers that came in since {when} match its "
                f"{topics} {noun}; {last_line}.")

    def preview_topic(self, address: ChannelAddress | str, topic: str) -> TopicPreview | None:
        """What ``topic``, which ``address`` just took up, finds for its next
        digest; None for a channel never seen."""
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            if channel is None:
                return None
            return count_new_matches(
                session, channel, topic, now=self.clock(), first_days=self.first_digest_days,
                index=self.index, topics=self.topics,
            )

    def why(self, address: ChannelAddress | str, paper_id: str) -> Why:
        """Why ``paper_id`` is, or is not, in ``address``'s digests (``bot.digest.why``)."""
        if self.before_selection is not None:
            self.before_selection()
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return explain(session, channel, paper_id, now=self.clock(),
                           first_days=self.first_digest_days, topics=self.topics)

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
        lock = lock_for(self.db, dry_run=dry_run)
        if self.before_selection is not None:
            self.before_selection()
        now = self.clock()
        taken: set[int] = set()
        try:
            plan = self._plan(due, lock, now=now, scheduled=scheduled, dry_run=dry_run, taken=taken)
            return self._deliver(plan, lock, now=now, send=send, scheduled=scheduled,
                                 dry_run=dry_run, raise_errors=raise_errors)
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

    def _plan(
        self, due: Mapping[str, datetime], lock: LockStrategy, *, now: datetime,
        scheduled: bool, dry_run: bool, taken: set[int],
    ) -> list[Planned]:
        """The batch: every channel's digest selected in one pass, and claimed as ``lock`` does."""
        with self.db.session() as session:
            channels = _channels_at(session, due)
            if not dry_run:
                channels = self._take(channels, scheduled=scheduled, taken=taken)
            if scheduled:
                channels = [c for c in channels if lock.may_be_due(session, c, due[c.address])]
            selections = select_digests(
                session, channels, now=now, first_days=self.first_digest_days,
                topics_cache=self.topics,
            )
            lock.claim_batch(session, channels, selections, now=now)
            return [
                Planned(channel_id=c.id, address=c.address, timezone=c.timezone,
                        last_revision=c.last_revision, due=due[c.address] if scheduled else None,
                        selection=selections.get(c.id))
                for c in channels
            ]

    def _deliver(
        self, plan: list[Planned], lock: LockStrategy, *, now: datetime, send: Post,
        scheduled: bool, dry_run: bool, raise_errors: bool,
    ) -> list[Outcome]:
        """Send each planned digest, confirm or fail it under ``lock``, and say what became of it."""
        outcomes = []
        gone: dict[str, str] = {}  # workspace -> why it cannot take posts
        for planned in plan:
            address, selection = str(planned.address), planned.selection
            workspace = planned.address.workspace_key
            if workspace in gone:
                lock.release(planned, WorkspaceUnavailable(gone[workspace]), now=self.clock())
                outcomes.append(Outcome(address=address, message=None, error=gone[workspace]))
                continue
            failure: Exception | None = None
            with lock.hold(planned, now=now, scheduled=scheduled) as held:
                if held is None:
                    continue
                if selection is None:
                    message: Digest | NothingNew | None = None
                    if scheduled and self.quiet_day_line:
                        message = _quiet_day(send, planned.address, _local_day(now, held.timezone))
                    outcomes.append(Outcome(address=address, message=message))
                    continue
                progress = _Progress()
                try:
                    parts = self._send(send, selection, held, progress)
                except Exception as exc:
                    posted, selection, failure = _partly_sent(selection, exc, progress)
                    if posted:
                        held.confirm(posted, now=self.clock())
                    held.fail(selection, failure, now=self.clock())
                else:
                    rest = [i for i in selection.paper_ids if i not in progress.confirmed]
                    if rest:
                        held.confirm(rest, now=self.clock())
            if failure is not None:  # recorded, and committed with the hold
                if isinstance(failure, WorkspaceUnavailable):
                    gone[workspace] = failure.reason
                if raise_errors:
                    done = progress.posted(planned.selection)
                    if isinstance(failure, ChannelUnavailable) and not done:
                        raise failure
                    raise NotAllSent(parts=progress.parts, posted=done,
                                     kept=len(selection.paper_ids), cause=failure) from failure
                log.warning("digest for %s not sent, kept for the next run: %r", address, failure)
                outcomes.append(Outcome(address=address, message=selection.digest, error=str(failure)))
                continue
            if not dry_run:
                log.info("digest channel=%s papers=%d%s", address, selection.digest.count,
                         f" parts={parts}" if isinstance(parts, int) else "")
            outcomes.append(Outcome(address=address, message=selection.digest))
        return outcomes

    def _send(self, send: Post, selection: Selection, held: Held, progress: _Progress) -> object:
        """Hand the digest to ``send``; each message it says was accepted is confirmed at once."""
        result = send(selection.digest)
        if not isinstance(result, Iterator):
            return result
        wanted = set(selection.paper_ids)
        while True:
            try:
                part = next(result)
            except StopIteration as done:  # what the send returned: how many messages it took
                return done.value if isinstance(done.value, int) else progress.parts
            posted = part if isinstance(part, Posted) else Posted(tuple(part))
            ids = [i for i in posted.paper_ids if i in wanted and i not in progress.confirmed]
            held.confirm_part(ids, ref=posted.ref, now=self.clock())
            progress.confirmed.update(ids)
            progress.parts += 1


@dataclasses.dataclass
class _Progress:
    """How far a send got: the platform messages accepted, and their papers (confirmed)."""

    parts: int = 0
    confirmed: set[str] = dataclasses.field(default_factory=set)

    def posted(self, selection: Selection | None) -> int:
        """How many of the digest's papers went out (confirmed) before its send failed."""
        if selection is None:
            return 0
        return len(self.confirmed & set(selection.paper_ids))


def _channels_at(session: Session, due: Mapping[str, datetime]) -> list[Channel]:
    """The channels at the addresses in ``due`` that exist, in the order given."""
    # Parsed once here, where text may come in (the CLI, a test); the
    # scheduler hands over the addresses of channel rows, already parsed.
    addresses = list(dict.fromkeys(as_address(address) for address in due))
    found: dict[str, Channel] = {}
    # Only the channels asked for, in chunks that stay under SQLite's limit
    # on bound parameters (three per address).
    for start in range(0, len(addresses), 2000):
        keys = [(a.platform, a.workspace, a.channel) for a in addresses[start : start + 2000]]
        address_of = tuple_(Channel.platform, Channel.workspace, Channel.channel)
        rows = session.scalars(select(Channel).where(address_of.in_(keys)))
        found.update((channel.address, channel) for channel in rows)
    return [found[a] for a in addresses if a in found]


def _local_day(when: datetime, timezone: str) -> str:
    return when.astimezone(ZoneInfo(timezone)).date().isoformat()


def _quiet_day(send: Post, address: ChannelAddress, day: str) -> NothingNew:
    """Post the "nothing new today" line; a failure is logged, not retried."""
    message = NothingNew(channel=address, date=day)
    try:
        sent = send(message)
        if isinstance(sent, Iterator):
            for _ in sent:  # one message: nothing to confirm
                pass
    except Exception as exc:  # a quiet-day line is not worth a retry
        log.warning("quiet-day line for %s not sent: %r", address, exc)
    return message


def _partly_sent(
    selection: Selection, exc: Exception, progress: _Progress
) -> tuple[list[str], Selection, Exception]:
    """After a failed send: the papers posted anyway and not yet confirmed, the
    selection left and what went wrong (a ``PartlySent`` says which parts went
    out; the parts a send yielded are confirmed already)."""
    cause = exc
    posted: list[str] = []
    if isinstance(exc, PartlySent):
        cause = exc.cause
        posted = [i for i in selection.paper_ids
                  if i in exc.paper_ids and i not in progress.confirmed]
        progress.confirmed.update(posted)
        progress.parts = max(progress.parts, 1)
    rest = tuple(i for i in selection.paper_ids if i not in progress.confirmed)
    return posted, dataclasses.replace(selection, paper_ids=rest), cause
