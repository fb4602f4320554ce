"""Harvesting an OAI-PMH interface into the catalog: all of arXiv, or one of its sets.

``Harvester.run`` asks an OAI-PMH base URL (arXiv's is
``https://oaipmh.arxiv.org/oai``) for ``ListRecords`` with a
``metadataPrefix`` (``arXiv`` or ``arXivRaw``), an optional ``set`` and
``from`` / ``until`` days, then follows each page's ``resumptionToken``
to the end of the list. ``bot.ingest.oai`` reads the pages; the papers go
through the same rules as a feed's and are merged into the catalog by the
``PageWriter``, never doubled.

Harvested papers are catalog, not news: they are stored as papers that
entered before any digest (``not_news``), so a digest never shows the back
catalog as new. A paper the catalog holds already keeps its standing.

What a harvest guarantees:

- Requests go one at a time, at least ``interval`` (3) seconds apart, to any
  host (arXiv's terms of use; a mirror is spared the same way); every wait
  is the injected ``sleep``. A ``503`` with ``Retry-After`` (OAI-PMH's flow
  control) is waited out, up to ``max_wait`` seconds, and the same page
  asked again; other 5xx answers, timeouts and malformed pages are asked
  again ``tries`` times, then the harvest stops with one line saying why.
- Resumable: the harvest's position (the next page's token, the list's
  arguments and counts) is kept in ``catalog_meta`` and written in the
  same transaction as the papers of the page that moved it. A harvest killed
  at any point goes on from the last stored page: nothing lost, nothing
  doubled.
- Incremental: a finished list leaves the day the next harvest starts
  from (OAI ``from``): the list's ``until``, else the day of the server's
  first answer, so records that changed while a long list ran come again,
  merged, never doubled. A later harvest without ``--from`` asks only for
  what changed since.
- An expired token (``badResumptionToken``) drops the token but keeps the
  list, so the next harvest asks for that list again from its start.

I/O: the network only through the ``Fetcher``; ``catalog_meta`` through the
``Database`` and the ``PageWriter``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from bot.errors import UserError
from bot.ingest.fetch import Fetcher, FetchError
from bot.ingest.oai import OaiPage, OaiPageError, parse_oai_page
from bot.ingest.pacing import ARXIV_INTERVAL, HostPacer
from bot.ingest.run import records_of
from bot.model.papers import PaperRecord
from bot.store.catalog import UpsertResult, meta_values
from bot.store.db import Database

__all__ = [
    "DEFAULT_OAI_URL",
    "METADATA_PREFIXES",
    "HarvestProgress",
    "HarvestReport",
    "HarvestState",
    "Harvester",
    "PageWriter",
    "list_records_url",
]

log = logging.getLogger(__name__)

DEFAULT_OAI_URL = "https://oaipmh.arxiv.org/oai"
METADATA_PREFIXES = ("arXiv", "arXivRaw")
_STATE_KEY = "oai_harvest:"
# Waits before asking a failed page again (after the pacing's own 3 s).
_RETRY_WAITS = (5.0, 15.0, 30.0, 60.0)


class PageWriter(Protocol):
    """Where a harvest stores each page.

    ``write_page`` MUST merge ``records`` into the catalog as a feed's are
    (``bot.store.catalog.merge_content``), store the ids in ``not_news`` that
    are new to it as papers that entered before any digest, set the
    ``catalog_meta`` rows of ``meta`` (None deletes one) in the same
    transaction as the papers, and keep the search index in step.
    """

    def write_page(self, records: Sequence[PaperRecord], *, not_news: Collection[str],
                   meta: Mapping[str, str | None]) -> UpsertResult:
        ...


def list_records_url(base_url: str, *, token: str | None = None, prefix: str = "arXiv",
                     set_spec: str | None = None, from_day: str | None = None,
                     until_day: str | None = None) -> str:
    """The ``ListRecords`` request: the next page of a token, or a list's first page."""
    if token:
        query = {"verb": "ListRecords", "resumptionToken": token}
    else:
        query = {"verb": "ListRecords", "metadataPrefix": prefix}
        if set_spec:
            query["set"] = set_spec
        if from_day:
            query["from"] = from_day
        if until_day:
            query["until"] = until_day
    return f"{base_url}{'&' if '?' in base_url else '?'}{urlencode(query)}"


