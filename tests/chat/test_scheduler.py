"""Schedules in each channel's time zone, across daylight-saving changes, with an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat.channels import ChannelInfo
from bot.chat.scheduler import ClockedTrigger, DigestScheduler, last_due, trigger_for
from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.model.messages import Digest
from bot.model.papers import PaperRecord

BERLIN = ZoneInfo("Europe/Berlin")
GENERAL = "console:local/general"


def info(time: str, cadence: str = "daily", tz: str = "Europe/Berlin") -> ChannelInfo:
    return ChannelInfo(address=GENERAL, timezone=tz, digest_time=time, cadence=cadence,
                       max_papers=10, paused=False, paused_reason=None, topics=("mri",))


def fire_times(channel: ChannelInfo, start: datetime, end: datetime) -> list[datetime]:
    trigger = trigger_for(channel)
    times, fire = [], trigger.get_next_fire_time(None, start)
    while fire is not None and fire.astimezone(UTC) < end.astimezone(UTC):
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
    return times


@pytest.mark.parametrize("time", ["02:30", "09:00"])
@pytest.mark.parametrize("month_day", [(3, 26), (10, 22)])  # spring forward 29 Mar, fall back 25 Oct
def test_one_digest_each_day_across_dst(db, index, time: str, month_day: tuple[int, int]) -> None:
    clock_now = [datetime(2026, *month_day, tzinfo=BERLIN)]
    service = Service(db=db, index=index, clock=lambda: clock_now[0])
    service.channels.subscribe(GENERAL, "mri")
    service.channels.set_schedule(GENERAL, parse_schedule([time, "Europe/Berlin"]))
    start = datetime(2026, *month_day, tzinfo=BERLIN)
    posted: list[tuple[date, Digest]] = []
    for n, due in enumerate(fire_times(info(time), start, start + timedelta(days=6))):
        clock_now[0] = due - timedelta(minutes=30)
        service.catalog.import_records([PaperRecord(id=f"2601.{n:05d}", title=f"MRI paper {n}")])
        clock_now[0] = due
        for outcome in service.deliverer.run_scheduled({GENERAL: due}, send=lambda d: None):
            if isinstance(outcome.message, Digest):
                posted.append((due.astimezone(BERLIN).date(), outcome.message))
    days = [day for day, _ in posted]
    assert days == [start.date() + timedelta(days=k) for k in range(6)]  # none twice, none skipped


def test_weekdays_and_weekly_triggers() -> None:
    monday = datetime(2026, 11, 23, tzinfo=BERLIN)
    weekdays = fire_times(info("08:00", "weekdays"), monday, monday + timedelta(days=7))
    assert [t.strftime("%a %H:%M") for t in weekdays] == [
        "Mon 08:00", "Tue 08:00", "Wed 08:00", "Thu 08:00", "Fri 08:00"
    ]
    weekly = fire_times(info("07:15", "weekly thu"), monday, monday + timedelta(days=14))
    assert [t.strftime("%a %d %H:%M") for t in weekly] == ["Thu 26 07:15", "Thu 03 07:15"]


def test_last_due_steps_through_the_repeated_hour() -> None:
    channel = info("02:30")
    since = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    now = datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    due = last_due(channel, since=since, now=now)
    assert due is not None and due.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_missed_digest_is_caught_up_within_the_grace_only() -> None:
    channel = info("09:00", tz="UTC")
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert last_due(channel, since=now - timedelta(hours=6), now=now) == datetime(
        2026, 11, 28, 9, 0, tzinfo=UTC
    )
    late = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert last_due(channel, since=late - timedelta(hours=6), now=late) is None


def test_catch_up_after_downtime_posts_once(db, index) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    service = Service(db=db, index=index, clock=lambda: now)
    service.catalog.import_records([PaperRecord(id="2611.00001", title="MRI study")])
    service.channels.subscribe(GENERAL, "mri")
    service.channels.set_schedule(GENERAL, parse_schedule(["09:00", "UTC"]))
    due = last_due(service.channels.info(GENERAL), since=now - timedelta(hours=6), now=now)
    assert due is not None
    sent: list[Digest] = []
    assert [o.message for o in service.deliverer.run_scheduled({GENERAL: due}, send=sent.append)] == sent
    # The regular job firing for the same day (or a second catch-up) posts nothing.
    assert service.deliverer.run_scheduled({GENERAL: due + timedelta(minutes=1)}, send=sent.append) == []
    assert len(sent) == 1


def test_paused_channel_gets_no_scheduled_digest(db, index) -> None:
    service = Service(db=db, index=index)
    service.catalog.import_records([PaperRecord(id="2611.00001", title="MRI study")])
    service.channels.subscribe(GENERAL, "mri")
    service.channels.pause(GENERAL, reason="test")
    assert service.deliverer.run_scheduled({GENERAL: datetime.now(UTC)}, send=lambda d: None) == []
    assert service.channels.scheduled() == []


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday

    def __call__(self) -> datetime:
        return self.now


def test_jobs_follow_the_database(db, index) -> None:
    clock = Clock()
    service = Service(db=db, index=index, clock=clock)
    service.channels.subscribe(GENERAL, "mri")
    service.channels.subscribe("console:local/other", "ct")
    scheduler = DigestScheduler(channels=service.channels.scheduled,
                                run=lambda due: None, clock=clock)
    scheduler.sync()
    assert scheduler.next_digest(GENERAL) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert scheduler.next_digest("console:local/other") is not None
    service.channels.pause("console:local/other", reason="test")
    service.channels.set_schedule(GENERAL, parse_schedule(["07:45", "Asia/Tokyo", "weekdays"]))
    scheduler.sync()
    assert scheduler.next_digest("console:local/other") is None
    # Saturday 28 Nov 12:00 UTC: Monday's 07:45 in Tokyo.
    tokyo = scheduler.next_digest(GENERAL)
    assert tokyo == datetime(2026, 11, 30, 7, 45, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert str(tokyo.tzinfo) == "Asia/Tokyo"  # type: ignore[union-attr]


def test_sync_touches_only_changed_channels(db, index) -> None:
    clock = Clock()
    service = Service(db=db, index=index, clock=clock)
    service.channels.subscribe(GENERAL, "mri")
    service.channels.subscribe("console:local/other", "ct")
    scheduler = DigestScheduler(channels=service.channels.scheduled,
                                run=lambda due: None, clock=clock)
    scheduler.sync()
    before = scheduler.next_digest("console:local/other")
    # A change made elsewhere (another process, the CLI) reaches the next sync.
    service.channels.set_schedule(GENERAL, parse_schedule(["06:00", "America/Chicago"]))
    service.channels.subscribe("console:local/third", "pet")
    clock.now += timedelta(days=1, hours=1)  # a re-derived job would move a day on
    scheduler.sync()
    assert scheduler.next_digest("console:local/other") == before
    assert scheduler.next_digest(GENERAL) == datetime(
        2026, 11, 30, 6, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert scheduler.next_digest("console:local/third") is not None
    service.channels.unsubscribe("console:local/third", "pet")
    scheduler.sync()
    assert scheduler.next_digest("console:local/third") is None


def test_the_running_bot_parses_its_topics_before_the_catch_up_digests(db, index) -> None:
    # Beside the catch-up run, the parse would be done twice, each thread
    # slowing the other; before it, the catch-up finds every topic parsed.
    import time

    from tests.console_bot import ConsoleBot

    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    service = Service(db=db, index=index, clock=lambda: now)
    service.catalog.import_records([PaperRecord(id="2611.00001", title="MRI study")])
    service.channels.subscribe(GENERAL, "mri")
    service.channels.set_schedule(GENERAL, parse_schedule(["09:00", "UTC"]))
    restarted = Service(db=db, index=index, clock=lambda: now)  # nothing parsed yet
    calls: list[str] = []
    warm, run = restarted.deliverer.warm_topics, restarted.deliverer.run_scheduled

    def warm_topics() -> int:
        calls.append("warm_topics")
        time.sleep(0.3)  # a large parse: the catch-up must wait for it
        count = warm()
        calls.append("warmed")
        return count

    def run_scheduled(*args: object, **kwargs: object) -> object:
        calls.append("run_scheduled")
        return run(*args, **kwargs)  # type: ignore[arg-type]

    restarted.deliverer.warm_topics = warm_topics  # type: ignore[method-assign]
    restarted.deliverer.run_scheduled = run_scheduled  # type: ignore[method-assign,assignment]
    bot = ConsoleBot(restarted, lambda: now).start()
    try:
        bot.wait_for("1 new paper for mri")
    finally:
        bot.stop()
    assert calls == ["warm_topics", "warmed", "run_scheduled"]


def test_the_clocked_trigger_answers_in_the_clock_time_and_always_moves_on() -> None:
    daily = trigger_for(info("09:00", tz="UTC"))
    wall = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    # A test's clock days behind the wall clock: its next 09:00, as wall time.
    behind = ClockedTrigger(daily, lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    fire = behind.get_next_fire_time(None, wall)
    assert behind.next_fire == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    assert fire == wall + timedelta(hours=21)
    # A clock a hair behind APScheduler's own never gives back the time it just fired.
    hair = ClockedTrigger(daily, lambda: wall - timedelta(microseconds=5))
    again = hair.get_next_fire_time(wall, wall)
    assert again is not None and again > wall + timedelta(hours=23)
    assert hair.next_fire == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
