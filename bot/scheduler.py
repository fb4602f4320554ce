"""APScheduler wiring: one cron job per channel, in the channel's own time zone.

Jobs hold no selection logic: each calls ``Service.run_scheduled``, which
decides whether the channel is due (at most one scheduled digest per local
day, paused channels skipped) and builds the digest. Jobs are derived from
the database at start and re-derived by ``sync`` when schedules change. A
digest missed while the bot was down is caught up once at start when its
time lies within the grace period.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.messages import Digest
from bot.subscriptions import ChannelInfo

__all__ = ["DigestScheduler", "last_due", "trigger_for"]

log = logging.getLogger(__name__)


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


class DigestScheduler:
    """Keeps one APScheduler job per channel; ``run`` is the core entry point jobs call."""

    def __init__(
        self,
        *,
        channels: Callable[[], list[ChannelInfo]],
        run: Callable[[str, datetime], Digest | None],
        grace: timedelta = timedelta(hours=6),
        clock: Callable[[], datetime],
    ) -> None:
        self._channels = channels
        self._run = run
        self.grace = grace
        self._clock = clock
        self.scheduler = AsyncIOScheduler()

    def start(self) -> None:
        self.sync()
        now = self._clock()
        for info in self._channels():
            due = last_due(info, since=now - self.grace, now=now)
            if due is not None:
                # Missed while down: caught up once; run_scheduled skips a day
                # that already had its digest.
                self.scheduler.add_job(self._job, args=(info.address, due), id=f"catch-up:{info.address}")
        self.scheduler.start()

    def sync(self) -> None:
        """Make the jobs match the channels' schedules in the database."""
        wanted = {f"digest:{info.address}": info for info in self._channels()}
        # Remove and add rather than replace: before the scheduler starts,
        # APScheduler keeps added jobs in a pending list that does not dedupe.
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for job_id, info in wanted.items():
            self.scheduler.add_job(
                self._job,
                trigger_for(info),
                args=(info.address, None),
                id=job_id,
                coalesce=True,
                misfire_grace_time=int(self.grace.total_seconds()),
            )

    async def _job(self, address: str, due: datetime | None) -> None:
        try:
            await asyncio.to_thread(self._run, address, due or self._clock())
        except Exception:
            log.exception("digest for %s failed; its papers stay in the ledger", address)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
