"""The core's settings; the chat platforms' are their adapters' (``bot.config.all_settings``)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from bot.config.setting import Setting

__all__ = ["PROJECT_SEEDS_DIR", "SETTINGS", "default_data_dir"]

# The project's own seed catalog, beside the packages in a source checkout.
PROJECT_SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("digestbot", appauthor=False))


def _timezone_complaint(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {name!r} is not an IANA time zone; use e.g. UTC or Europe/Berlin."
    return None


_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def _digest_time_complaint(text: str) -> str | None:
    if _HHMM.fullmatch(text):
        return None
    return f"digest_time must be HH:MM (24-hour), got {text!r}."


def _feeds_complaint(urls: tuple[str, ...]) -> str | None:
    for url in urls:
        if not url.startswith(("https://", "http://")) or len(url) > 2000:
            return (
                f"feeds: {url[:200]!r} is not an http(s) URL of at most 2,000 characters; "
                "list feed URLs such as https://rss.arxiv.org/rss/cs.CV."
            )
    return None


def _fixed_now_complaint(text: str) -> str | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return (f"fixed_now must be an ISO 8601 time with its zone, e.g. "
                f"2025-03-18T09:00+00:00, got {text!r}.")
    return None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="data_dir",
        type=Path,
        default_factory=default_data_dir,
        help="Directory for everything digestbot keeps on disk: the default SQLite "
        "database and the search index. Default: the per-user data directory "
        "(on Linux ~/.local/share/digestbot).",
    ),
    Setting(
        name="database_url",
        type=str,
        default=None,
        help="SQLAlchemy database URL of the catalog, e.g. "
        "postgresql+psycopg://user@host/digestbot. Default: a SQLite file "
        "digestbot.sqlite3 in the data directory.",
    ),
    Setting(
        name="seeds_dir",
        type=Path,
        default=PROJECT_SEEDS_DIR,
        help="Directory of seed files that `digestbot seed` imports when given no path.",
    ),
    Setting(
        name="search_limit",
        type=int,
        default=10,
        range=(1, 100),
        help="Number of results `search` shows when no --limit is given (1-100).",
    ),
    Setting(
        name="timezone",
        type=str,
        default="UTC",
        check=_timezone_complaint,
        help="IANA time zone a new channel's digest time is read in, e.g. Europe/Berlin "
        "(each channel can change its own).",
    ),
    Setting(
        name="digest_time",
        type=str,
        default="09:00",
        check=_digest_time_complaint,
        help="Local time HH:MM of a new channel's daily digest (each channel can change its own).",
    ),
    Setting(
        name="first_digest_days",
        type=int,
        default=7,
        range=(1, 365),
        help="A channel's first digest takes the papers that entered the catalog in this "
        "many days before it (1-365), so a new subscriber is not flooded.",
    ),
    Setting(
        name="catch_up_hours",
        type=int,
        default=6,
        range=(0, 48),
        help="A digest missed while the bot was down is posted once when it starts again, "
        "if its time was at most this many hours ago (0-48; 0 never catches up).",
    ),
    Setting(
        name="quiet_day_line",
        type=bool,
        default=False,
        help="On a scheduled day with nothing new, post one short \"nothing new today\" "
        "line instead of staying silent (true or false).",
    ),
    Setting(
        name="ingest_minutes",
        type=int,
        default=60,
        range=(5, 1440),
        help="How often `digestbot run` looks for new papers, in minutes (5-1440): the "
        "configured feeds and the seed directory.",
    ),
    Setting(
        name="feeds",
        type=tuple,
        default=(
            "https://rss.arxiv.org/rss/cs.CV",
            "https://rss.arxiv.org/rss/eess.IV",
            "https://rss.arxiv.org/rss/cs.LG",
        ),
        check=_feeds_complaint,
        help="RSS/Atom feeds the ingest job reads, as a list of URLs (in the environment: "
        "separated by spaces; empty for none). `digestbot feeds add URL` adds more. "
        "Default: arXiv's daily feeds of cs.CV, eess.IV and cs.LG.",
    ),
    Setting(
        name="backfill_max_days",
        type=int,
        default=7,
        range=(0, 60),
        help="When the bot was down across arXiv announcement days, the next ingest "
        "fetches those days' papers of the arXiv feeds' categories from the arXiv API, "
        "up to this many days back (0-60; 0 never backfills). `digestbot backfill "
        "--days N` does it on demand.",
    ),
    Setting(
        name="arxiv_api_url",
        type=str,
        default="http://export.arxiv.org/api/query",
        schemes=("http://", "https://"),
        help="The arXiv API's query URL, which backfill asks for the papers of missed "
        "announcement days (one request at least every 3 seconds).",
    ),
    Setting(
        name="oai_url",
        type=str,
        default="https://oaipmh.arxiv.org/oai",
        schemes=("http://", "https://"),
        help="The OAI-PMH base URL `digestbot harvest` reads the whole arXiv catalog "
        "from (arXiv's own by default; a mirror's works too), one request at least "
        "every 3 seconds.",
    ),
    Setting(
        name="harvest_interval_days",
        type=int,
        default=0,
        range=(0, 30),
        help="Every this many days (0-30; 0, the default, never), `digestbot run` "
        "brings each harvest made with `digestbot harvest` up to date, asking only "
        "for the records changed since it last ran. Harvested papers are catalog, "
        "never news in a digest.",
    ),
    Setting(
        name="feed_timeout",
        type=int,
        default=30,
        range=(5, 300),
        help="Seconds a feed server may take to connect or to send more data (5-300); a "
        "whole fetch may take four times as long.",
    ),
    Setting(
        name="feed_max_mb",
        type=int,
        default=20,
        range=(1, 500),
        help="Largest feed document read, in MB (1-500); a bigger response is refused and "
        "the feed marked failing.",
    ),
    Setting(
        name="index_memory_mb",
        type=int,
        default=1024,
        range=(64, 16384),
        help="Memory in MB the search index may fill while writing before it flushes "
        "to disk (64-16384). More makes large imports faster; small imports use "
        "only what they need.",
    ),
    Setting(
        name="fixed_now",
        type=str,
        default="",
        check=_fixed_now_complaint,
        help="Replay a moment: the time digestbot takes as now, ISO 8601 with its zone "
        "(e.g. 2025-03-18T09:00+00:00), for benchmarks that replay past days. Empty "
        "(the default): the real clock.",
    ),
    Setting(
        name="log_level",
        type=str,
        default="WARNING",
        help="Logging level: DEBUG, INFO, WARNING or ERROR.",
    ),
)


