"""A fake OAI-PMH interface (arXiv's oaipmh.arxiv.org/oai): a real HTTP server on 127.0.0.1.

It serves a list of ``ListRecords`` pages a test gives it (:meth:`FakeOaiPmh.serve`),
as bytes: real pages read from ``../shared/real-data/`` or pages written with
:func:`oai_page`. The first request of a list (``metadataPrefix``) gets the
first page; a request with a ``resumptionToken`` gets the page after the
one whose body carries that token, so real pages chain by their own tokens.
A token no page carries gets OAI's ``badResumptionToken``, as an expired
one does.

Faults, for the next requests in order (each used once, then the normal
answer; ``after=N`` lets N requests through first): :meth:`~FakeOaiPmh.fail`
an HTTP error (``retry_after`` adds ``Retry-After``), :meth:`~FakeOaiPmh.oai_error`
an OAI-PMH ``<error>`` (``noRecordsMatch``, ``badResumptionToken``...),
:meth:`~FakeOaiPmh.truncated` the right page cut off half-way,
:meth:`~FakeOaiPmh.stall` half of the right page and then nothing until the
client goes away (the slow server a kill test kills its harvest against).

Every request is logged (:meth:`~FakeOaiPmh.requests`) with its parameters
and the ``received_at`` of the clock the fake was given (the test's clock,
which moves when the code under test sleeps).

This module's only I/O is the local listening socket.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.http import Faults, Handler, Received, ThreadedFake, serving

__all__ = ["FakeOaiPmh", "OaiRecord", "OaiRequest", "oai_page", "oai_pmh_fixture"]

XML = "text/xml; charset=utf-8"
_TOKEN = re.compile(rb"<resumptionToken\b[^>]*>([^<]*)</resumptionToken>")


@dataclass(frozen=True)
class OaiRecord:
    """One record as arXiv's OAI-PMH interface writes it today (``arXiv`` or ``arXivRaw``)."""

    arxiv_id: str
    datestamp: str = "2026-11-30"
    title: str = ""
    abstract: str = ""
    categories: tuple[str, ...] = ("cs.CV",)
    authors: tuple[tuple[str, str], ...] = (("Lima", "Ana"), ("Dupont", "Jean"))
    created: str = "2026-11-28"
    versions: int = 1
    comments: str | None = None
    doi: str | None = None
    deleted: bool = False

    def xml(self, prefix: str = "arXiv") -> str:
        sets = "".join(f"<setSpec>{c.split('.')[0]}:{c.split('.')[0]}:{c.partition('.')[2]}"
                       f"</setSpec>" for c in self.categories)
        if self.deleted:
            return (f'<record><header status="deleted"><identifier>oai:arXiv.org:{self.arxiv_id}'
                    f"</identifier><datestamp>{self.datestamp}</datestamp>{sets}</header>"
                    "</record>\n")
        title = escape(self.title or f"Paper {self.arxiv_id} on image segmentation")
        abstract = escape(self.abstract or f"We study problem {self.arxiv_id} in medical imaging.")
        extra = f"<comments>{escape(self.comments)}</comments>" if self.comments else ""
        extra += f"<doi>{escape(self.doi)}</doi>" if self.doi else ""
        if prefix == "arXivRaw":
            authors = escape(" and ".join(f"{f} {k}" for k, f in self.authors))
            versions = "".join(
                f'<version version="v{n}"><date>Mon, {n} Dec 2026 10:00:00 GMT</date>'
                f"<size>120kb</size><source_type>D</source_type></version>"
                for n in range(1, self.versions + 1))
            body = (f'<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>{self.arxiv_id}</id>'
                    f"<submitter>{escape(self.authors[0][1])}</submitter>{versions}"
                    f"<title>{title}</title><authors>{authors}</authors>"
                    f"<categories>{' '.join(self.categories)}</categories>{extra}"
                    "<license>http://creativecommons.org/licenses/by/4.0/</license>"
                    f"<abstract>  {abstract}\n</abstract></arXivRaw>")
        else:
            authors = "".join(
                f"<author><keyname>{escape(k)}</keyname><forenames>{escape(f)}</forenames>"
                "<affiliation>Somewhere University</affiliation></author>"
                for k, f in self.authors)
            body = (f'<arXiv xmlns="http://arxiv.org/OAI/arXiv/" '
                    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                    f"<id>{self.arxiv_id}</id><created>{self.created}</created>"
                    f"<authors>{authors}</authors><title>{title}</title>"
                    f"<categories>{' '.join(self.categories)}</categories>{extra}"
                    "<license>http://creativecommons.org/licenses/by/4.0/</license>"
                    f"<abstract>  {abstract}\n</abstract></arXiv>")
        return (f"<record><header><identifier>oai:arXiv.org:{self.arxiv_id}</identifier>"
                f"<datestamp>{self.datestamp}</datestamp>{sets}</header>"
                f"<metadata>{body}</metadata></record>\n")