@dataclass
class HarvestState:
    """One harvest's position, as JSON in ``catalog_meta`` (``oai_harvest:...``).

    ``running`` says a list is under way: ``token`` asks for its next page
    (None after an expired token: the list starts again), ``from_day`` and
    ``until_day`` are its arguments, the counts its totals so far.
    ``next_from`` is where the next harvest without ``--from`` starts.
    """

    url: str
    set_spec: str | None
    prefix: str
    running: bool = False
    token: str | None = None
    from_day: str | None = None
    until_day: str | None = None
    started: str | None = None  # the server's responseDate of the list's first page
    pages: int = 0
    seen: int = 0
    list_size: int | None = None
    latest_datestamp: str | None = None
    next_from: str | None = None
    harvested_at: str | None = None  # the responseDate of the last finished list
    finished_at: str | None = None  # when it finished, by the harvester's clock (ISO 8601)

    @staticmethod
    def key(url: str, set_spec: str | None, prefix: str) -> str:
        """``oai_harvest:<set>:<prefix>:<hash of the URL>``: short enough for any URL."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
        return f"{_STATE_KEY}{set_spec or '*'}:{prefix}:{digest}"[:100]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HarvestState | None:
        try:
            data = json.loads(text)
            return cls(**{k: v for k, v in dict(data).items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            log.warning("unreadable harvest state %r; ignored", text[:200])
            return None


@dataclass(frozen=True)
class HarvestProgress:
    """Where a harvest stands after a page, for a progress bar.

    ``done`` counts the list's records delivered so far (the token's
    ``cursor`` and the page, else the pages' own count), ``total`` its
    ``completeListSize`` when the server says; ``run_records`` and
    ``elapsed`` are this run's, from which a rate and an ETA follow.
    """

    pages: int
    done: int
    total: int | None
    run_records: int
    elapsed: float


Progress = Callable[[HarvestProgress], None]


@dataclass
class HarvestReport:
    """What one harvest run did; ``line()`` is its one line, ``advice`` what to do next."""

    set_spec: str | None
    pages: int = 0
    seen: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    from_day: str | None = None
    resumed: bool = False
    complete: bool = False
    error: str | None = None
    advice: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def line(self) -> str:
        text = (f"harvest set={self.set_spec or 'all'} pages={self.pages} seen={self.seen} "
                f"new={self.new} updated={self.updated} skipped={self.skipped}")
        if self.from_day:
            text += f" from={self.from_day}"
        if self.resumed:
            text += " resumed"
        if self.error:
            text += f" error={json.dumps(self.error, ensure_ascii=False)}"
        return text


class HarvestError(UserError):
    """A harvest that cannot start as asked; the message says what to do."""


class _Stop(Exception):
    """A page that could not be had: ``reason`` for the report, ``advice`` for the person."""

    def __init__(self, reason: str, advice: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


class Harvester:
    """Harvests OAI-PMH lists into the catalog, one paced page at a time."""

    def __init__(
        self,
        *,
        db: Database,
        fetcher: Fetcher,
        writer: PageWriter,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        interval: float = ARXIV_INTERVAL,
        tries: int = 4,
        max_wait: float = 600.0,
    ) -> None:
        self.db = db
        self.clock = clock
        self.fetcher = fetcher
        self.writer = writer
        self.sleep = sleep
        self.monotonic = monotonic
        self.interval = interval
        self.tries = tries
        self.max_wait = max_wait

    # -- the state in catalog_meta -----------------------------------------------------

    def state(self, url: str, set_spec: str | None, prefix: str) -> HarvestState | None:
        with self.db.session() as session:
            found = meta_values(session, HarvestState.key(url, set_spec, prefix))
        text = found.get(HarvestState.key(url, set_spec, prefix))
        return HarvestState.from_json(text) if text is not None else None

    def states(self, url: str | None = None) -> list[HarvestState]:
        """Every stored harvest (of ``url``, when given)."""
        with self.db.session() as session:
            found = meta_values(session, _STATE_KEY)
        states = [s for s in map(HarvestState.from_json, found.values()) if s is not None]
        return [s for s in states if url is None or s.url == url]

    # -- running -------------------------------------------------------------------------

    def run_due(self, url: str, every: timedelta) -> list[HarvestReport]:
        """Bring each harvest of ``url`` up to date once ``every`` passed since it finished.

        ``digestbot run`` calls it from its ingest job. Only harvests made
        before are kept up: each asks for what changed since it last ran. An
        incremental list cut short goes on; a harvest of everything left
        unfinished waits for `digestbot harvest`, whose hours of paced pages
        would hold up the feeds here.
        """
        now = self.clock()
        reports = []
        for state in self.states(url):
            if state.running and state.from_day is None:
                log.warning("the harvest of set %s from the start is unfinished; "
                            "`digestbot harvest%s` finishes it", state.set_spec or "all",
                            f" --set {state.set_spec}" if state.set_spec else "")
                continue
            if not state.running and state.finished_at is not None:
                if now - datetime.fromisoformat(state.finished_at) < every:
                    continue
            report = self.run(url, set_spec=state.set_spec, prefix=state.prefix)
            (log.warning if report.failed else log.info)("%s", report.line())
            reports.append(report)
        return reports

    def run(
        self,
        url: str,
        *,
        set_spec: str | None = None,
        prefix: str = "arXiv",
        from_day: str | None = None,
        until_day: str | None = None,
        progress: Progress | None = None,
    ) -> HarvestReport:
        """Harvest one list to its end, or go on with the one a stopped harvest left."""
        if prefix not in METADATA_PREFIXES:
            raise HarvestError(f"digestbot reads the metadata formats {', '.join(METADATA_PREFIXES)}, "
                               f"not {prefix!r}.")
        key = HarvestState.key(url, set_spec, prefix)
        stored = self.state(url, set_spec, prefix)
        report = HarvestReport(set_spec)
        asked = (from_day, until_day)
        if stored is not None and stored.running and (
            asked == (None, None) or asked == (stored.from_day, stored.until_day)
        ):
            state = stored
            report.resumed = bool(state.token)
            if not state.token:
                report.notes.append("the list starts again from its beginning (its token expired)")
        else:
            if stored is not None and stored.running:
                report.notes.append(
                    f"dropped the unfinished harvest from {stored.from_day or 'the start'} "
                    f"({stored.pages:,} pages stored) for the one asked")
            state = HarvestState(
                url=url, set_spec=set_spec, prefix=prefix, running=True,
                from_day=from_day if from_day is not None else (
                    stored.next_from if stored is not None else None),
                until_day=until_day,
                next_from=stored.next_from if stored is not None else None,
                harvested_at=stored.harvested_at if stored is not None else None,
            )
        report.from_day = state.from_day
        pacer = HostPacer(domains=(urlsplit(url).hostname or "",), interval=self.interval,
                          clock=self.monotonic, sleep=self.sleep)
        began = self.monotonic()
        while True:
            request = list_records_url(url, token=state.token, prefix=prefix, set_spec=set_spec,
                                       from_day=state.from_day, until_day=state.until_day)
            where = f"page {state.pages + 1}" + (
                f" (resumptionToken {state.token})" if state.token else "")
            try:
                page = self._page(request, pacer, where, state)
            except _Stop as stop:
                report.error, report.advice = stop.reason, stop.advice
                log.warning("%s", report.line())
                return report
            if page is None:  # noRecordsMatch: nothing changed in the range asked
                state = self._finished(state, None)
                self._save(key, state)
                report.pages += 1
                report.complete = True
                return report
            state.started = state.started or page.response_date
            finished = page.last
            next_state = replace(
                state,
                token=page.token,
                pages=state.pages + 1,
                seen=state.seen + page.seen,
                list_size=page.list_size if page.list_size is not None else state.list_size,
                latest_datestamp=max(filter(None, (state.latest_datestamp,
                                                   page.latest_datestamp)), default=None),
            )
            if finished:
                next_state = self._finished(next_state, page)
            records = records_of(page.entries)
            result = self.writer.write_page(
                records, not_news=[r.id for r in records], meta={key: next_state.to_json()}
            )
            state = next_state
            report.pages += 1
            report.seen += page.seen
            report.new += result.new
            report.updated += result.updated
            report.skipped += len(page.skipped)
            if progress is not None:
                done = (page.cursor + page.seen) if page.cursor is not None else state.seen
                progress(HarvestProgress(pages=state.pages, done=done, total=state.list_size,
                                         run_records=report.seen,
                                         elapsed=self.monotonic() - began))
            if finished:
                report.complete = True
                return report

    def _finished(self, state: HarvestState, page: OaiPage | None) -> HarvestState:
        """The state a finished list leaves: no token, and where the next list starts."""
        # An until in the future must not carry the next harvest past today.
        ends = [d for d in (state.until_day, _day(state.started),
                            _day(page.response_date if page is not None else None)) if d]
        reached = state.until_day if state.until_day and not state.started else (
            min(ends) if ends else None)
        candidates = [d for d in (state.next_from, reached) if d]
        return replace(
            state, running=False, token=None,
            next_from=max(candidates) if candidates else None,
            harvested_at=state.started or state.harvested_at,
            finished_at=self.clock().isoformat(),
            started=None, pages=0, seen=0, list_size=None,
        )

    def _save(self, key: str, state: HarvestState) -> None:
        self.writer.write_page([], not_news=(), meta={key: state.to_json()})

    def _page(self, request: str, pacer: HostPacer, where: str,
              state: HarvestState) -> OaiPage | None:
        """One page, asked again as the failure calls for; None for noRecordsMatch."""
        host = urlsplit(request).hostname or ""
        kept = (f"{state.pages:,} page of this list is stored" if state.pages == 1 else
                f"{state.pages:,} pages of this list are stored")
        again = f"{kept}; run `digestbot harvest` again to go on from there"
        failures = waits = 0
        while True:
            try:
                with pacer.slot(host):
                    fetched = self.fetcher.fetch(request)
            except FetchError as exc:
                if exc.status == 503 and exc.retry_after is not None:
                    waits += 1
                    if exc.retry_after > self.max_wait:
                        raise _Stop(f"the server asked to wait {exc.retry_after:.0f} s at {where}",
                                    f"{kept}; run `digestbot harvest` again later to go on "
                                    "from there") from None
                    log.info("OAI-PMH: %s; waiting %.0f s", exc.reason, exc.retry_after)
                    self.sleep(exc.retry_after)
                    continue
                if exc.status is not None and exc.status < 500 and exc.status != 429:
                    raise _Stop(f"the server answered {exc.reason} at {where}",
                                f"check the OAI-PMH base URL ({state.url}); {kept}") from None
                failures += 1
                if failures >= self.tries:
                    raise _Stop(f"{exc.reason} at {where}, {failures} tries", again) from None
                self._wait(failures)
                continue
            try:
                page = parse_oai_page(fetched.body, source=state.url)
            except OaiPageError as exc:
                failures += 1
                if failures >= self.tries:
                    raise _Stop(f"the answer for {where} is no OAI-PMH page: {exc}; "
                                f"{failures} tries", again) from None
                log.info("OAI-PMH: %s at %s; asking again", exc, where)
                self._wait(failures)
                continue
            if not page.errors:
                return page
            if page.error("noRecordsMatch") is not None:
                return None
            bad = page.error("badResumptionToken")
            if bad is not None:
                self._save(HarvestState.key(state.url, state.set_spec, state.prefix),
                           replace(state, token=None))
                raise _Stop(
                    f"the server refused the stored resumption token ({bad})",
                    f"resumption tokens expire; what this list gave is kept ({kept}); run "
                    "`digestbot harvest` again "
                    f"to ask for this list again from its beginning (from "
                    f"{state.from_day or 'the start'}): what is stored is merged, not doubled")
            first = page.errors[0]
            raise _Stop(f"the server answered the OAI-PMH error {first} at {where}",
                        _ADVICE.get(first.code, f"{kept}"))

    def _wait(self, attempt: int) -> None:
        self.sleep(_RETRY_WAITS[min(attempt, len(_RETRY_WAITS)) - 1])


# What to do about an OAI-PMH error, by its code.
_ADVICE = {
    "badArgument": "check --set, --from and --until (days as YYYY-MM-DD)",
    "cannotDisseminateFormat": "this server does not serve that metadata format; "
    "try --format arXiv (arXiv serves arXiv and arXivRaw)",
    "noSetHierarchy": "this server has no sets; harvest without --set",
    "badVerb": "check the OAI-PMH base URL (--url, or the oai_url setting)",
}
