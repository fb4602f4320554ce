"""Downloading feed documents over HTTP: the fetching half of ingestion.

I/O: this is the only module in the core that opens network connections. It
speaks HTTP(S) through ``http.client`` and hands back bytes and headers;
parsing them is ``bot.ingest.feeds.parse_feed``'s job, reading local files is the
caller's.

What a fetch guarantees:

- It MUST end: a connect timeout, a read timeout (no byte for that long) and
  a total deadline that also stops a server dripping one byte a second.
- It MUST NOT hold more than ``max_bytes`` of body in memory: the cap is
  applied while streaming, to the bytes received and, for gzip, to the
  decompressed bytes (a gzip bomb fails like any oversized response).
- It sends ``If-None-Match`` / ``If-Modified-Since`` when given the validators
  of the last fetch; a 304 comes back as a result with an empty body.
- Requests to arXiv (arxiv.org and its subdomains) go one at a time, at least
  3 s apart (arXiv's terms of use); other hosts are not paced. The pacing,
  the ``Retry-After`` reading and the deadline's timer are
  ``bot.ingest.pacing``'s.
- Every failure is a :class:`FetchError` whose ``reason`` is one short
  sentence for the person reading the feed's status; nothing else escapes.

Share one :class:`Fetcher` (or at least its :class:`HostPacer`) per process:
pacing only holds between fetches that go through the same pacer.
"""


import http.client
import importlib.metadata
import logging
import socket
import ssl
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote, urljoin, urlsplit

from bot.ingest.markup import html_page
from bot.ingest.pacing import Deadline, HostPacer, parse_retry_after

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_READ_TIMEOUT",
    "FetchError",
    "FetchResult",
    "Fetcher",
    "default_user_agent",
    "digestbot_version",
]

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_DEADLINE = 120.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5

_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FEED_TYPES = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
_FEED_TYPES += "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"


def digestbot_version() -> str:
    """The installed package's version; ``0+unknown`` when run from an uninstalled tree."""
    try:
        return importlib.metadata.version("digestbot")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def default_user_agent() -> str:
    """``digestbot/0.1.0 (research-paper digest bot; Python 3.11)``."""
    python = ".".join(str(part) for part in sys.version_info[:2])
    return f"digestbot/{digestbot_version()} (research-paper digest bot; Python {python})"


