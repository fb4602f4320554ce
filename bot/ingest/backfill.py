"""Backfill from the arXiv API: the announcement days a category's feed did not show us.

arXiv's RSS feeds show only the latest announcement, so a bot that was
down across announcement days would never see those days' papers. This
module asks the arXiv API (``export.arxiv.org/api/query``) for them, one
announcement at a time, by the submission window the announcement covers
(``bot.ingest.arxiv_calendar``)::

    search_query=cat:cs.CV AND submittedDate:[202503191800 TO 202503201800]
    sortBy=submittedDate&sortOrder=ascending&start=0&max_results=500

The pages are Atom that ``bot.ingest.feeds.parse_feed`` reads like any feed,
so the papers get the same ids, versions, categories and code links as from
the RSS feeds, and enter the catalog through the same writer: a paper the
catalog holds already is merged, never doubled; one it lacks is news.

What a backfill guarantees:

- Requests go through the ingest ``Fetcher``, whose pacer spaces requests
  to the API's host at least 3 s apart (arXiv's terms of use); every wait
  here is the injected ``sleep``.
- Each page's papers are stored before the next page is asked for, and the
  position (the announcement day and the ``start`` reached) is kept in
  ``catalog_meta`` under ``arxiv_backfill:<category>``, so a failure, a
  crash or a stop loses nothing: the next run goes on from there.
- A 503 with ``Retry-After`` is waited out (up to ``max_wait`` seconds) and
  the same page asked again; other 5xx answers, timeouts and pages that are
  no feed or cut short are retried ``tries`` times; an empty page before the
  end the API announced (``opensearch:totalResults``) is asked again
  ``empty_tries`` times before it is taken as the end. When a page still
  fails, the category stops with one line that says why and what was kept.

I/O: the network only through the ``Fetcher``; ``catalog_meta`` through the
caller's ``Database``; papers through the ``CatalogWriter``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.ingest.arxiv_calendar import (
    Announcement,
    announcement_of,
    announcements_between,
    feed_day,
)
from bot.ingest.feeds import ParsedFeed, parse_feed
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.run import CatalogWriter, records_of
from bot.store.db import Database
from bot.store.models import CatalogMeta

__all__ = [
    "DEFAULT_API_URL",
    "PAGE_SIZE",
    "Backfill",
    "BackfillReport",
    "api_query_url",
    "total_results",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "http://export.arxiv.org/api/query"
PAGE_SIZE = 500
_STATE_KEY = "arxiv_backfill:"
# Waits before asking a failed page again (after the pacer's own 3 s).
_RETRY_WAITS = (5.0, 15.0, 30.0, 60.0)
_TOTAL = re.compile(rb"<(?:[\w.-]+:)?totalResults\b[^>]*>\s*(\d+)\s*<")

Progress = Callable[[int], None]


def api_query_url(api_url: str, category: str, announcement: Announcement, *, start: int,
                  max_results: int) -> str:
    """The API URL of one page of ``category``'s submissions that ``announcement`` covers."""
    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%d%H%M")

    window = f"[{stamp(announcement.covers_from)} TO {stamp(announcement.covers_until)}]"
    query = urlencode({
        "search_query": f"cat:{category} AND submittedDate:{window}",
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
        "start": start,
        "max_results": max_results,
    })
    return f"{api_url}?{query}"


def total_results(document: bytes) -> int | None:
    """The API's ``opensearch:totalResults``: how many papers the query has in all."""
    found = _TOTAL.search(document[:8192])
    return int(found[1]) if found else None


@dataclass
class BackfillReport:
    """What one category's backfill did: ``line()`` is its one line.

    ``days`` counts the announcement days fetched to their end, ``pending``
    those left for the next run (the one it stopped in included);
    ``error`` says why it stopped, if it did.
    """

    category: str
    days: int = 0
    seen: int = 0
    new: int = 0
    updated: int = 0
    requests: int = 0
    pending: int = 0
    error: str | None = None
    dropped: int = 0  # owed days older than the limit, given up

    @property
    def failed(self) -> bool:
        return self.error is not None

    def line(self) -> str:
        days = f"{self.days:,} day{'' if self.days == 1 else 's'}"
        if self.failed:
            days = f"{self.days:,} of {self.days + self.pending:,} days"
        text = (f"{self.category}: {days}, {self.seen:,} paper{'' if self.seen == 1 else 's'} "
                f"({self.new:,} new), {self.requests:,} request{'' if self.requests == 1 else 's'}")
        if self.dropped:
            text += f"; {self.dropped:,} older day{'' if self.dropped == 1 else 's'} given up"
        if self.error:
            text += f"; stopped: {self.error}; kept what was fetched, the next ingest goes on " \
                "from there"
        return text


