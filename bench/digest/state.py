"""The digest benchmark's fixed day and data directory: the clock's times, the marker, the service.

Every phase opens the service with its clock at one of these times, so runs
are the same whatever the machine's date; the marker file says what the
data directory holds, so that ``--reuse`` rebuilds only what changed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOG_AT",
    "DAY_ID_PREFIX",
    "DAY_IMPORT_AT",
    "DAY_STREAM",
    "DB_FILE",
    "MARKER",
    "NOW",
    "PREVIOUS_DIGEST_AT",
    "TODAY",
    "TODAY_START",
    "YESTERDAY",
    "open_service",
    "read_marker",
    "warm_files",
    "write_marker",
]

MARKER = "bench-digest.json"
DB_FILE = "digestbot.sqlite3"


# A fixed "today", after the synthetic catalog's last publication day
# (2026-10-31), so that runs are the same whatever the machine's date.
TODAY = date(2026, 11, 3)
YESTERDAY = TODAY - timedelta(days=1)
CATALOG_AT = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # when the catalog was imported
PREVIOUS_DIGEST_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # every channel's last digest
DAY_IMPORT_AT = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)  # today's papers enter
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # the digests run
TODAY_START = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
DAY_ID_PREFIX = "2611"
# The day's papers are the catalog's vocabulary in another stream of papers:
# SyntheticCatalog's with this seed (negative, so never a catalog's own).
DAY_STREAM = -1


def open_service(data_dir: Path, *, clock_at: datetime, database_url: str | None = None) -> Any:
    from bot.chat.service import Service
    from bot.config import Settings

    settings = Settings(data_dir=data_dir, database_url=database_url)
    return Service.open(settings, clock=lambda: clock_at)


def read_marker(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / MARKER
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def write_marker(data_dir: Path, marker: dict[str, Any]) -> None:
    (data_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")


def warm_files(data_dir: Path, database_url: str | None = None) -> float:
    """Read the SQLite files once, as a bot that just imported the day would have them cached."""
    if database_url:
        from bench.pg import prewarm

        return prewarm(database_url)
    start = time.perf_counter()
    for path in sorted(data_dir.glob(DB_FILE + "*")):
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass
    return time.perf_counter() - start
