"""Feeds into the catalog: the feed list, one ingest run, failures and backoff.

I/O: the ``feeds`` table through the caller's ``Database``; the network only
through ``bot.ingest.fetch`` (the one module that opens connections); local feed
files when asked to read one. Storing papers is the caller's ``store``
callable (``Service.import_records``), so the index stays in step.

One run, feed by feed, each on its own: fetch (a conditional GET with the
validators of the last good fetch), parse, merge into the catalog, then
record how it went. A feed that fails is retried with backoff and, after
``MAX_FAILURES`` failures in a row, disabled with the reason; the others go
on. A feed's validators are stored only after its papers are, so a crash in
between costs one full fetch, never a lost paper.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from bot.store.catalog import UpsertResult
from bot.store.db import Database
from bot.ingest.feeds import FeedEntry, ParsedFeed, parse_feed
from bot.ingest.fetch import Fetcher, FetchError, is_arxiv_host
from bot.gcpause import paused_gc
from bot.store.models import NAME_PATTERN, Feed
from bot.model.papers import PaperRecord

__all__ = [
    "MAX_FAILURES",
    "FeedError",
    "FeedInfo",
    "FeedReport",
    "Feeds",
    "Ingester",
    "feed_name_for",
    "records_of",
]

log = logging.getLogger(__name__)

MAX_FAILURES = 5
# Waits after the 1st, 2nd, 3rd and 4th failure in a row: 1, 2, 4 and 8 hours,
# so a feed is disabled about 15 hours after it started failing, not after
# one bad afternoon. A server's Retry-After is honoured when longer.
BACKOFF_FIRST = timedelta(hours=1)
BACKOFF_MAX = timedelta(hours=24)
# A feed is due a little before its time, so an hourly job does not miss a
# retry set for "one hour after this fetch" by the seconds the fetch took.
DUE_SLACK = timedelta(minutes=5)
# arXiv's announcement types that revise a paper announced before: never news.
REVISIONS = frozenset({"replace", "replace-cross"})
_ARXIV_LISTING = re.compile(r"^/(?:rss|atom)/(?P<categories>[^/]+?)/?$")
_GENERIC_TAIL = {"rss", "feed", "feeds", "atom", "xml", "rss2", "index", "rdf", ""}
_FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".php", ".cgi", ".aspx"}

URL_LENGTH: int = Feed.__table__.c.url.type.length  # type: ignore[attr-defined]

Clock = Callable[[], datetime]
Store = Callable[[Sequence[PaperRecord], Collection[str]], UpsertResult]


class FeedError(Exception):
    """A feed command that cannot be done; the message says what to do instead."""


def feed_name_for(url: str) -> str:
    """A short name for a feed URL: ``cs.CV`` for arXiv's cs.CV listing,
    ``biorxiv-neuroscience`` for ``connect.biorxiv.org/.../neuroscience.xml``."""
    parts = urlsplit(url)
    host = (parts.hostname or "feed").lower()
    if is_arxiv_host(host):
        listing = _ARXIV_LISTING.match(parts.path)
        if listing:
            return _safe_name(listing["categories"])
    labels = [label for label in host.split(".") if label not in ("www", "rss", "feeds", "feed")]
    if host.replace(".", "").isdigit() or ":" in host or len(labels) < 2:
        site = host  # an IP address or a single-label host: all of it
    else:
        site = labels[-2]
    segments = [s for s in parts.path.split("/") if s]
    tail = segments[-1] if segments else ""
    if Path(tail).suffix.lower() in _FEED_SUFFIXES:
        tail = Path(tail).stem
    return _safe_name(f"{site}-{tail}" if tail.lower() not in _GENERIC_TAIL else site)


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-._+")[:100]
    return name or "feed"


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise FeedError(
            f"Feed name {name!r} is not usable: use up to 100 letters, digits and . _ + - "
            "(starting with a letter or digit), e.g. cs.CV or biorxiv-neuro."
        )
    return name


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
class FeedInfo:
    """A feed as ``feeds list`` shows it."""

    name: str
    url: str
    origin: str
    enabled: bool
    disabled_reason: str | None
    last_fetch_at: datetime | None
    last_status: str | None
    last_error: str | None
    failures: int
    next_fetch_at: datetime | None
    papers_added: int

    @classmethod
    def of(cls, feed: Feed) -> FeedInfo:
        return cls(
            name=feed.name,
            url=feed.url,
            origin=feed.origin,
            enabled=feed.enabled,
            disabled_reason=feed.disabled_reason,
            last_fetch_at=feed.last_fetch_at,
            last_status=feed.last_status,
            last_error=feed.last_error,
            failures=feed.failures,
            next_fetch_at=feed.next_fetch_at,
            papers_added=feed.papers_added,
        )

    @property
    def status(self) -> str:
        """One word: new, ok, unchanged, failing or disabled."""
        if not self.enabled:
            return "disabled"
        if self.failures:
            return "failing"
        return {None: "new", "304": "unchanged"}.get(self.last_status, "ok")

    def to_json(self) -> dict[str, object]:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "name": self.name,
            "url": self.url,
            "origin": self.origin,
            "status": self.status,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "last_fetch_at": stamp(self.last_fetch_at),
            "last_status": self.last_status,
            "last_error": self.last_error,
            "failures": self.failures,
            "next_fetch_at": stamp(self.next_fetch_at),
            "papers_added": self.papers_added,
        }


@dataclass(frozen=True)
class FeedReport:
    """What one feed (or feed file) did in one run: ``line()`` is its log line."""

    feed: str
    status: str  # "200", "304", "file" or "error"
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    error: str | None = None
    # Said after the counts: malformed XML kept in part, a move, a disabling.
    notes: tuple[str, ...] = ()
    failures: int = 0
    retry_at: datetime | None = None
    disabled: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated)

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
        return " ".join([text, *self.notes])


class Feeds:
    """The feed list in the database: the configured feeds plus those added by hand."""

    def __init__(self, db: Database, *, configured: Sequence[str], clock: Clock) -> None:
        self.db = db
        self.configured = tuple(dict.fromkeys(configured))
        self.clock = clock

    def sync(self, session: Session) -> None:
        """Bring the configured feeds into the table. A configured feed removed
        with ``feeds remove`` stays a disabled row, so it does not come back."""
        rows = {feed.url: feed for feed in session.scalars(select(Feed))}
        taken = {feed.name for feed in rows.values()}
        for url in self.configured:
            if url not in rows:
                name = _unique(feed_name_for(url), taken)
                taken.add(name)
                session.add(_new_feed(name, url, "config", self.clock()))
        session.flush()

    def _current(self) -> ColumnElement[bool]:
        # A configured feed the configuration no longer lists is left alone, with
        # its state, in case it comes back (another process, another config file).
        return (Feed.origin != "config") | Feed.url.in_(self.configured)

    def all(self) -> list[FeedInfo]:
        with self.db.session() as session:
            self.sync(session)
            feeds = session.scalars(select(Feed).where(self._current()).order_by(Feed.name))
            return [FeedInfo.of(f) for f in feeds]

    def add(self, url: str, *, name: str | None = None) -> tuple[FeedInfo, str]:
        """Add a feed, or enable it again; returns it and what was done."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FeedError(
                f"{url!r} is not a feed URL; give an http(s) URL such as "
                "https://rss.arxiv.org/rss/cs.CV (a local file goes to `digestbot ingest FILE`)."
            )
        if len(url) > URL_LENGTH:
            raise FeedError(f"That URL is {len(url):,} characters long; feed URLs are at most "
                            f"{URL_LENGTH:,}.")
        if name is not None:
            check_name(name)
        with self.db.session() as session:
            self.sync(session)
            existing = session.scalar(select(Feed).where(Feed.url == url))
            if existing is not None and existing.origin == "config" and url not in self.configured:
                existing.origin = "user"  # the config dropped it; now it is the user's
                _enable(existing)
                return FeedInfo.of(existing), "added"
            if existing is not None:
                if existing.enabled:
                    return FeedInfo.of(existing), "already listed"
                _enable(existing)
                return FeedInfo.of(existing), "enabled again"
            taken = set(session.scalars(select(Feed.name)))
            if name is not None and name in taken:
                raise FeedError(
                    f"A feed named {name!r} exists already; choose another --name "
                    "(`digestbot feeds list` shows the names)."
                )
            feed = _new_feed(name or _unique(feed_name_for(url), taken), url, "user", self.clock())
            session.add(feed)
            session.flush()
            return FeedInfo.of(feed), "added"

    def remove(self, name: str) -> FeedInfo:
        """Stop reading a feed; its papers stay in the catalog."""
        with self.db.session() as session:
            self.sync(session)
            feed = self._named(session, name)
            info = FeedInfo.of(feed)
            if feed.origin == "config":
                feed.enabled = False
                feed.disabled_reason = (
                    "removed with `digestbot feeds remove`; it stays listed because the "
                    "feeds setting names it"
                )
            else:
                session.delete(feed)
            return info

    def enable(self, name: str) -> FeedInfo:
        with self.db.session() as session:
            self.sync(session)
            feed = self._named(session, name)
            _enable(feed)
            session.flush()
            return FeedInfo.of(feed)

    def resolve(self, target: str) -> FeedInfo | None:
        """The feed named ``target`` or with that URL, if any."""
        with self.db.session() as session:
            self.sync(session)
            feed = session.scalar(
                select(Feed).where((Feed.name == target) | (Feed.url == target), self._current())
            )
            return FeedInfo.of(feed) if feed is not None else None

    def due(self) -> list[FeedInfo]:
        """The enabled feeds whose backoff, if any, is over."""
        soon = self.clock() + DUE_SLACK
        with self.db.session() as session:
            self.sync(session)
            feeds = session.scalars(
                select(Feed).where(Feed.enabled, self._current()).order_by(Feed.id)
            )
            return [
                FeedInfo.of(f) for f in feeds if f.next_fetch_at is None or f.next_fetch_at <= soon
            ]

    def validators(self, name: str) -> tuple[str | None, str | None]:
        with self.db.session() as session:
            feed = self._named(session, name)
            return feed.etag, feed.last_modified

    def succeeded(
        self,
        name: str,
        *,
        status: str,
        etag: str | None,
        last_modified: str | None,
        new: int,
        note: str | None,
        moved_to: str | None,
    ) -> bool:
        """Record a good fetch; returns whether the feed's URL was updated to ``moved_to``."""
        now = self.clock()
        with self.db.session() as session:
            feed = self._named(session, name)
            feed.last_fetch_at = feed.last_success_at = now
            feed.last_status = status
            feed.last_error = note
            feed.failures = 0
            feed.next_fetch_at = None
            feed.papers_added += new
            if status == "200" or etag or last_modified:
                feed.etag, feed.last_modified = etag, last_modified
            if not feed.enabled:
                _enable(feed)
            moved = False
            if moved_to and moved_to != feed.url and feed.origin == "user":
                if session.scalar(select(Feed.id).where(Feed.url == moved_to)) is None:
                    feed.url = moved_to
                    moved = True
            return moved

    def failed(self, name: str, reason: str, *, retry_after: float | None) -> FeedInfo:
        now = self.clock()
        with self.db.session() as session:
            feed = self._named(session, name)
            feed.last_fetch_at = now
            feed.last_status = "error"
            feed.last_error = reason
            feed.failures += 1
            delay = min(BACKOFF_FIRST * 2 ** (feed.failures - 1), BACKOFF_MAX)
            if retry_after:
                delay = max(delay, min(timedelta(seconds=retry_after), BACKOFF_MAX))
            feed.next_fetch_at = now + delay
            if feed.failures >= MAX_FAILURES and feed.enabled:
                feed.enabled = False
                feed.disabled_reason = (
                    f"{feed.failures} failures in a row, the last: {reason}. Fix the URL or "
                    f"wait for the site, then `digestbot feeds enable {feed.name}`"
                )
            session.flush()
            return FeedInfo.of(feed)

    def _named(self, session: Session, name: str) -> Feed:
        feed = session.scalar(select(Feed).where(Feed.name == name))
        if feed is None:
            known = ", ".join(session.scalars(select(Feed.name).order_by(Feed.name))) or "none yet"
            raise FeedError(f"No feed named {name!r} (feeds: {known}).")
        return feed


