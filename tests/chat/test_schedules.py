"""Schedules as people type them, and the channel settings they change."""

from __future__ import annotations

import pytest

from bot.chat.schedules import Schedule, ScheduleError, parse_schedule
from bot.chat.service import Service

GENERAL = "console:local/general"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8:30", Schedule("08:30")),
        ("08:30 Europe/Berlin", Schedule("08:30", "Europe/Berlin")),
        ("9:00 America/New_York weekdays", Schedule("09:00", "America/New_York", "weekdays")),
        ("07:00 weekly Monday", Schedule("07:00", None, "weekly mon")),
        ("07:00 utc weekly SUN", Schedule("07:00", "UTC", "weekly sun")),
        ("23:59 daily", Schedule("23:59", None, "daily")),
        ("08.30", Schedule("08:30")),
        ("8am", Schedule("08:00")),
        ("8:30pm", Schedule("20:30")),
        ("8 pm Europe/Berlin", Schedule("20:00", "Europe/Berlin")),
        ("12am", Schedule("00:00")),
        ("12:15PM weekdays", Schedule("12:15", None, "weekdays")),
        ("7.05 a.m.", Schedule("07:05")),
    ],
)
def test_schedules(text: str, expected: Schedule) -> None:
    assert parse_schedule(text.split()) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Say when: schedule HH:MM"),
        ("25:00", "'25:00' is not a time of day"),
        ("noon", "'noon' is not a time of day"),
        ("8", "'8' is not a time of day"),
        ("13pm", "with am or pm the hour is 1 to 12"),
        ("0am", "with am or pm the hour is 1 to 12"),
        ("08:30 Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("08:30 hourly", "'hourly' is not a cadence"),
        ("08:30 weekly", "'weekly' is not a cadence"),
        ("08:30 weekly someday", "'weekly someday' is not a cadence"),
        ("08:30 daily extra", "'daily extra' is not a cadence"),
    ],
)
def test_bad_schedules_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text.split())


def test_schedule_pause_resume_change_the_channel(db, index) -> None:
    service = Service(db=db, index=index, timezone="UTC", digest_time="09:00")
    info = service.channels.set_schedule(GENERAL, parse_schedule(["8:30", "Europe/Berlin", "weekdays"]))
    assert info.schedule == "weekdays at 08:30 Europe/Berlin"
    info = service.channels.set_schedule(GENERAL, parse_schedule(["07:15"]))
    assert info.schedule == "weekdays at 07:15 Europe/Berlin"  # the rest is kept
    info = service.channels.pause(GENERAL, reason="channel_not_found")
    assert info.paused and info.paused_reason == "channel_not_found"
    info = service.channels.resume(GENERAL)
    assert not info.paused and info.paused_reason is None
    stored = service.channels.info(GENERAL)
    assert stored == info
    assert service.channels.info("console:local/none") is None
