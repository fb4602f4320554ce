"""A channel's digest schedule: local time, time zone and cadence. No I/O.

Written the way people type it after ``schedule``::

    HH:MM [TIMEZONE] [daily | weekdays | weekly DAY]

e.g. ``08:30``, ``08:30 Europe/Berlin``, ``9:00 America/New_York weekdays``,
``07:00 weekly mon``. The time may also be written ``08.30``, ``8am``,
``8:30pm`` or ``8 pm``. Parts left out keep the channel's current values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError

__all__ = ["CADENCES", "DAYS", "Schedule", "ScheduleError", "parse_schedule"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CADENCES = ("daily", "weekdays", "weekly DAY")
USAGE = "schedule HH:MM [TIMEZONE] [daily|weekdays|weekly DAY], e.g. schedule 08:30 Europe/Berlin weekdays"
_TIME = re.compile(
    r"(?P<hour>[01]?\d|2[0-3])(?:[:.](?P<minute>[0-5]\d))?(?P<half>[ap]\.?m\.?)?", re.IGNORECASE
)
_HALF = re.compile(r"[ap]\.?m\.?", re.IGNORECASE)
_FULL_DAYS = dict(zip(DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                             "saturday", "sunday"), strict=True))
_DAY_NAMES = {**{day: day for day in DAYS}, **{full: day for day, full in _FULL_DAYS.items()}}


class ScheduleError(UserError, ValueError):
    """A schedule we cannot use; the message says what to write instead."""


@dataclass(frozen=True)
class Schedule:
    time: str  # "HH:MM", zero-padded
    timezone: str | None = None  # None: keep the channel's
    cadence: str | None = None  # "daily", "weekdays" or "weekly mon"; None: keep


def _zone(name: str) -> str | None:
    if name.upper() in ("UTC", "GMT"):
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _time_of_day(typed: str) -> str:
    """``HH:MM`` from ``8:30``, ``08.30``, ``8am``, ``8:30pm``; ``ScheduleError`` otherwise."""
    match = _TIME.fullmatch(typed)
    # A bare number is not a time: "schedule 8" may mean 08:00 or 20:00.
    if not match or not (match["minute"] or match["half"]):
        raise ScheduleError(f"{typed[:40]!r} is not a time of day. Use {USAGE}.")
    hour, minute = int(match["hour"]), int(match["minute"] or 0)
    if match["half"]:
        if not 1 <= hour <= 12:
            raise ScheduleError(
                f"{typed[:40]!r} is not a time of day: with am or pm the hour is 1 to 12."
            )
        hour = hour % 12 + (12 if match["half"][0].lower() == "p" else 0)
    return f"{hour:02d}:{minute:02d}"


def parse_schedule(words: list[str]) -> Schedule:
    if not words:
        raise ScheduleError(f"Say when: {USAGE}.")
    rest = list(words[1:])
    typed = words[0]
    if rest and _HALF.fullmatch(rest[0]):  # "8 pm"
        typed, rest = typed + rest[0], rest[1:]
    time = _time_of_day(typed)
    timezone = None
    if rest and ("/" in rest[0] or rest[0].upper() in ("UTC", "GMT")):
        timezone = _zone(rest[0])
        if timezone is None:
            raise ScheduleError(
                f"{rest[0][:60]!r} is not a time zone; use an IANA name such as "
                "Europe/Berlin, America/New_York or UTC."
            )
        rest = rest[1:]
    cadence = None
    if rest:
        kind = rest[0].lower()
        if kind in ("daily", "weekdays") and len(rest) == 1:
            cadence = kind
        elif kind == "weekly" and len(rest) == 2 and rest[1].lower() in _DAY_NAMES:
            cadence = f"weekly {_DAY_NAMES[rest[1].lower()]}"
        else:
            raise ScheduleError(
                f"{' '.join(rest)[:60]!r} is not a cadence; use daily, weekdays or "
                "weekly DAY (e.g. weekly mon)."
            )
    return Schedule(time=time, timezone=timezone, cadence=cadence)