@dataclass
class _Owed:
    """A category's announcement days still to fetch, each with the ``start`` reached."""

    days: dict[date, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"days": {d.isoformat(): s for d, s in sorted(self.days.items())}})

    @classmethod
    def from_json(cls, text: str) -> _Owed:
        try:
            data = json.loads(text)
            return cls({date.fromisoformat(d): int(s) for d, s in dict(data["days"]).items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable backfill state %r; starting afresh", text[:200])
            return cls()


class _Stop(Exception):
    """A page that could not be had: ``reason`` is why, for the report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Page:
    parsed: ParsedFeed
    total: int | None


class Backfill:
    """Fetches announcement days of arXiv categories from the API into the catalog."""

    def __init__(
        self,
        *,
        db: Database,
        fetcher: Fetcher,
        writer: CatalogWriter,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        api_url: str = DEFAULT_API_URL,
        max_days: int = 7,
        page_size: int = PAGE_SIZE,
        tries: int = 4,
        empty_tries: int = 3,
        max_wait: float = 120.0,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.writer = writer
        self.clock = clock
        self.sleep = sleep
        self.api_url = api_url
        self.max_days = max_days
        self.page_size = page_size
        self.tries = tries
        self.empty_tries = empty_tries
        self.max_wait = max_wait

    # -- what is owed ----------------------------------------------------------------

    def missed(self, since: datetime | None, now: datetime) -> list[Announcement]:
        """The announcements a feed last read at ``since`` did not show and will not now.

        Each announcement is in its feed for one feed day; those whose feed
        day fell after the last good read and before today's were missed.
        Only the last ``max_days`` days count; a feed never read misses none.
        """
        if since is None or self.max_days <= 0 or since >= now:
            return []
        seen_day, today = feed_day(since), feed_day(now)
        earliest = now - timedelta(days=self.max_days)
        return [
            a for a in announcements_between(max(since, earliest) - timedelta(days=2), now)
            if seen_day < a.feed_day < today and a.at >= earliest
        ]

    def note_missed(self, categories: Iterable[str], since: datetime | None) -> int:
        """Record the announcements missed since ``since`` as owed; returns how many."""
        missed = self.missed(since, self.clock())
        if missed:
            for category in categories:
                with self.db.session() as session:
                    owed = self._owed(session, category)
                    for one in missed:
                        owed.days.setdefault(one.day, 0)
                    self._save(session, category, owed)
        return len(missed)

    def owed(self, category: str) -> dict[date, int]:
        with self.db.session() as session:
            return dict(self._owed(session, category).days)

    # -- running -----------------------------------------------------------------------

    def run_owed(self, categories: Sequence[str], *,
                 progress: Progress | None = None) -> list[BackfillReport]:
        """Fetch what each category is owed; a report for each category that was owed any."""
        reports = []
        for category in categories:
            if self.owed(category):
                reports.append(self._run(category, [], progress))
        return reports

    def run_days(self, categories: Sequence[str], days: int, *,
                 progress: Progress | None = None) -> list[BackfillReport]:
        """Fetch every announcement of the last ``days`` days (and anything owed), on demand."""
        now = self.clock()
        wanted = [a.day for a in announcements_between(now - timedelta(days=days), now)]
        return [self._run(category, wanted, progress, limit=days) for category in categories]

    def _run(self, category: str, wanted: Sequence[date], progress: Progress | None,
             *, limit: int | None = None) -> BackfillReport:
        report = BackfillReport(category)
        now = self.clock()
        oldest = feed_day(now) - timedelta(days=max(limit or 0, self.max_days) + 1)
        with self.db.session() as session:
            owed = self._owed(session, category)
            for day in wanted:
                owed.days.setdefault(day, 0)
            stale = [d for d in owed.days if d < oldest]
            for day in stale:
                del owed.days[day]
            report.dropped = len(stale)
            self._save(session, category, owed)
        for day in sorted(owed.days):
            try:
                self._fetch_day(category, announcement_of(day), owed, report, progress)
            except _Stop as stop:
                report.error = stop.reason
                report.pending = len(owed.days)
                log.warning("arXiv backfill %s", report.line())
                return report
            report.days += 1
        return report

    def _fetch_day(self, category: str, announcement: Announcement, owed: _Owed,
                   report: BackfillReport, progress: Progress | None) -> None:
        """One announcement day, page by page from the position reached; then it is done."""
        start = owed.days.get(announcement.day, 0)
        where = f"{announcement.day:%a %d %b} (start={{start}})"
        while True:
            page = self._page(category, announcement, start, report, where.format(start=start))
            entries = page.parsed.entries
            result = self.writer.write(records_of(entries), not_news=())
            report.seen += len(entries)
            report.new += result.new
            report.updated += result.updated
            if progress is not None:
                progress(report.seen)
            if page.parsed.malformed:
                # The next run asks for this page again: what the break hid comes then.
                owed.days[announcement.day] = start
                self._store(category, owed)
                raise _Stop(f"the API's page for {where.format(start=start)} is malformed XML "
                            f"({page.parsed.malformed}); {len(entries):,} of its entries kept")
            start += page.parsed.seen
            if not page.parsed.seen or page.total is None and page.parsed.seen < self.page_size \
                    or page.total is not None and start >= page.total:
                break
            owed.days[announcement.day] = start
            self._store(category, owed)
        del owed.days[announcement.day]
        self._store(category, owed)

    def _page(self, category: str, announcement: Announcement, start: int,
              report: BackfillReport, where: str) -> _Page:
        """One page, asked again as the failure calls for; _Stop when it cannot be had."""
        url = api_query_url(self.api_url, category, announcement, start=start,
                            max_results=self.page_size)
        failures = waits = empties = 0
        while True:
            report.requests += 1
            try:
                fetched = self.fetcher.fetch(url)
            except FetchError as exc:
                if exc.status == 503 and exc.retry_after is not None:
                    waits += 1
                    if exc.retry_after > self.max_wait or waits > self.tries:
                        raise _Stop(f"the API answered {exc.reason} at {where}") from None
                    log.info("arXiv API: %s; waiting %.0f s", exc.reason, exc.retry_after)
                    self.sleep(exc.retry_after)
                    continue
                if exc.status is not None and exc.status < 500 and exc.status not in (200, 429):
                    raise _Stop(f"the API answered {exc.reason} at {where}") from None
                failures += 1
                if failures >= self.tries:
                    raise _Stop(f"{exc.reason} at {where}, {failures} tries") from None
                self._wait(failures)
                continue
            parsed = parse_feed(fetched.body, source=self.api_url, headers=fetched.headers)
            if parsed.error is not None and not parsed.not_a_feed:
                raise _Stop(f"{parsed.error} at {where}")
            if parsed.error is not None or parsed.malformed:
                failures += 1
                if failures < self.tries:
                    self._wait(failures)
                    continue
                if parsed.error is not None:
                    raise _Stop(f"{parsed.error} at {where}, {failures} tries")
                return _Page(parsed, total_results(fetched.body))
            total = total_results(fetched.body)
            if not parsed.seen and (total is None or start < total) and not (
                start == 0 and total == 0
            ):
                empties += 1
                if empties < self.empty_tries:
                    log.info("arXiv API: an empty page at %s, of %s; asking again", where, total)
                    self._wait(empties)
                    continue
            return _Page(parsed, total)

    def _wait(self, attempt: int) -> None:
        self.sleep(_RETRY_WAITS[min(attempt, len(_RETRY_WAITS)) - 1])

    # -- the state in catalog_meta -------------------------------------------------------

    def _owed(self, session: Session, category: str) -> _Owed:
        row = session.get(CatalogMeta, _STATE_KEY + category)
        return _Owed.from_json(row.value) if row is not None else _Owed()

    def _save(self, session: Session, category: str, owed: _Owed) -> None:
        key = _STATE_KEY + category
        if not owed.days:
            session.execute(delete(CatalogMeta).where(CatalogMeta.key == key))
            return
        row = session.get(CatalogMeta, key)
        if row is None:
            session.add(CatalogMeta(key=key, value=owed.to_json()))
        else:
            row.value = owed.to_json()

    def _store(self, category: str, owed: _Owed) -> None:
        with self.db.session() as session:
            self._save(session, category, owed)

