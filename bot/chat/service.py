"""The facade that the CLI (and later the chat adapters and scheduler) call.

``Service`` ties the catalog database and its search index together: every
write goes to the database first and the index then catches up from it.
It returns plain values; turning them into text is the caller's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.catalog import (
    UpsertResult,
    count_papers,
    get_paper,
    upsert_papers,
)
from bot.chat.commands import handle
from bot.model.messages import IncomingCommand
from bot.config import Settings
from bot.store.db import Database, open_database
from bot.digest.deliver import ChannelUnavailable, Deliverer, Outcome, Post
from bot.digest.select import DigestInProgress, interrupted_channels
from bot.ingest.fetch import Fetcher
from bot.search.index import IndexBusyError, Progress, SearchIndex, catch_up
from bot.ingest.registry import FeedError, FeedInfo, Feeds
from bot.ingest.run import FeedReport, Ingester
from bot.model.messages import Digest, NothingNew, Reply
from bot.store.models import Channel
from bot.model.papers import PaperRecord
from bot.chat.schedules import Schedule
from bot.search.rank import SearchResults, more_like, search
from bot.ingest.seeds import read_seed_file, seed_paths
from bot.chat.channels import ChannelInfo, SubscribeResult, subscribe, unsubscribe
from bot.model.address import as_address
from bot.store.channels import all_topics, channel_topics, find_channel, get_or_create_channel
from bot.store.transfer import ImportCounts, export_database, import_database

__all__ = [
    "ChannelUnavailable",
    "DigestInProgress",
    "ImportReport",
    "Outcome",
    "Post",
    "Service",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ImportReport:
    """What one import source did to the catalog."""

    label: str
    seen: int
    new: int
    updated: int
    skipped: int
    problems: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    def line(self) -> str:
        return (
            f"{self.label}: seen={self.seen} new={self.new} "
            f"updated={self.updated} skipped={self.skipped}"
        )


def _display_path(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _batches(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _MergingWriter:
    """The ingester's ``CatalogWriter``: ``Service.import_records`` with ``merge``."""

    def __init__(self, service: Service) -> None:
        self._service = service

    def write(self, records: Sequence[PaperRecord], *, not_news: Collection[str]) -> UpsertResult:
        return self._service.import_records(records, merge=True, not_news=not_news)