def _new_feed(name: str, url: str, origin: str, now: datetime) -> Feed:
    return Feed(
        name=name, url=url, origin=origin, enabled=True, failures=0, papers_added=0, created_at=now
    )


def _enable(feed: Feed) -> None:
    feed.enabled = True
    feed.disabled_reason = None
    feed.failures = 0
    feed.next_fetch_at = None


def _unique(name: str, taken: Collection[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate, number = name[: 100 - len(suffix)] + suffix, number + 1
    return candidate


class Ingester:
    """Runs feeds: fetch, parse, store, record. Never raises for one feed's trouble."""

    def __init__(self, feeds: Feeds, *, fetcher: Fetcher, store: Store) -> None:
        self.feeds = feeds
        self.fetcher = fetcher
        self.store = store

    def run(
        self,
        feeds: Sequence[FeedInfo],
        *,
        report: Callable[[FeedReport], None] | None = None,
    ) -> list[FeedReport]:
        reports = []
        for info in feeds:
            try:
                result = self.run_one(info)
            except Exception as exc:  # noqa: BLE001 - one feed's bug must not stop the rest
                log.exception("feed %s: ingest failed", info.name)
                failed = self.feeds.failed(info.name, f"internal error: {exc}", retry_after=None)
                result = _failure(info.name, f"internal error: {exc}", failed)
            if result.failed:
                log.warning("%s", result.line())
            else:
                log.info("%s", result.line())
            reports.append(result)
            if report is not None:
                report(result)
        return reports

    def run_one(self, info: FeedInfo) -> FeedReport:
        etag, last_modified = self.feeds.validators(info.name)
        try:
            fetched = self.fetcher.fetch(info.url, etag=etag, last_modified=last_modified)
        except FetchError as exc:
            failed = self.feeds.failed(info.name, exc.reason, retry_after=exc.retry_after)
            return _failure(info.name, exc.reason, failed)
        if fetched.not_modified:
            self.feeds.succeeded(
                info.name, status="304", etag=fetched.etag, last_modified=fetched.last_modified,
                new=0, note=None, moved_to=None,
            )
            return FeedReport(info.name, "304")
        parsed, result = self._read_and_store(
            fetched.body, source=info.url, headers=fetched.headers
        )
        if result is None:
            error = parsed.error or ""
            failed = self.feeds.failed(info.name, error, retry_after=None)
            return _failure(info.name, error, failed)
        note = f"malformed XML, kept what parsed: {parsed.malformed}" if parsed.malformed else None
        moved = self.feeds.succeeded(
            info.name, status="200", etag=fetched.etag, last_modified=fetched.last_modified,
            new=result.new, note=note, moved_to=fetched.moved_permanently,
        )
        notes = _malformed(parsed)
        if moved:
            notes.append(f"moved_to={fetched.url}")
        return _counts(info.name, "200", parsed, result, notes)

    def run_url(self, url: str) -> FeedReport:
        """Ingest a URL once, without adding it to the feeds (no validators kept)."""
        try:
            fetched = self.fetcher.fetch(url)
        except FetchError as exc:
            return FeedReport(url, "error", error=exc.reason)
        parsed, result = self._read_and_store(fetched.body, source=url, headers=fetched.headers)
        if result is None:
            return FeedReport(url, "error", error=parsed.error)
        return _counts(url, "200", parsed, result, _malformed(parsed))

    def run_file(self, path: Path) -> FeedReport:
        """Ingest a feed document from a file (no feed row, no validators)."""
        label = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return FeedReport(label, "error", error=f"cannot read {path}: {exc.strerror}")
        parsed, result = self._read_and_store(data, source=path.resolve().as_uri())
        if result is None:
            return FeedReport(label, "error", error=parsed.error)
        return _counts(label, "file", parsed, result, _malformed(parsed))

    def _read_and_store(
        self, data: bytes, *, source: str, headers: Mapping[str, str] | None = None
    ) -> tuple[ParsedFeed, UpsertResult | None]:
        """The document parsed and its papers stored; no result when it is an error."""
        # One pause of the collector for both (bot.gcpause): the parsed feed
        # lives on through the store, and would be walked in between.
        with paused_gc():
            parsed = parse_feed(data, source=source, headers=headers)
            if parsed.error is not None:
                return parsed, None
            not_news = {e.record.id for e in parsed.entries if e.announce in REVISIONS}
            return parsed, self.store(records_of(parsed.entries), not_news)


def _malformed(parsed: ParsedFeed) -> list[str]:
    if not parsed.malformed:
        return []
    return [f"malformed={json.dumps(parsed.malformed, ensure_ascii=False)}"]


def _counts(
    name: str, status: str, parsed: ParsedFeed, result: UpsertResult, notes: list[str]
) -> FeedReport:
    return FeedReport(
        name,
        status,
        seen=parsed.seen,
        new=result.new,
        updated=result.updated,
        skipped=len(parsed.skipped),
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
