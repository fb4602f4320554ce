"""arXiv's calendar: which evenings announce, what each covers, which feed days are empty.

Every date is written out: the calendar never looks at today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.ingest.arxiv_calendar import (
    EASTERN,
    HOLIDAYS,
    announcement_of,
    announcements_between,
    announces,
    feed_day,
    feed_day_has_news,
    last_announcement,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def eastern(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=EASTERN)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 3, 23), True),  # Sunday
        (date(2025, 3, 24), True),  # Monday
        (date(2025, 3, 27), True),  # Thursday
        (date(2025, 3, 28), False),  # Friday
        (date(2025, 3, 29), False),  # Saturday
        (date(2023, 11, 23), False),  # Thanksgiving, a Thursday arXiv listed
        (date(2023, 12, 25), False),  # Christmas, a Monday
        (date(2023, 11, 22), True),  # the Wednesday before
    ],
)
def test_which_evenings_announce(day: date, expected: bool) -> None:
    assert announces(day) is expected


def test_the_holidays_are_weekdays_arxiv_would_otherwise_announce() -> None:
    # Each entry must matter: a Friday or Saturday is quiet anyway.
    assert HOLIDAYS and all(day.weekday() in (6, 0, 1, 2, 3) for day in HOLIDAYS)


def test_a_weekday_announcement_covers_the_day_before_from_14_00_eastern() -> None:
    wednesday = announcement_of(date(2025, 3, 19))
    assert wednesday.at == eastern("2025-03-19T20:00")
    assert wednesday.covers_from == utc("2025-03-18T18:00")  # Tue 14:00 EDT
    assert wednesday.covers_until == utc("2025-03-19T18:00")
    assert wednesday.feed_day == date(2025, 3, 20)


def test_sunday_covers_thursday_to_friday_and_monday_the_weekend() -> None:
    sunday = announcement_of(date(2025, 3, 23))
    assert (sunday.covers_from, sunday.covers_until) == (
        utc("2025-03-20T18:00"), utc("2025-03-21T18:00"))
    monday = announcement_of(date(2025, 3, 24))
    assert (monday.covers_from, monday.covers_until) == (
        utc("2025-03-21T18:00"), utc("2025-03-24T18:00"))


def test_windows_follow_daylight_saving_time() -> None:
    # US clocks moved forward on Sun 9 Mar 2025: Friday's 14:00 is 19:00 UTC, Monday's 18:00.
    monday = announcement_of(date(2025, 3, 10))
    assert (monday.covers_from, monday.covers_until) == (
        utc("2025-03-07T19:00"), utc("2025-03-10T18:00"))


def test_a_holiday_rolls_its_submissions_into_the_next_announcement() -> None:
    # No announcement on Thanksgiving (Thu 23 Nov 2023): Sunday's covers Wednesday on.
    sunday = announcement_of(date(2023, 11, 26))
    assert (sunday.covers_from, sunday.covers_until) == (
        utc("2023-11-22T19:00"), utc("2023-11-24T19:00"))
    with pytest.raises(ValueError, match="announces nothing"):
        announcement_of(date(2023, 11, 23))


def test_windows_tile_time_without_gaps_or_overlaps() -> None:
    day, end = date(2023, 6, 1), date(2024, 1, 31)
    previous = None
    while day <= end:
        if announces(day):
            one = announcement_of(day)
            assert one.covers_from < one.covers_until
            if previous is not None:
                assert one.covers_from == previous.covers_until
            previous = one
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "news"),
    [
        (date(2025, 3, 22), False),  # Saturday: Friday announced nothing
        (date(2025, 3, 23), False),  # Sunday: Saturday neither
        (date(2025, 3, 24), True),  # Monday: Sunday evening's announcement
        (date(2025, 3, 28), True),  # Friday: Thursday's
        (date(2023, 11, 24), False),  # the Friday after Thanksgiving
    ],
)
def test_feed_days_with_and_without_news(day: date, news: bool) -> None:
    assert feed_day_has_news(day) is news


def test_the_feed_day_of_a_fetch_is_its_eastern_date_after_the_rebuild() -> None:
    assert feed_day(utc("2025-03-22T03:00")) == date(2025, 3, 21)  # Fri 23:00 EDT
    assert feed_day(utc("2025-03-22T04:30")) == date(2025, 3, 21)  # just after midnight
    assert feed_day(utc("2025-03-22T05:30")) == date(2025, 3, 22)


def test_the_last_announcement_before_a_moment() -> None:
    assert last_announcement(utc("2025-03-22T12:00")).day == date(2025, 3, 20)  # Saturday
    assert last_announcement(eastern("2025-03-24T19:59")).day == date(2025, 3, 23)
    assert last_announcement(eastern("2025-03-24T20:00")).day == date(2025, 3, 24)


def test_announcements_between_two_moments() -> None:
    found = announcements_between(utc("2025-03-19T12:00"), utc("2025-03-24T12:00"))
    assert [a.day for a in found] == [date(2025, 3, 19), date(2025, 3, 20), date(2025, 3, 23)]
