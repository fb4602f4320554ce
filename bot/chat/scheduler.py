"""APScheduler wiring: one cron job per channel, in the channel's own time zone.

Jobs hold no selection logic: the channels that fall due together are
handed in one batch to ``Deliverer.run_scheduled``, which decides whether each
is due (at most one scheduled digest per local day, paused channels skipped)
and builds the digests. Jobs are derived from
the database at start and re-derived by ``sync`` when schedules change. A
digest missed while the bot was down is caught up once at start when its
time lies within the grace period.

Every time decision goes through the injected clock. APScheduler 3 has no
clock of its own to inject: it asks a job's trigger for the next fire time
with the wall clock's ``now`` and then waits on the wall clock. Each
channel's trigger (``ClockedTrigger``) therefore answers in the injected
clock's time and hands APScheduler the same instant as wall time, so with
the real clock nothing changes, and with a test's clock the next digest is
the one that clock's day calls for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.chat.channels import ChannelInfo
from bot.errors import UserError
from bot.text.when import local_time

__all__ = [
    "ClockedTrigger",
    "DigestScheduler",
    "last_due",
    "next_digest_at",
    "next_digest_line",
    "trigger_for",
]

log = logging.getLogger(__name__)

RESYNC_SECONDS = 60
_APART = timedelta(seconds=1)


def trigger_for(info: ChannelInfo) -> CronTrigger:
    """The cron trigger of a channel's schedule, in its time zone."""
    hour, minute = (int(part) for part in info.digest_time.split(":"))
    if info.cadence == "weekdays":
        day_of_week = "mon-fri"
    elif info.cadence.startswith("weekly "):
        day_of_week = info.cadence.split(" ", 1)[1]
    else:
        day_of_week = "*"
    return CronTrigger(
        day_of_week=day_of_week, hour=hour, minute=minute, timezone=ZoneInfo(info.timezone)
    )


def last_due(info: ChannelInfo, *, since: datetime, now: datetime) -> datetime | None:
    """The latest time in (``since``, ``now``] the channel's digest was due, if any."""
    trigger = trigger_for(info)
    found = None
    # Step in UTC: two aware datetimes of one zone compare by wall clock,
    # ignoring fold, so the hour repeated by a DST change would loop forever.
    fire = trigger.get_next_fire_time(None, since.astimezone(UTC) + timedelta(seconds=1))
    while fire is not None and fire.astimezone(UTC) <= now.astimezone(UTC):
        found = fire
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return found


def next_digest_at(info: ChannelInfo, now: datetime) -> datetime | None:
    """When the channel's next scheduled digest falls due after ``now``, in its time
    zone; None while it is paused or follows no topic (it gets none)."""
    if info.paused or not info.topics:
        return None
    fire = trigger_for(info).get_next_fire_time(None, now.astimezone(UTC))
    return None if fire is None else fire.astimezone(ZoneInfo(info.timezone))


def next_digest_line(info: ChannelInfo, now: datetime) -> str:
    """"Next digest: Thu 4 Dec 08:30 Europe/Berlin.", or why there is none."""
    fire = next_digest_at(info, now)
    if fire is not None:
        return f"Next digest: {local_time(fire, info.timezone)} {info.timezone}."
    if info.paused:
        return "No digest comes while digests are paused here."
    return "The first digest comes once this channel follows a topic."


class ClockedTrigger(BaseTrigger):
    """A cron trigger read on an injected clock, for APScheduler's wall-clock loop.

    APScheduler passes its wall-clock ``now`` (and earlier fire times, in
    wall time); the trigger moves them onto the injected clock by the
    clock's current offset, asks the cron trigger there, and moves the
    answer back. ``next_fire`` is the last answer in the clock's own time:
    when the channel's digest is next due.
    """

    def __init__(self, cron: CronTrigger, clock: Callable[[], datetime]) -> None:
        self.cron = cron
        self._clock = clock
        self.next_fire: datetime | None = None

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # In UTC: arithmetic on an aware datetime of a zone with daylight
        # saving is wall-clock arithmetic, an hour off across a change.
        offset = self._clock().astimezone(UTC) - now.astimezone(UTC)
        previous = None if previous_fire_time is None else previous_fire_time.astimezone(UTC) + offset
        fire = self.cron.get_next_fire_time(previous, now.astimezone(UTC) + offset)
        # The answer MUST come after the fire time APScheduler gave: a clock a
        # hair behind APScheduler's own (a step back of the system clock)
        # would give the same time of day again, and the job would fire on
        # and on. Digest times are whole minutes, so a second apart is enough.
        while (
            fire is not None and previous_fire_time is not None
            and fire.astimezone(UTC) - offset < previous_fire_time.astimezone(UTC) + _APART
        ):
            fire = self.cron.get_next_fire_time(fire, fire + _APART)
        self.next_fire = fire
        return None if fire is None else fire.astimezone(UTC) - offset

    def __str__(self) -> str:
        return f"clocked {self.cron}"


