"""A moment as people read it in a channel's time zone: ``Thu 3 Dec 13:05``. No I/O."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

__all__ = ["local_day", "local_time"]


def local_time(moment: datetime, timezone: str) -> str:
    """``moment`` in ``timezone`` as weekday, day, month and time (``Thu 3 Dec 13:05``)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def local_day(moment: datetime, timezone: str) -> str:
    """The day of ``moment`` in ``timezone`` with its year: ``3 Dec 2026``."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%b %Y}"
