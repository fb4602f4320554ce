"""arXiv's announcement calendar: which evenings announce, what each covers, when feeds are empty.

arXiv announces new submissions at 20:00 US Eastern on Sunday to Thursday
evenings, never on Friday or Saturday, and skips the holidays it lists
(https://info.arxiv.org/help/availability.html). Each announcement covers
the submissions received since the previous announcement's cutoff, up to
14:00 Eastern on its own day (Sunday's: Friday 14:00):

    Monday 14:00 - Tuesday 14:00     announced Tuesday 20:00
    Tuesday 14:00 - Wednesday 14:00  announced Wednesday 20:00
    Wednesday 14:00 - Thursday 14:00 announced Thursday 20:00
    Thursday 14:00 - Friday 14:00    announced Sunday 20:00
    Friday 14:00 - Monday 14:00      announced Monday 20:00

A skipped evening's submissions go out with the next announcement. The
RSS and Atom feeds (rss.arxiv.org) are rebuilt each midnight Eastern from
the evening's announcement, so a *feed day* (an Eastern calendar day) has
news when the evening before it announced, and is empty otherwise:
Saturdays, Sundays and the day after a holiday.

``HOLIDAYS`` holds the evenings arXiv listed as deferred; add a year's list
when arXiv publishes it (its availability page and blog do, each year). A
holiday missing here only makes a quiet feed day look like a news day
(backfill asks the API for it and finds the papers of the next
announcement, which it would have fetched anyway); it loses nothing.

I/O: none. Times are timezone-aware; Eastern time is
``zoneinfo.ZoneInfo("America/New_York")``, daylight saving included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ANNOUNCE_TIME",
    "CUTOFF_TIME",
    "EASTERN",
    "FEED_UPDATE_LAG",
    "HOLIDAYS",
    "Announcement",
    "announcement_of",
    "announcements_between",
    "announces",
    "feed_day",
    "feed_day_has_news",
    "last_announcement",
]

EASTERN = ZoneInfo("America/New_York")
ANNOUNCE_TIME = time(20, 0)
CUTOFF_TIME = time(14, 0)
# Monday is 0: Sunday to Thursday evenings announce.
_ANNOUNCING_WEEKDAYS = frozenset({6, 0, 1, 2, 3})
# The feeds are rebuilt "at midnight Eastern"; a fetch this soon after
# midnight may still get the day before's document.
FEED_UPDATE_LAG = timedelta(hours=1)

# Evenings without an announcement besides Fridays and Saturdays, as arXiv
# listed them under "On Deferred Mailings" on its availability page
# (arXiv/arxiv-docs, source/help/availability.md, "2023 Holidays").
HOLIDAYS: dict[date, str] = {
    date(2023, 1, 16): "Martin Luther King Jr. Day",
    date(2023, 6, 14): "deferred mailing",
    date(2023, 6, 19): "Juneteenth",
    date(2023, 7, 4): "Independence Day",
    date(2023, 9, 4): "Labor Day",
    date(2023, 11, 23): "Thanksgiving",
    date(2023, 12, 25): "Christmas",
    date(2023, 12, 27): "deferred mailing",
}


@dataclass(frozen=True)
class Announcement:
    """One evening's announcement: its day (Eastern), when it went out, what it covers.

    ``covers_from`` and ``covers_until`` bound the submission times it
    announces (from the previous announcement's cutoff to its own), all in UTC.
    """

    day: date
    at: datetime
    covers_from: datetime
    covers_until: datetime

    @property
    def feed_day(self) -> date:
        """The Eastern day whose feed shows it: the day after the evening it went out."""
        return self.day + timedelta(days=1)


def announces(day: date) -> bool:
    """Whether arXiv announces on the evening of ``day`` (an Eastern calendar day)."""
    return day.weekday() in _ANNOUNCING_WEEKDAYS and day not in HOLIDAYS


def feed_day(moment: datetime) -> date:
    """The feed day a fetch at ``moment`` reads: its Eastern date, less the rebuild's lag."""
    return (moment.astimezone(EASTERN) - FEED_UPDATE_LAG).date()


def feed_day_has_news(day: date) -> bool:
    """Whether arXiv's feeds have entries on ``day``: the evening before announced.

    False on Saturdays, Sundays and the day after a holiday: an empty feed
    then is arXiv's calendar, not a broken feed.
    """
    return announces(day - timedelta(days=1))


def _eastern(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=EASTERN)


def _cutoff(day: date) -> datetime:
    """The submission deadline of the announcement of ``day``: 14:00 of its last weekday."""
    weekday = day.weekday()
    deadline = day - timedelta(days=weekday - 4) if weekday > 4 else day
    return _eastern(deadline, CUTOFF_TIME)


def _previous_announcing(day: date) -> date:
    day -= timedelta(days=1)
    while not announces(day):
        day -= timedelta(days=1)
    return day


def announcement_of(day: date) -> Announcement:
    """The announcement of the evening of ``day``; ValueError when that evening has none."""
    if not announces(day):
        raise ValueError(f"arXiv announces nothing on the evening of {day:%a %d %b %Y}")
    start = _cutoff(_previous_announcing(day))
    return Announcement(
        day=day,
        at=_eastern(day, ANNOUNCE_TIME),
        covers_from=start.astimezone(ZoneInfo("UTC")),
        covers_until=_cutoff(day).astimezone(ZoneInfo("UTC")),
    )


def last_announcement(moment: datetime) -> Announcement:
    """The latest announcement that went out at or before ``moment``."""
    local = moment.astimezone(EASTERN)
    day = local.date()
    if local.time() < ANNOUNCE_TIME or not announces(day):
        day = _previous_announcing(day)
    return announcement_of(day)


def announcements_between(after: datetime, until: datetime) -> Iterator[Announcement]:
    """The announcements that went out in ``(after, until]``, oldest first."""
    day = after.astimezone(EASTERN).date()
    last = until.astimezone(EASTERN).date()
    while day <= last:
        if announces(day):
            one = announcement_of(day)
            if after < one.at <= until:
                yield one
        day += timedelta(days=1)