class Service:
    """The catalog and its index, opened from settings."""

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
    ) -> None:
        self.db = db
        self.index = index
        self.clock = clock
        # Schedule defaults of a channel seen for the first time.
        self.timezone = timezone
        self.digest_time = digest_time
        self.deliverer = Deliverer(
            db=db,
            clock=lambda: self.clock(),
            first_digest_days=first_digest_days,
            quiet_day_line=quiet_day_line,
        )
        # Where the ingest job looks for seed files, besides the feeds.
        self.seeds_dir = seeds_dir
        self.feeds = Feeds(db, configured=feeds, clock=lambda: self.clock())
        self.ingester = Ingester(
            self.feeds,
            fetcher=fetcher or Fetcher(),
            writer=_MergingWriter(self),
        )

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock = utcnow) -> Service:
        db = open_database(settings.effective_database_url)
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
            ),
        )

    def close(self) -> None:
        self.db.dispose()

    # -- writing -------------------------------------------------------------

    def sync_index(self, *, progress: Progress | None = None) -> int:
        """Bring the search index up to the catalog; returns papers indexed."""
        with self.db.session() as session:
            return catch_up(session, self.index, progress=progress)

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild the search index from the catalog."""
        self.index.reset()
        return self.sync_index(progress=progress)

    def import_records(
        self,
        records: Iterable[PaperRecord],
        *,
        batch_size: int = 5000,
        progress: Progress | None = None,
        merge: bool = False,
        not_news: Collection[str] = (),
    ) -> UpsertResult:
        """Upsert ``records`` in batches (one transaction each) and index them.

        Each batch is committed to the database before the index sees it;
        the index is committed once at the end with everything else the
        catalog wrote meanwhile, so an interrupted import is finished by the
        next catch-up, never lost.
        """
        total = UpsertResult()
        written: list[int] = []
        with self.index.writer() as writer:
            for batch in _batches(records, batch_size):
                with self.db.session() as session:
                    result = upsert_papers(
                        session, batch, now=self.clock(), merge=merge, not_news=not_news
                    )
                total.new += result.new
                total.updated += result.updated
                total.unchanged += result.unchanged
                if result.revision is not None:
                    written.append(result.revision)
                    # The papers go to the index straight from memory rather
                    # than being read back from the database.
                    writer.add(result.added, replace=False)
                    writer.add(result.replaced)
                if progress:
                    progress(total.seen)
            with self.db.session() as session:
                caught_up, target = writer.catch_up(session, skip_revisions=written)
            if written or caught_up:
                writer.commit(target)
        return total

    def import_seed_files(self, paths: Sequence[Path]) -> list[ImportReport]:
        """Import seed files (directories expand to their ``*.txt``), one report each."""
        reports = []
        for path in seed_paths(paths):
            parsed = read_seed_file(_display_path(path))
            result = self.import_records(parsed.records)
            reports.append(
                ImportReport(
                    label=parsed.path,
                    seen=len(parsed.records) + len(parsed.problems),
                    new=result.new,
                    updated=result.updated,
                    skipped=len(parsed.problems),
                    problems=tuple(str(p) for p in parsed.problems),
                )
            )
        return reports

    def ingest(self) -> list[ImportReport | FeedReport]:
        """The ingest job: bring in whatever is new from the configured sources.

        The feeds that are due (enabled, and not waiting out a backoff), then
        the seed directory (a file dropped there is picked up; importing it
        again changes nothing). Also brings the index up to the catalog,
        whoever wrote to it.
        """
        reports: list[ImportReport | FeedReport] = []
        reports += self.ingester.run(self.feeds.due())
        if self.seeds_dir is not None and self.seeds_dir.is_dir():
            reports += self.import_seed_files([self.seeds_dir])
        self.sync_index()
        return reports

    # -- feeds -----------------------------------------------------------------

    def feed_list(self) -> list[FeedInfo]:
        return self.feeds.all()

    def add_feed(self, url: str, *, name: str | None = None) -> tuple[FeedInfo, str]:
        return self.feeds.add(url, name=name)

    def remove_feed(self, name: str) -> FeedInfo:
        return self.feeds.remove(name)

    def enable_feed(self, name: str) -> FeedInfo:
        return self.feeds.enable(name)

    def ingest_feeds(
        self,
        targets: Sequence[str] = (),
        *,
        report: Callable[[FeedReport], None] | None = None,
    ) -> list[FeedReport]:
        """Run feeds now: each target is a feed name, a feed URL (listed or not)
        or a feed file; without targets, every enabled feed, backoff or not."""
        if not targets:
            return self.ingester.run([f for f in self.feeds.all() if f.enabled], report=report)
        reports = []
        for target in targets:
            info = self.feeds.resolve(target)
            if info is not None:
                reports += self.ingester.run([info], report=report)
                continue
            if target.startswith(("http://", "https://")):
                one = self.ingester.run_url(target)
            elif Path(target).is_file():
                one = self.ingester.run_file(Path(target))
            else:
                raise FeedError(
                    f"{target!r} is no feed name, URL or file; `digestbot feeds list` "
                    "shows the feeds."
                )
            if report is not None:
                report(one)
            reports.append(one)
        return reports

    def import_jsonl(
        self, stream: IO[str], *, label: str, progress: Progress | None = None
    ) -> tuple[ImportReport, ImportCounts]:
        """Restore what ``export`` wrote (a bad line is reported and skipped): the
        papers' report, and what came besides (channels, topics, deliveries, feeds)."""
        seen = 0

        def store(records: Sequence[PaperRecord], not_news: Collection[str]) -> UpsertResult:
            nonlocal seen
            result = self.import_records(records, not_news=not_news)
            seen += len(records)
            if progress:
                progress(seen)
            return result

        result, bad, counts = import_database(
            self.db, enumerate(stream, start=1), store=store, label=label
        )
        report = ImportReport(
            label=label,
            seen=result.seen + bad,
            new=result.new,
            updated=result.updated,
            skipped=bad,
            problems=tuple(counts.problems),
        )
        return report, counts

    # -- subscriptions -------------------------------------------------------

    def _channel(self, session: Session, address: str) -> Channel:
        return get_or_create_channel(
            session,
            as_address(address),
            timezone=self.timezone,
            digest_time=self.digest_time,
            now=self.clock(),
        )

    def subscribe(self, address: str, topic: str) -> SubscribeResult:
        """``address`` follows ``topic``; see ``bot.chat.channels.subscribe`` for errors."""
        with self.db.session() as session:
            result = subscribe(session, self._channel(session, address), topic, now=self.clock())
        # Parsed now rather than at the digest hour.
        self.deliverer.topics.parsed(result.topic)
        return result

    def unsubscribe(self, address: str, topic: str) -> str | None:
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return unsubscribe(session, channel, topic) if channel else None

    def topics(self, address: str) -> list[str]:
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return channel_topics(session, channel) if channel else []

    def channel_info(self, address: str) -> ChannelInfo | None:
        with self.db.session() as session:
            channel = find_channel(session, as_address(address))
            return ChannelInfo.of(session, channel) if channel else None

    def set_schedule(self, address: str, schedule: Schedule) -> ChannelInfo:
        """Change when ``address`` gets its digest; parts left None are kept."""
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.digest_time = schedule.time
            if schedule.timezone:
                channel.timezone = schedule.timezone
            if schedule.cadence:
                channel.cadence = schedule.cadence
            return ChannelInfo.of(session, channel)

    def set_max_papers(self, address: str, count: int) -> ChannelInfo:
        """Show at most ``count`` papers in ``address``'s digests; the rest go in the footer."""
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.max_papers = count
            return ChannelInfo.of(session, channel)

    def pause(self, address: str, *, reason: str) -> ChannelInfo:
        """Stop ``address``'s digests until ``resume``; papers keep accumulating."""
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.paused = True
            channel.paused_reason = reason
            return ChannelInfo.of(session, channel)

    def pause_workspace(self, platform: str, workspace: str, *, reason: str) -> int:
        """Pause every channel of a workspace (the app was uninstalled); returns how many."""
        with self.db.session() as session:
            channels = list(session.scalars(
                select(Channel).where(Channel.platform == platform, Channel.workspace == workspace)
            ))
            for channel in channels:
                channel.paused = True
                channel.paused_reason = reason
            return len(channels)

    def resume(self, address: str) -> ChannelInfo:
        with self.db.session() as session:
            channel = self._channel(session, address)
            channel.paused = False
            channel.paused_reason = None
            return ChannelInfo.of(session, channel)

    def handle(self, command: IncomingCommand, *, send: Callable[[Digest], object]) -> Reply:
        """Answer a ``/papers`` command from any platform (``bot.chat.commands``)."""
        return handle(self, command, send=send)

    # -- digests -------------------------------------------------------------

    def scheduled_channels(self) -> list[ChannelInfo]:
        """Channels whose digests the scheduler runs: not paused, with topics."""
        with self.db.session() as session:
            topics = all_topics(session)
            channels = session.scalars(
                select(Channel).where(Channel.paused.is_(False)).order_by(Channel.id)
            )
            return [
                ChannelInfo.of(session, c, topics=topics[c.id]) for c in channels if topics.get(c.id)
            ]

    def warm_topics(self) -> int:
        """Parse every channel's topics ahead of the digest hour; returns how many."""
        with self.db.session() as session:
            topics = {t for ts in all_topics(session).values() for t in ts}
        return self.deliverer.topics.warm(sorted(topics))

    def interrupted_channels(self) -> list[str]:
        """Addresses of unpaused channels whose last digest was claimed but never confirmed."""
        with self.db.session() as session:
            return interrupted_channels(session)

    def run_scheduled(self, due: Mapping[str, datetime], *, send: Post) -> list[Outcome]:
        """The scheduler's entry point: the digests of the channels in ``due``.

        ``due`` maps each channel address to the time its digest fell due;
        every channel due at once is selected in one pass (``bot.digest.select``).
        At most one scheduled digest per local day of a channel, so a
        daylight-saving change that repeats the hour, or a catch-up after
        downtime, never posts twice; a paused channel gets nothing. A send
        that fails affects only its own channel.
        """
        return self.deliverer.run(due, send=send, scheduled=True)

    def digest(
        self, address: str, *, send: Callable[[Digest], object], dry_run: bool = False
    ) -> Digest | None:
        """Build ``address``'s digest now and hand it to ``send``; None when nothing is new.

        Unless ``dry_run``, the shown papers are claimed in the ledger before
        ``send`` and confirmed after it returns; if ``send`` raises they are
        marked failed (offered again next time) and the error propagates.
        """

        def post(message: Digest | NothingNew) -> object:
            assert isinstance(message, Digest)
            return send(message)

        outcomes = self.deliverer.run(
            {str(address): self.clock()}, send=post, dry_run=dry_run, raise_errors=True
        )
        message = outcomes[0].message if outcomes else None
        return message if isinstance(message, Digest) else None

    # -- reading -------------------------------------------------------------

    def search(self, text: str, *, limit: int = 10) -> SearchResults:
        try:
            with self.db.session() as session:
                catch_up(session, self.index, wait_seconds=0)
        except IndexBusyError:
            # Another process is writing the index and will bring it up to
            # date; answering from the index as it stands beats waiting.
            log.info("search index busy; searching it as it stands")
        with self.db.session() as session:
            return search(session, self.index, text, limit=limit)

    def more_like(
        self, paper_id: str, *, limit: int = 5
    ) -> tuple[PaperRecord, str | None, list[PaperRecord]] | None:
        """The paper, the query that finds papers like it, and the best ``limit`` of those.

        None when there is no such paper; the query is None when the paper
        has no word another paper shares.
        """
        record = self.get(paper_id)
        if record is None:
            return None
        query = more_like(self.index, record)
        if query is None:
            return record, None, []
        hits = self.search(query, limit=limit + 1).hits
        return record, query, [h.paper for h in hits if h.paper.id != record.id][:limit]

    def get(self, paper_id: str) -> PaperRecord | None:
        with self.db.session() as session:
            return get_paper(session, paper_id.strip())

    def export(self, out: IO[str]) -> int:
        """Write the whole database as JSON Lines (``bot.store.transfer``); returns the papers."""
        return export_database(self.db, out)

    def paper_count(self) -> int:
        with self.db.session() as session:
            return count_papers(session)
