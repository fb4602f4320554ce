"""Feeds into the catalog: one ingest run, feed by feed, and what each one did.

I/O: the network only through ``bot.ingest.fetch`` (the one module that
opens connections); the feed list through ``bot.ingest.registry``; local
feed files when asked to read one. Storing papers is the ``CatalogWriter``
the caller hands down, which keeps the search index in step.

One run, feed by feed, each on its own: fetch (a conditional GET with the
validators of the last good fetch), parse, merge into the catalog, then
record how it went. A feed that fails is retried with backoff and, after
``MAX_FAILURES`` failures in a row, disabled with the reason; the others go
on. A feed's validators are stored only after its papers are, so a crash in
between costs one full fetch, never a lost paper.

Each feed's report is shown once: logged (the running bot's job), or, when
the caller takes the reports as they come, handed to it alone (the CLI
prints them). A URL about to be added is fetched and parsed once by
``Ingester.check``; the feed it becomes stores that very document
(``Ingester.take``), so adding a feed costs one download.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from bot.gcpause import paused_gc
from bot.ingest.arxiv_calendar import feed_day, feed_day_has_news
from bot.ingest.entries import FeedEntry
from bot.ingest.feeds import ParsedFeed, parse_feed
from bot.ingest.fetch import Fetcher, FetchError, FetchResult
from bot.ingest.registry import FeedInfo, Feeds, arxiv_categories
from bot.model.papers import PaperRecord
from bot.store.catalog import UpsertResult
from bot.store.db import DiskFullError

__all__ = [
    "BackfillResult",
    "CatalogWriter",
    "FeedCheck",
    "FeedReport",
    "Ingester",
    "MissedDays",
    "records_of",
]

log = logging.getLogger(__name__)

# arXiv's announcement types that revise a paper announced before: never news.
REVISIONS = frozenset({"replace", "replace-cross"})


class CatalogWriter(Protocol):
    """Where an ingest run stores what it read.

    ``write`` MUST merge ``records`` into the catalog, a paper it holds
    already by ``bot.store.catalog.merge_content``'s rules (a feed never
    replaces a paper wholesale), keep the search index in step, and return
    the counts. The ids in ``not_news`` are revisions of papers announced
    before: they MUST NOT count as new in a digest.
    """

    def write(self, records: Sequence[PaperRecord], *, not_news: Collection[str]) -> UpsertResult:
        ...


class BackfillResult(Protocol):
    """What a category's backfill reports (``bot.ingest.backfill.BackfillReport``)."""

    new: int

    @property
    def failed(self) -> bool:
        ...

    def line(self) -> str:
        ...


class MissedDays(Protocol):
    """Fetches the arXiv announcement days a feed did not show (``bot.ingest.backfill.Backfill``).

    ``note_missed`` MUST record, before the feed's good fetch is recorded,
    the days missed since the feed's last good fetch ``since``, so that a
    crash in between loses none; ``run_owed`` fetches what is recorded and
    MUST NOT raise for the API's trouble (its reports say it).
    """

    def note_missed(self, categories: Iterable[str], since: datetime | None) -> int:
        ...

    def run_owed(self, categories: Sequence[str]) -> Sequence[BackfillResult]:
        ...


def records_of(entries: Iterable[FeedEntry]) -> list[PaperRecord]:
    """The records to store, with what the feed said beyond the record itself."""
    records = []
    for entry in entries:
        record = entry.record
        # Most entries say nothing more, and a copy per entry shows in an ingest's
        # time (see docs/benchmarks.md, section "Feed ingestion", What changed, item 2).
        if entry.doi or entry.journal_ref or entry.project_urls:
            record = replace(
                record,
                doi=entry.doi or record.doi,
                journal_ref=entry.journal_ref or record.journal_ref,
                project_url=entry.project_urls[0] if entry.project_urls else record.project_url,
            )
        records.append(record)
    return records