class DigestScheduler:
    """Keeps one APScheduler job per channel, plus the ingest job.

    ``run`` is the core entry point the digest jobs call (``Deliverer.run_scheduled``):
    it gets every channel that fell due together, so 10,000 channels at
    09:00 are selected in one pass. ``ingest`` (optional) runs every
    ``ingest_every``. Both run in a worker thread; the event loop stays free
    for the chat adapters.
    """

    def __init__(
        self,
        *,
        channels: Callable[[], list[ChannelInfo]],
        run: Callable[[Mapping[str, datetime]], object],
        clock: Callable[[], datetime],
        grace: timedelta = timedelta(hours=6),
        ingest: Callable[[], object] | None = None,
        ingest_every: timedelta = timedelta(hours=1),
        interrupted: Callable[[], list[str]] | None = None,
    ) -> None:
        self._channels = channels
        self._run = run
        self.grace = grace
        self._clock = clock
        self._ingest = ingest
        self._ingest_every = ingest_every
        self._interrupted = interrupted
        self._due: dict[str, datetime] = {}
        self._flushing: asyncio.Task[None] | None = None
        self._known: dict[str, ChannelInfo] = {}
        self._ingesting: asyncio.Task[None] | None = None
        self._resyncing: asyncio.Task[None] | None = None
        self.scheduler = AsyncIOScheduler()

    def start(self) -> None:
        """Derive the jobs from the database, queue missed digests, start firing."""
        self.sync()
        now = self._clock()
        if self.grace > timedelta(0):
            for info in self._channels():
                due = last_due(info, since=now - self.grace, now=now)
                if due is not None:
                    # Missed while down: caught up once; run_scheduled skips a
                    # day that already had its digest.
                    self.scheduler.add_job(
                        self._job, args=(info.address, due), id=f"catch-up:{info.address}"
                    )
        if self._interrupted is not None:
            for address in self._interrupted():
                # A digest cut short by a crash is finished now, not tomorrow.
                self.scheduler.add_job(self._job, args=(address, now), id=f"resume:{address}")
        self.scheduler.add_job(
            self._resync, IntervalTrigger(seconds=RESYNC_SECONDS), id="resync", coalesce=True
        )
        if self._ingest is not None:
            self.scheduler.add_job(
                self._run_ingest,
                IntervalTrigger(seconds=self._ingest_every.total_seconds()),
                id="ingest",
                coalesce=True,
                max_instances=1,
                # At once: APScheduler's own wall-clock "now", not a time of day.
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()

    def sync(self, infos: list[ChannelInfo] | None = None) -> None:
        """Make the jobs match the channels' schedules (``infos``, else the database).

        Only the jobs of channels that changed are touched, so a channel's
        next run time survives an unrelated change elsewhere.
        """
        wanted = {info.address: info for info in (self._channels() if infos is None else infos)}
        for address in [a for a in self._known if a not in wanted]:
            self.update(address, None)
        for address, info in wanted.items():
            if self._known.get(address) != info:
                self.update(address, info)

    def next_digest(self, address: str) -> datetime | None:
        """When the channel's next scheduled digest falls due, on the injected clock,
        in the channel's time zone; None when it has no job (paused, no topics)."""
        job = self.scheduler.get_job(f"digest:{address}")
        if job is None:
            return None
        trigger: ClockedTrigger = job.trigger
        return trigger.next_fire

    def known(self, platform: str, workspace: str) -> list[str]:
        """Addresses of the scheduled channels of one workspace."""
        prefix = f"{platform}:{workspace}/"
        return [address for address in self._known if address.startswith(prefix)]

    def update(self, address: str, info: ChannelInfo | None) -> None:
        """Re-derive one channel's job after a change; None (or paused, no topics) removes it."""
        active = info is not None and not info.paused and bool(info.topics)
        if active and self._known.get(address) == info:
            return  # unchanged (a search, say): keep the job as it is
        job_id = f"digest:{address}"
        # Remove and add rather than replace: before the scheduler starts,
        # APScheduler keeps added jobs in a pending list that does not dedupe.
        if self.scheduler.get_job(job_id) is not None:
            self.scheduler.remove_job(job_id)
        self._known.pop(address, None)
        if active:
            assert info is not None
            self._add(job_id, info)
            self._known[address] = info

    async def _resync(self) -> None:
        # Our own task, as with the ingest: every job returns at once, so
        # that none is in APScheduler's hands when it shuts down (``stop``).
        if self._resyncing is None or self._resyncing.done():
            self._resyncing = asyncio.create_task(self._resync_now())

    async def _resync_now(self) -> None:
        # Schedules changed by another process (the CLI, another bot) are
        # picked up within a minute.
        try:
            infos = await asyncio.to_thread(self._channels)
        except Exception:
            log.exception("reading the channels' schedules failed; trying again in a minute")
            return
        self.sync(infos)

    def _add(self, job_id: str, info: ChannelInfo) -> None:
        trigger = ClockedTrigger(trigger_for(info), self._clock)
        # Asked now, so that the next digest is known before the scheduler
        # starts too; APScheduler asks again when it takes the job.
        trigger.get_next_fire_time(None, datetime.now(UTC))
        self.scheduler.add_job(
            self._job,
            trigger,
            args=(info.address, None),
            id=job_id,
            coalesce=True,
            misfire_grace_time=max(int(self.grace.total_seconds()), 1),
        )

    async def _job(self, address: str, due: datetime | None) -> None:
        self._due.setdefault(address, due or self._clock())
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def flush(self) -> None:
        """Wait until every digest queued so far, and a running ingest and resync, are done."""
        while self._flushing is not None and not self._flushing.done():
            await self._flushing
        for task in (self._ingesting, self._resyncing):
            if task is not None:
                await task

    @property
    def ingesting(self) -> bool:
        """Whether an ingest runs right now."""
        return self._ingesting is not None and not self._ingesting.done()

    async def _flush(self) -> None:
        # Yield once so that the jobs firing in this same instant join the batch.
        await asyncio.sleep(0)
        while self._due:
            batch, self._due = self._due, {}
            try:
                await asyncio.to_thread(self._run, batch)
            except Exception:
                log.exception("digests for %d channels failed; their papers stay in the ledger",
                              len(batch))

    async def _run_ingest(self) -> None:
        # Our own task rather than the job itself: shutdown waits for it
        # (``flush``) instead of cancelling it halfway.
        if self._ingesting is None or self._ingesting.done():
            self._ingesting = asyncio.create_task(self._ingest_now())

    async def _ingest_now(self) -> None:
        assert self._ingest is not None
        try:
            await asyncio.to_thread(self._ingest)
        except UserError as exc:  # expected (a full disk): one line, no traceback
            log.error("ingest failed: %s; it runs again in %s", exc, self._ingest_every)
        except Exception:
            log.exception("ingest failed; it runs again in %s", self._ingest_every)

    async def stop(self) -> None:
        """Stop firing, then wait for the digests queued and the ingest running (``flush``).

        APScheduler cancels the jobs it has handed to the loop but not yet
        run when it shuts down, and logs each as an error with a traceback.
        Paused first, it hands over no more; every job here returns in its
        first step (the work is in tasks of ours), and the loop runs the
        steps of tasks created earlier before it resumes this one: after one
        yield, none is left to cancel.
        """
        if self.scheduler.running:
            self.scheduler.pause()
            await asyncio.sleep(0)
            self.scheduler.shutdown(wait=False)
        await self.flush()

    @property
    def running(self) -> bool:
        """Whether the jobs fire (between ``start`` and ``shutdown``)."""
        return bool(self.scheduler.running)
