"""The core's parts wired together: what the CLI, the runtime and the commands hold.

``Service`` is a composition root, not a facade: it opens the database and
the search index from settings and hands each subsystem what it needs.
Callers use the parts directly:

- ``catalog`` (``bot.search.catalog.Catalog``): papers in, search, show, export, import;
- ``channels`` (``bot.chat.channels.Channels``): every change to a channel;
- ``ratings`` (``bot.chat.ratings.Ratings``): what a channel's people say of papers;
- ``tastes`` (``bot.chat.tastes.Tastes``): what those votes taught each channel's ranking;
- ``reading`` (``bot.chat.reading.ReadingList``): the papers each channel saved, who read them;
- ``feeds`` (``bot.ingest.registry.Feeds``): the feeds table;
- ``ingestion`` (``bot.ingest.jobs.Ingestion``): the ingest job, feeds run by hand, seed files;
- ``backfill`` (``bot.ingest.backfill.Backfill``): missed arXiv announcement days from the API;
- ``harvester`` (``bot.ingest.harvest.Harvester``): the whole catalog from an OAI-PMH interface;
- ``deliverer`` (``bot.digest.deliver.Deliverer``): digests, scheduled or asked for;
- ``updates`` (``bot.digest.updates.Updates``): later news of posted papers, in their threads.

The ``/papers`` commands (``bot.chat.commands``) sit above it and call the parts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bot.chat.channels import Channels
from bot.chat.ratings import Ratings
from bot.chat.reading import ReadingList
from bot.chat.tastes import Tastes
from bot.config import Settings
from bot.digest.deliver import Deliverer
from bot.digest.updates import Updates
from bot.ingest.backfill import DEFAULT_API_URL, Backfill
from bot.ingest.fetch import Fetcher
from bot.ingest.harvest import DEFAULT_OAI_URL, Harvester
from bot.ingest.jobs import Ingestion
from bot.ingest.pacing import ARXIV_DOMAINS, HostPacer
from bot.ingest.registry import Feeds
from bot.ingest.run import Ingester
from bot.search.catalog import Catalog
from bot.search.index import SearchIndex
from bot.store.db import Database, DatabaseError, open_database

__all__ = ["Clock", "Service", "api_pacer", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def api_pacer(
    api_url: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> HostPacer:
    """arXiv's pacing, and the same for the arXiv API's host when it is another (a mirror)."""
    host = (urlsplit(api_url).hostname or "").lower()
    domains = ARXIV_DOMAINS if not host or any(
        host == d or host.endswith("." + d) for d in ARXIV_DOMAINS
    ) else (*ARXIV_DOMAINS, host)
    return HostPacer(domains=domains, clock=clock, sleep=sleep)


class Service:
    """One catalog database, its search index and the subsystems that use them."""

    def __init__(
        self,
        *,
        db: Database,
        index: SearchIndex,
        clock: Clock = utcnow,
        timezone: str = "UTC",
        digest_time: str = "09:00",
        first_digest_days: int = 7,
        quiet_day_line: bool = False,
        seeds_dir: Path | None = None,
        feeds: Sequence[str] = (),
        fetcher: Fetcher | None = None,
        backfill_max_days: int = 0,
        arxiv_api_url: str = DEFAULT_API_URL,
        oai_url: str = DEFAULT_OAI_URL,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.index = index
        self.clock = clock

        def now() -> datetime:  # the clock as it is set when asked (tests move it)
            return self.clock()

        self.catalog = Catalog(db=db, index=index, clock=now)
        self.deliverer = Deliverer(
            db=db, clock=now, first_digest_days=first_digest_days, quiet_day_line=quiet_day_line,
            index=index,
        )
        self.channels = Channels(
            db=db, clock=now, timezone=timezone, digest_time=digest_time,
            on_topic=self.deliverer.topics.parsed,
        )
        self.tastes = Tastes(db=db, index=index, clock=now)
        self.ratings = Ratings(db=db, clock=now, timezone=timezone, digest_time=digest_time,
                               on_vote=self.tastes.learn, on_vote_later=self.tastes.learn_later)
        self.deliverer.before_selection = self.tastes.catch_up
        self.updates = Updates(db=db, clock=now)
        self.reading = ReadingList(db=db, clock=now, timezone=timezone, digest_time=digest_time)
        self.feeds = Feeds(db, configured=feeds, clock=now)
        fetcher = fetcher or Fetcher(pacer=api_pacer(arxiv_api_url, sleep=sleep))
        self.backfill = Backfill(
            db=db, fetcher=fetcher, writer=self.catalog, clock=now, sleep=sleep,
            api_url=arxiv_api_url, max_days=backfill_max_days,
        )
        self.oai_url = oai_url
        self.harvester = Harvester(db=db, fetcher=fetcher, writer=self.catalog, sleep=sleep,
                                   monotonic=monotonic, clock=now)
        self.ingestion = Ingestion(
            feeds=self.feeds,
            ingester=Ingester(
                self.feeds,
                fetcher=fetcher,
                writer=self.catalog,
                backfill=self.backfill if backfill_max_days else None,
            ),
            writer=self.catalog,
            seeds_dir=seeds_dir,
        )

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        writes: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> Service:
        """The service of ``settings``; with ``writes``, a database this user may only
        read is refused at once (``DatabaseError``), before the search index is opened.

        ``sleep`` and ``monotonic`` are what the arXiv pacing, the backfill's
        and the harvest's waits use (tests pass a clock that moves only when slept on)."""
        db = open_database(settings.effective_database_url)
        if writes:
            try:
                db.check_writable()
            except DatabaseError:
                db.dispose()
                raise
        index = SearchIndex.open(
            settings.index_dir,
            catalog_id=db.catalog_id,
            writer_memory=settings.index_memory_mb * 2**20,
        )
        return cls(
            db=db,
            index=index,
            clock=clock,
            timezone=settings.timezone,
            digest_time=settings.digest_time,
            first_digest_days=settings.first_digest_days,
            quiet_day_line=settings.quiet_day_line,
            seeds_dir=settings.seeds_dir,
            feeds=settings.feeds,
            fetcher=Fetcher(
                connect_timeout=min(10, settings.feed_timeout),
                read_timeout=settings.feed_timeout,
                deadline=4 * settings.feed_timeout,
                max_bytes=settings.feed_max_mb * 2**20,
                pacer=api_pacer(settings.arxiv_api_url, sleep=sleep, clock=monotonic),
            ),
            backfill_max_days=settings.backfill_max_days,
            arxiv_api_url=settings.arxiv_api_url,
            oai_url=settings.oai_url,
            sleep=sleep,
            monotonic=monotonic,
        )

    def close(self) -> None:
        self.db.dispose()