@dataclass(frozen=True)
class FeedReport:
    """What one feed (or feed file) did in one run: ``line()`` is its log line."""

    feed: str
    status: str  # "200", "304", "file" or "error"
    # What ``feed`` names: a listed "feed", a "url" read once, or a local "file".
    kind: str = "feed"
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    error: str | None = None
    # The XML error that cut the document short, with its line: what came
    # before it was kept.
    malformed: str | None = None
    # Said after the counts and ``malformed``: a move.
    notes: tuple[str, ...] = ()
    failures: int = 0
    retry_at: datetime | None = None
    disabled: bool = False
    # The arXiv API's backfill of the announcement days the feed did not show.
    backfill: tuple[BackfillResult, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

    @property
    def backfilled(self) -> int:
        """New papers the backfill brought."""
        return sum(b.new for b in self.backfill)

    def lines(self) -> list[str]:
        """``line()``, then one line per category backfilled."""
        return [self.line(), *(f"backfill {b.line()}" for b in self.backfill)]

    @property
    def failed(self) -> bool:
        return self.status == "error"

    def line(self) -> str:
        head = f"feed={self.feed} status={self.status}"
        if self.status == "304":
            return f"{head} unchanged"
        if self.failed:
            text = f"{head} error={json.dumps(self.error, ensure_ascii=False)}"
            if self.failures:
                text += f" failures={self.failures}"
            if self.disabled:
                return text + " disabled"
            if self.retry_at is not None:
                text += f" next_try={self.retry_at:%Y-%m-%dT%H:%MZ}"
            return text
        text = (
            f"{head} seen={self.seen} new={self.new} updated={self.updated} "
            f"skipped={self.skipped}"
        )
        if self.malformed:
            text += f" malformed={json.dumps(self.malformed, ensure_ascii=False)}"
        return " ".join([text, *self.notes])


@dataclass(frozen=True)
class FeedCheck:
    """A URL fetched and parsed once, to see whether it is a feed worth adding.

    ``problem`` is why it is not, one sentence as a feed's last error reads,
    and ``kind`` what sort of trouble: "unreachable" (no answer), "http" (an
    HTTP error status) or "document" (an answer that is no feed: an HTML
    page, an empty or unreadable document, no entry that is a paper).
    ``problem`` is None when it is a feed, even an empty one (arXiv's on a
    weekend); ``fetched`` and ``parsed`` then hold the document.
    """

    url: str
    problem: str | None = None
    kind: str = ""
    fetched: FetchResult | None = None
    parsed: ParsedFeed | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None



class Ingester:
    """Runs feeds: fetch, parse, store, record. Never raises for one feed's trouble."""

    def __init__(
        self,
        feeds: Feeds,
        *,
        fetcher: Fetcher,
        writer: CatalogWriter,
        backfill: MissedDays | None = None,
    ) -> None:
        self.feeds = feeds
        self.fetcher = fetcher
        self.writer = writer
        self.backfill = backfill

    def run(
        self,
        feeds: Sequence[FeedInfo],
        *,
        report: Callable[[FeedReport], None] | None = None,
    ) -> list[FeedReport]:
        """Run ``feeds`` one after the other; one report each, in order.

        ``report``, when given, gets each report as soon as its feed is done
        and is then the one place it shows: the run logs it only when there
        is no ``report`` to take it.
        """
        reports = []
        for info in feeds:
            try:
                result = self.run_one(info)
            except DiskFullError:
                raise  # no feed's fault, and every write after it would fail too
            except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the rest
                log.exception("feed %s: ingest failed", info.name)
                failed = self.feeds.failed(info.name, f"internal error: {exc}", retry_after=None)
                result = _failure(info.name, f"internal error: {exc}", failed)
            if report is not None:
                report(result)
            else:
                bad_lines = [result.failed, *(b.failed for b in result.backfill)]
                for line, bad in zip(result.lines(), bad_lines, strict=True):
                    log.log(logging.WARNING if bad else logging.INFO, "%s", line)
            reports.append(result)
        return reports

    def run_one(self, info: FeedInfo) -> FeedReport:
        etag, last_modified = self.feeds.validators(info.name)
        try:
            fetched = self.fetcher.fetch(info.url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            failed = self.feeds.failed(info.name, exc.reason, retry_after=exc.retry_after)
            return _failure(info.name, exc.reason, failed)
        if fetched.not_modified:
            categories = arxiv_categories(info.url)
            self._note_missed(info, categories)
            self.feeds.succeeded(
                info.name, status="304", etag=fetched.etag, last_modified=fetched.last_modified,
                new=0, note=None, moved_to=None,
            )
            return self._backfilled(FeedReport(info.name, "304"), categories)
        # One pause of the collector for both (bot.gcpause): the parsed feed
        # lives on through the write, and would be walked in between.
        with paused_gc():
            parsed = parse_feed(fetched.body, source=info.url, headers=fetched.headers)
            report = self._record(info, fetched, parsed)
        if report.failed:
            return report
        # Outside the collector's pause: a backfill may take minutes of paced requests.
        return self._backfilled(report, arxiv_categories(info.url, parsed.title))

    def check(self, url: str) -> FeedCheck:
        """Fetch and parse ``url`` once, storing nothing: is it a feed to add?"""
        try:
            fetched = self.fetcher.fetch(url)
        except FetchError as exc:
            kind = "unreachable" if exc.status is None else "http" if exc.status != 200 \
                else "document"
            return FeedCheck(url, exc.reason, kind)
        parsed = parse_feed(fetched.body, source=url, headers=fetched.headers)
        if parsed.error is not None:
            return FeedCheck(url, parsed.error, "document")
        if parsed.skipped and not parsed.entries:
            count = len(parsed.skipped)
            first = parsed.skipped[0]
            problem = (
                f"its one entry is no paper ({first})" if count == 1
                else f"none of its {count} entries is a paper (the first: {first})"
            )
            return FeedCheck(url, problem, "document")
        return FeedCheck(url, fetched=fetched, parsed=parsed)

    def take(self, info: FeedInfo, check: FeedCheck) -> FeedReport:
        """Store what a good ``check`` of ``info``'s URL read, as if ``info`` had just run."""
        assert check.fetched is not None and check.parsed is not None, "only a good check"
        with paused_gc():
            return self._record(info, check.fetched, check.parsed)

    def _record(self, info: FeedInfo, fetched: FetchResult, parsed: ParsedFeed) -> FeedReport:
        """Store a fetched feed's papers, then record how its fetch went."""
        if parsed.error is not None:
            failed = self.feeds.failed(info.name, parsed.error, retry_after=None)
            return _failure(info.name, parsed.error, failed)
        result = self._store(parsed)
        categories = arxiv_categories(info.url, parsed.title)
        self._note_missed(info, categories)
        note = f"malformed XML, kept what parsed: {parsed.malformed}" if parsed.malformed else None
        moved = self.feeds.succeeded(
            info.name, status="200", etag=fetched.etag, last_modified=fetched.last_modified,
            new=result.new, note=note, moved_to=fetched.moved_permanently,
        )
        notes = [f"moved_to={fetched.url}"] if moved else []
        if categories and not parsed.seen:
            day = feed_day(self.feeds.clock())
            if not feed_day_has_news(day):
                # arXiv's calendar, not a broken feed: say so where the empty feed shows.
                notes.append(f"quiet=\"arXiv announced nothing on the evening before "
                             f"{day:%a %d %b}\"")
        return _counts(info.name, "200", parsed, result, kind="feed", notes=notes)

    def _note_missed(self, info: FeedInfo, categories: Sequence[str]) -> None:
        """Owe the backfill the announcement days since the feed's last good fetch."""
        if self.backfill is not None and categories:
            self.backfill.note_missed(categories, info.last_success_at)

    def _backfilled(self, report: FeedReport, categories: Sequence[str]) -> FeedReport:
        """``report`` with the backfill of what its categories are owed."""
        if self.backfill is None or not categories:
            return report
        done = tuple(self.backfill.run_owed(categories))
        return replace(report, backfill=done) if done else report

    def run_url(self, url: str) -> FeedReport:
        """Ingest a URL once, without adding it to the feeds (no validators kept)."""
        try:
            fetched = self.fetcher.fetch(url)
        except FetchError as exc:
            return FeedReport(url, "error", kind="url", error=exc.reason)
        parsed, result = self._read_and_store(fetched.body, source=url, headers=fetched.headers)
        if result is None:
            return FeedReport(url, "error", kind="url", error=parsed.error)
        return _counts(url, "200", parsed, result, kind="url")

    def run_file(self, path: Path) -> FeedReport:
        """Ingest a feed document from a file (no feed row, no validators)."""
        label = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return FeedReport(
                label, "error", kind="file", error=f"cannot read {path}: {exc.strerror}"
            )
        parsed, result = self._read_and_store(data, source=path.resolve().as_uri())
        if result is None:
            return FeedReport(label, "error", kind="file", error=parsed.error)
        return _counts(label, "file", parsed, result, kind="file")

    def _read_and_store(
        self, data: bytes, *, source: str, headers: Mapping[str, str] | None = None
    ) -> tuple[ParsedFeed, UpsertResult | None]:
        """The document parsed and its papers stored; no result when it is an error."""
        with paused_gc():  # for both: see run_one
            parsed = parse_feed(data, source=source, headers=headers)
            if parsed.error is not None:
                return parsed, None
            return parsed, self._store(parsed)

    def _store(self, parsed: ParsedFeed) -> UpsertResult:
        not_news = {e.record.id for e in parsed.entries if e.announce in REVISIONS}
        return self.writer.write(records_of(parsed.entries), not_news=not_news)


def _counts(
    name: str,
    status: str,
    parsed: ParsedFeed,
    result: UpsertResult,
    *,
    kind: str,
    notes: Sequence[str] = (),
) -> FeedReport:
    return FeedReport(
        name,
        status,
        kind=kind,
        seen=parsed.seen,
        new=result.new,
        updated=result.updated,
        skipped=len(parsed.skipped),
        malformed=parsed.malformed,
        notes=tuple(notes),
    )


def _failure(name: str, reason: str, info: FeedInfo) -> FeedReport:
    return FeedReport(
        name,
        "error",
        error=reason,
        failures=info.failures,
        retry_at=info.next_fetch_at if info.enabled else None,
        disabled=not info.enabled,
    )