def oai_page(records: Sequence[OaiRecord], *, token: str | None = None, cursor: int = 0,
             size: int | None = None, prefix: str = "arXiv",
             response_date: str = "2026-12-01T10:00:00Z") -> bytes:
    """A ``ListRecords`` page in the current format; ``token`` None ends the list.

    The last page of a list carries an empty token element, as arXiv writes it.
    """
    size_attr = f' completeListSize="{size}"' if size is not None else ""
    token_xml = (f'<resumptionToken cursor="{cursor}"{size_attr} '
                 f'expirationDate="2026-12-02T10:00:00Z">{escape(token or "")}</resumptionToken>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
        'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
        f"<responseDate>{response_date}</responseDate>\n"
        f'<request verb="ListRecords" metadataPrefix="{prefix}">https://oaipmh.arxiv.org/oai'
        "</request>\n<ListRecords>\n"
        + "".join(r.xml(prefix) for r in records)
        + token_xml + "\n</ListRecords>\n</OAI-PMH>\n"
    ).encode("utf-8")


def error_page(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        "<responseDate>2026-12-01T10:00:00Z</responseDate>"
        '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>'
        f'<error code="{code}">{escape(message)}</error></OAI-PMH>\n'
    ).encode("utf-8")


@dataclass(frozen=True, eq=False, kw_only=True)
class OaiRequest(Received):
    """One request: its parameters, and what the fake answered."""

    params: dict[str, str] = field(default_factory=dict)
    status: int = 200
    fault: str = ""

    @property
    def token(self) -> str | None:
        return self.params.get("resumptionToken")


@dataclass
class _Fault:
    kind: str  # "status", "oai", "truncated", "stall"
    status: int = 200
    retry_after: str | None = None
    code: str = ""
    message: str = ""
    after: int = 0


class FakeOaiPmh(ThreadedFake[OaiRequest]):
    """The fake on ``127.0.0.1:<free port>``; ``base_url`` is its /oai."""

    name = "the fake OAI-PMH interface"
    thread_name = "fake-oai-pmh"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._pages: list[bytes] = []
        self._faults: Faults[_Fault] = Faults()
        self._lock = threading.Lock()
        self.stalled = threading.Event()  # set once a stalled answer sent its first half

    @property
    def base_url(self) -> str:
        return self.url + "/oai"

    def serve(self, pages: Sequence[bytes]) -> None:
        """The list every first request starts: these pages, chained by their tokens."""
        with self._lock:
            self._pages = list(pages)

    # -- faults -------------------------------------------------------------------------

    def fail(self, status: int, *, retry_after: int | str | None = None, times: int = 1,
             after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("status", status,
                               None if retry_after is None else str(retry_after), after=after))
            after = 0

    def oai_error(self, code: str, message: str = "", *, after: int = 0) -> None:
        self._queue(_Fault("oai", code=code, message=message or f"fake {code}", after=after))

    def truncated(self, *, times: int = 1, after: int = 0) -> None:
        for _ in range(times):
            self._queue(_Fault("truncated", after=after))
            after = 0

    def stall(self, *, after: int = 0) -> None:
        self._queue(_Fault("stall", after=after))

    def _queue(self, fault: _Fault) -> None:
        self._faults.add(fault)

    def _next_fault(self) -> _Fault | None:
        return self._faults.next()

    # -- the log ------------------------------------------------------------------------

    def _kind(self, call: OaiRequest) -> str:
        return urlsplit(call.path).path

    def requests(self) -> list[OaiRequest]:
        return self.calls()

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests, by the fake's clock."""
        times = [r.received_at for r in self.requests()]
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
            self._record(OaiRequest(http_verb=verb, path=handler.path,
                                    headers=handler.headers_seen(), received_at=self._clock(),
                                    params=params, status=status, fault=fault))
        try:
            if fault == "stall":
                self._stall(handler, body, headers)
            else:
                handler.answer(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stall(self, handler: Handler, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(200)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
        self.stalled.set()
        deadline = time.monotonic() + 30
        while not handler.client_gone() and time.monotonic() < deadline:
            time.sleep(0.02)

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes, dict[str, str], str]:
        if path != "/oai":
            return 404, b"no such page", {"Content-Type": "text/plain"}, ""
        if params.get("verb") != "ListRecords":
            return 200, error_page("badVerb", "the fake serves ListRecords only"), \
                {"Content-Type": XML}, ""
        fault = self._next_fault()
        if fault is not None and fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return fault.status, b"Service unavailable, try later", headers, "status"
        if fault is not None and fault.kind == "oai":
            return 200, error_page(fault.code, fault.message), {"Content-Type": XML}, "oai"
        body = self._page(params.get("resumptionToken"))
        if fault is not None and fault.kind == "truncated":
            return 200, body[: len(body) // 2], {"Content-Type": XML}, "truncated"
        return 200, body, {"Content-Type": XML}, fault.kind if fault is not None else ""

    def _page(self, token: str | None) -> bytes:
        with self._lock:
            pages = list(self._pages)
        if token is None:
            if not pages:
                return error_page("noRecordsMatch", "no records match the request")
            return pages[0]
        for n, page in enumerate(pages[:-1]):
            found = _TOKEN.search(page)
            if found and found[1].decode("utf-8").strip() == token:
                return pages[n + 1]
        return error_page("badResumptionToken", f"the token {token!r} is expired or unknown")


@pytest.fixture(name="oai_pmh")
def oai_pmh_fixture() -> Iterator[FakeOaiPmh]:
    """A running FakeOaiPmh on the real clock (tests that count spacing make their own)."""
    with serving(FakeOaiPmh()) as fake:
        yield fake


def serve(clock: Callable[[], float], **options: Any) -> Any:
    """``serving(FakeOaiPmh(clock=clock, ...))``: for tests that bring a clock."""
    return serving(FakeOaiPmh(clock=clock, **options))