class FetchError(Exception):
    """A fetch that produced no usable document.

    ``reason`` is one sentence for a person ("HTTP 503 Service Unavailable",
    "timed out after 30 s waiting for the server"); ``status`` is the HTTP
    status when the server answered; ``retry_after`` is the wait in seconds
    the server asked for (``Retry-After``), if any; ``url`` is the URL being
    fetched when it failed (after redirects).
    """

    def __init__(
        self,
        reason: str,
        *,
        url: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"FetchError({self.reason!r}, url={self.url!r}, status={self.status!r})"


@dataclass(frozen=True, kw_only=True)
class FetchResult:
    """A fetched document (status 200) or the news that it is unchanged (304).

    ``headers`` have lower-case names and describe ``body`` as returned: a
    gzip body is decompressed, so ``content-encoding`` is dropped and
    ``content-length`` is the body's length. ``etag`` and ``last_modified``
    are the validators to store for the next conditional fetch (on a 304
    without them, the ones sent). ``redirects`` lists each hop followed as
    ``(status, location)``; a 301/308 says the feed moved for good.
    """

    url: str
    status: int
    body: bytes
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    elapsed: float
    redirects: tuple[tuple[int, str], ...] = ()

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def moved_permanently(self) -> str | None:
        """The new URL when every redirect followed was permanent (301/308), else None."""
        if self.redirects and all(status in (301, 308) for status, _ in self.redirects):
            return self.url
        return None


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _size(count: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


class Fetcher:
    """Fetches feed URLs with timeouts, a size cap, conditional GET and pacing.

    Thread-safe: one instance may serve several threads; paced hosts still
    see one request at a time. Every setting is keyword-only; ``pacer``
    defaults to a :class:`HostPacer` for arXiv.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str | None = None,
        pacer: HostPacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent or default_user_agent()
        self.pacer = pacer if pacer is not None else HostPacer()
        self._clock = clock
        self._ssl_context = ssl_context

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``; a :class:`FetchResult` with status 200 or 304, else :class:`FetchError`.

        The deadline covers the whole fetch, redirects included, but not the
        wait for a paced host's turn.
        """
        headers = {
            "User-Agent": self.user_agent,
            "Accept": _FEED_TYPES,
            "Accept-Encoding": "gzip",
            "Connection": "close",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        redirects: list[tuple[int, str]] = []
        current = url
        spent = 0.0
        while True:
            try:
                target = _split(current)
            except FetchError as exc:
                exc.url = current
                raise
            with self.pacer.slot(target[1]):
                started = self._clock()
                try:
                    answer = self._request(current, target, headers, self.deadline - spent)
                except FetchError as exc:
                    exc.url = current
                    raise
                except Exception as exc:  # a bug or an oddity must still come back as a reason
                    log.exception("fetching %s failed unexpectedly", current)
                    raise FetchError(
                        f"unexpected error: {type(exc).__name__}", url=current
                    ) from exc
                finally:
                    spent += self._clock() - started
            status, response_headers, body = answer
            if status in _REDIRECTS:
                location = response_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location", url=current)
                if len(redirects) >= self.max_redirects:
                    raise FetchError(
                        f"too many redirects (more than {self.max_redirects})", url=current
                    )
                current = urljoin(current, location.strip())
                redirects.append((status, current))
                log.debug("redirected (%d) to %s", status, current)
                continue
            break
        if status != 304:
            _check_feed(body, response_headers, current)
        return FetchResult(
            url=current,
            status=status,
            body=body,
            headers=response_headers,
            # A 304 need not repeat the validators; the ones sent still hold.
            etag=response_headers.get("etag") or (etag if status == 304 else None),
            last_modified=response_headers.get("last-modified")
            or (last_modified if status == 304 else None),
            elapsed=spent,
            redirects=tuple(redirects),
        )

    def _request(
        self,
        url: str,
        target: tuple[str, str, int, str],
        headers: dict[str, str],
        budget: float,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request/response exchange; redirects and 304 are returned, not followed."""
        scheme, host, port, path = target
        if budget <= 0:
            raise FetchError(self._deadline_reason())
        connect_timeout = min(self.connect_timeout, budget)
        conn: http.client.HTTPConnection
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        started = self._clock()
        deadline: Deadline | None = None
        response: http.client.HTTPResponse | None = None
        try:
            try:
                conn.connect()
            except TimeoutError as exc:
                raise FetchError(f"could not connect within {_seconds(connect_timeout)}") from exc
            sock = conn.sock
            assert sock is not None
            sock.settimeout(self.read_timeout)
            deadline = Deadline(budget - (self._clock() - started), lambda: _shutdown(sock))
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                answer = self._read(response)
            except FetchError:
                raise
            except (OSError, http.client.HTTPException) as exc:
                if deadline.fired:
                    raise FetchError(self._deadline_reason()) from exc
                raise
            if deadline.fired:  # the shutdown may look like a close-delimited body's end
                raise FetchError(self._deadline_reason())
            return answer
        except FetchError:
            raise
        except TimeoutError as exc:
            raise FetchError(
                f"timed out after {_seconds(self.read_timeout)} waiting for the server"
            ) from exc
        except ConnectionRefusedError as exc:
            raise FetchError("connection refused") from exc
        except socket.gaierror as exc:
            raise FetchError(f"host not found: {host}") from exc
        except ssl.SSLError as exc:
            raise FetchError(f"TLS error: {exc.reason or exc}") from exc
        except (http.client.IncompleteRead, http.client.RemoteDisconnected) as exc:
            raise FetchError("the connection closed before the response was complete") from exc
        except http.client.HTTPException as exc:
            raise FetchError(f"not an HTTP answer ({type(exc).__name__})") from exc
        except ConnectionError as exc:
            raise FetchError("the connection was reset by the server") from exc
        except OSError as exc:
            raise FetchError(f"network error: {exc.strerror or exc}") from exc
        finally:
            if deadline is not None:
                deadline.cancel()
            # With "Connection: close" the response owns the socket: closing only the
            # connection would leave it open, and the server still sending.
            if response is not None:
                response.close()
            conn.close()

    def _deadline_reason(self) -> str:
        return f"took longer than {_seconds(self.deadline)} in all (the server is too slow)"

    def _read(self, response: http.client.HTTPResponse) -> tuple[int, dict[str, str], bytes]:
        status = response.status
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if status in _REDIRECTS or status == 304:
            return status, headers, b""
        if status != 200:
            retry_after = parse_retry_after(headers.get("retry-after"))
            phrase = (response.reason or "").strip() or _phrase(status)
            reason = f"HTTP {status} {phrase}".rstrip()
            if retry_after is not None:
                reason += f" (retry after {retry_after:.0f} s)"
            raise FetchError(reason, status=status, retry_after=retry_after)
        encoding = headers.get("content-encoding", "").strip().lower() or "identity"
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", status=status)
        too_big = FetchError(f"response larger than {_size(self.max_bytes)}", status=status)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big
        body = _read_capped(response, self.max_bytes, too_big, gzip=encoding != "identity")
        if encoding != "identity":
            headers.pop("content-encoding", None)
        headers["content-length"] = str(len(body))
        return status, headers, body


def _read_capped(
    response: http.client.HTTPResponse, limit: int, too_big: FetchError, *, gzip: bool
) -> bytes:
    """The body, streamed: never more than ``limit`` (+1 chunk) bytes held at once."""
    chunks: list[bytes] = []
    received = 0
    size = 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
    while True:
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        if received > limit:
            raise too_big
        if inflater is None:
            chunks.append(chunk)
            size += len(chunk)
            continue
        try:
            data = chunk
            while data:
                # max_length bounds the memory a gzip bomb can claim per step.
                out = inflater.decompress(data, limit - size + 1)
                size += len(out)
                if size > limit:
                    raise too_big
                chunks.append(out)
                data = inflater.unconsumed_tail
        except zlib.error as exc:
            raise FetchError("the gzip-compressed response is corrupt", status=200) from exc
    if response.length:  # http.client reports an early end of a sized body as just the end
        raise http.client.IncompleteRead(b"", response.length)
    if inflater is not None:
        if not inflater.eof and received:
            raise FetchError("the gzip-compressed response is truncated", status=200)
        try:
            tail = inflater.flush()
        except zlib.error as exc:
            raise FetchError("the gzip-compressed response is corrupt", status=200) from exc
        size += len(tail)
        if size > limit:
            raise too_big
        chunks.append(tail)
    return b"".join(chunks)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _split(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path?query)`` of an http(s) URL, or a FetchError saying why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchError(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "none"
        raise FetchError(f"unsupported URL scheme {shown} (only http and https)")
    host = parts.hostname
    if not host:
        raise FetchError("not a valid URL: no host")
    try:  # an internationalized name goes out in its ASCII (punycode) form
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise FetchError(f"not a valid URL: bad host name {host!r}") from exc
    # Anything not already escaped goes out percent-encoded (http.client sends ASCII only).
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _shutdown(sock: socket.socket) -> None:
    """End ``sock`` both ways, waking any read blocked on it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _check_feed(body: bytes, headers: dict[str, str], url: str) -> None:
    """Refuse an HTML page (a proxy's or server's error page) as no feed at all."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    got = html_page(body, content_type)
    if got is not None:
        raise FetchError(f"not a feed: got {got}", url=url, status=200)
