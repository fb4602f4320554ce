"""A fake arXiv API (export.arxiv.org/api/query): a real HTTP server on 127.0.0.1.

It answers ``search_query=cat:CAT AND submittedDate:[FROM TO TO]`` from the
papers a test gives it (:meth:`FakeArxivApi.add`), sorted by submission time
and paged by ``start`` / ``max_results``, as Atom in the API's current format
(``opensearch:totalResults`` and the rest). ``page_limit`` caps the entries of
a page below ``max_results``, as the real API sometimes does.
:meth:`FakeArxivApi.serve_recorded` serves real recorded pages instead, by
their ``start``, whatever the query; a ``start`` with no recorded page gets an
empty page.

Faults, for the next requests in order (each used once, then the normal
answer): :meth:`~FakeArxivApi.fail` queues an HTTP error (``retry_after``
adds ``Retry-After``), :meth:`~FakeArxivApi.empty_page` an empty page that
still announces the query's total, :meth:`~FakeArxivApi.garbage` a body
that is no feed, :meth:`~FakeArxivApi.truncated` the right page cut off
half-way through its entries. ``after=N`` lets N requests through first.

Every request is logged (:meth:`~FakeArxivApi.queries`) with its parsed
parameters and the ``received_at`` of the clock the fake was given (the
test's clock, which moves when the code under test sleeps), so tests check
the spacing of requests without waiting.

This module's only I/O is the local listening socket (and reading the
recorded files a test names).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.http import Faults, Handler, Received, ThreadedFake, serving

__all__ = ["ApiPaper", "ApiQuery", "FakeArxivApi", "api_entry", "arxiv_api_fixture"]

_QUERY = re.compile(
    r"^cat:(?P<category>\S+) AND submittedDate:\[(?P<start>\d{12}) TO (?P<end>\d{12})\]$"
)
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class ApiPaper:
    """One paper the fake knows: its arXiv id, version, submission time and categories."""

    arxiv_id: str
    submitted: datetime
    categories: tuple[str, ...] = ("cs.CV",)
    version: int = 1
    title: str = ""
    abstract: str = ""
    authors: tuple[str, ...] = ("Ana Lima", "Jean Dupont")
    comment: str | None = None

    def entry(self) -> str:
        return api_entry(self)


def api_entry(paper: ApiPaper) -> str:
    """``paper`` as the API writes an entry (2025+ format)."""
    stamp = paper.submitted.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = paper.title or f"Paper {paper.arxiv_id} on image segmentation"
    abstract = paper.abstract or f"We study problem {paper.arxiv_id} in medical imaging."
    authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in paper.authors)
    categories = "".join(
        f'<category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in paper.categories
    )
    comment = f"<arxiv:comment>{escape(paper.comment)}</arxiv:comment>" if paper.comment else ""
    versioned = f"{paper.arxiv_id}v{paper.version}"
    return (
        f"<entry><id>http://arxiv.org/abs/{versioned}</id>"
        f"<title>{escape(title)}</title><updated>{stamp}</updated>"
        f"<link href=\"https://arxiv.org/abs/{versioned}\" rel=\"alternate\" type=\"text/html\"/>"
        f"<link href=\"https://arxiv.org/pdf/{versioned}\" rel=\"related\" "
        f"type=\"application/pdf\" title=\"pdf\"/>"
        f"<summary>{escape(abstract)}</summary>{categories}<published>{stamp}</published>"
        f"{comment}<arxiv:primary_category term=\"{paper.categories[0]}\"/>{authors}</entry>\n"
    )


def _feed(entries: Sequence[str], *, total: int, start: int, per_page: int) -> bytes:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
        '<id>https://arxiv.org/api/fake</id><title>arXiv Query: fake</title>'
        '<updated>2025-03-24T00:00:00Z</updated>'
        '<link href="https://arxiv.org/api/query" type="application/atom+xml"/>\n'
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>\n"
    )
    return (head + "".join(entries) + "</feed>\n").encode("utf-8")


@dataclass(frozen=True, eq=False, kw_only=True)
class ApiQuery(Received):
    """One request: its parameters (``category``, ``window``, ``start``, ``max_results``)."""

    params: dict[str, str] = field(default_factory=dict)
    status: int = 200
    fault: str = ""

    @property
    def start(self) -> int:
        return int(self.params.get("start", "0"))

    @property
    def max_results(self) -> int:
        return int(self.params.get("max_results", "10"))

    @property
    def search_query(self) -> str:
        return self.params.get("search_query", "")

    @property
    def window(self) -> tuple[str, str] | None:
        match = _QUERY.match(self.search_query)
        return (match["start"], match["end"]) if match else None


@dataclass
class _Fault:
    kind: str  # "status", "empty", "garbage", "truncated"
    status: int = 200
    retry_after: str | None = None
    after: int = 0


class FakeArxivApi(ThreadedFake[ApiQuery]):
    """The fake API on ``127.0.0.1:<free port>``; ``query_url`` is its /api/query."""

    name = "the fake arXiv API"
    thread_name = "fake-arxiv-api"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 page_limit: int | None = None) -> None:
        super().__init__(clock=clock)
        self.page_limit = page_limit
        self._papers: list[ApiPaper] = []
        self._recorded: dict[int, bytes] | None = None
        self._faults: Faults[_Fault] = Faults()
        self._lock = threading.Lock()

    @property
    def query_url(self) -> str:
        return self.url + "/api/query"

    # -- what it knows ------------------------------------------------------------------

    def add(self, *papers: ApiPaper) -> None:
        with self._lock:
            self._papers.extend(papers)

    def serve_recorded(self, pages: dict[int, bytes]) -> None:
        """Answer every query with these real pages, by ``start``."""
        with self._lock:
            self._recorded = dict(pages)

    # -- faults -------------------------------------------------------------------------

    def fail(self, status: int, *, retry_after: int | str | None = None, times: int = 1,
             after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("status", status,
                               None if retry_after is None else str(retry_after), after))
            after = 0

    def empty_page(self, *, times: int = 1, after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("empty", after=after))
            after = 0

    def garbage(self, *, times: int = 1, after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("garbage", after=after))
            after = 0

    def truncated(self, *, times: int = 1, after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("truncated", after=after))
            after = 0

    def _queue(self, fault: _Fault) -> None:
        self._faults.add(fault)

    def _next_fault(self) -> _Fault | None:
        return self._faults.next()

    # -- the log ------------------------------------------------------------------------

    def _kind(self, call: ApiQuery) -> str:
        return urlsplit(call.path).path

    def queries(self) -> list[ApiQuery]:
        return self.calls()

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests, by the fake's clock."""
        times = [q.received_at for q in self.queries()]
        return [b - a for a, b in itertools.pairwise(times)]

    # -- serving ------------------------------------------------------------------------

    def _serve_http(self, handler: Handler, verb: str) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            status, body, headers, fault = self._answer(parts.path, params)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake: keep it for the test
            self._keep_crash(verb, handler.path, exc)
            status, body, headers, fault = 500, b"fake crashed", {"Content-Type": "text/plain"}, ""
        with self._cond:
            self._record(ApiQuery(http_verb=verb, path=handler.path, headers=handler.headers_seen(),
                                  received_at=self._clock(), params=params, status=status,
                                  fault=fault))
        try:
            handler.answer(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes, dict[str, str], str]:
        if path != "/api/query":
            return 404, b"no such page", {"Content-Type": "text/plain"}, ""
        fault = self._next_fault()
        if fault is not None and fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return fault.status, b"Service unavailable, try later", headers, "status"
        if fault is not None and fault.kind == "garbage":
            return 200, b"\x00\x01 this is no feed \xff\xfe", {"Content-Type": ATOM}, "garbage"
        start = int(params.get("start", "0"))
        wanted = int(params.get("max_results", "10"))
        body, total = self._page(params, start, wanted)
        if fault is not None and fault.kind == "empty":
            return 200, _feed([], total=total, start=start, per_page=0), {"Content-Type": ATOM}, \
                "empty"
        if fault is not None and fault.kind == "truncated":
            cut = body.find(b"</entry>") + len(b"</entry>")
            cut += (body.find(b"</entry>", cut) - cut) // 2  # half-way through the second entry
            return 200, body[:cut], {"Content-Type": ATOM}, "truncated"
        return 200, body, {"Content-Type": ATOM}, ""

    def _page(self, params: dict[str, str], start: int, wanted: int) -> tuple[bytes, int]:
        with self._lock:
            recorded = self._recorded
            papers = list(self._papers)
        if recorded is not None:
            if start in recorded:
                return recorded[start], int(_total(recorded[start]) or 0)
            total = max((_total(b) or 0) for b in recorded.values()) if recorded else 0
            return _feed([], total=total, start=start, per_page=0), total
        match = _QUERY.match(params.get("search_query", ""))
        if match is None:
            raise ValueError(f"the fake reads only cat:X AND submittedDate:[...]: {params}")
        low = datetime.strptime(match["start"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        high = datetime.strptime(match["end"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        found = sorted(
            (p for p in papers if match["category"] in p.categories and low <= p.submitted <= high),
            key=lambda p: (p.submitted, p.arxiv_id),
        )
        size = min(wanted, self.page_limit or wanted)
        chosen = found[start:start + size]
        return _feed([p.entry() for p in chosen], total=len(found), start=start,
                     per_page=len(chosen)), len(found)


def _total(body: bytes) -> int | None:
    found = re.search(rb"totalResults[^>]*>\s*(\d+)", body)
    return int(found[1]) if found else None


@pytest.fixture(name="arxiv_api")
def arxiv_api_fixture() -> Iterator[FakeArxivApi]:
    """A running FakeArxivApi on the real clock (tests that count spacing make their own)."""
    with serving(FakeArxivApi()) as fake:
        yield fake


def serve(clock: Callable[[], float], **options: Any) -> Any:
    """``serving(FakeArxivApi(clock=clock, ...))``: for tests that bring a clock."""
    return serving(FakeArxivApi(clock=clock, **options))
