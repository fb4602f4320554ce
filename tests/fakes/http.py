"""What every fake server shares: the lifecycle, the request log, scripts and HTTP plumbing.

A fake is a real server on ``127.0.0.1:<free port>`` that records each request it
receives. :class:`FakeServer` owns what does not depend on how it serves: start and
stop (also as a context manager), its ``url``, the log of recorded requests guarded by
one condition (:meth:`~FakeServer.calls`, :meth:`~FakeServer.wait_for`), the bugs it
hit while serving (``errors``), and the scripted answers queued by ``respond``.
:class:`ThreadedFake` serves with the standard library's threading HTTP server, one
request per connection; the Discord fake brings its own aiohttp server instead.

Each fake keeps only its routes and its platform's rules. :func:`serving` is the body
of every fake's pytest fixture: it fails the test if the fake itself crashed.

This module's only I/O is the local listening socket.
"""

from __future__ import annotations

import contextlib
import copy
import email.parser
import email.policy
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, Self, TypeVar

import pytest

__all__ = [
    "FakeServer",
    "Faults",
    "Handler",
    "Headers",
    "Part",
    "Received",
    "Script",
    "ThreadedFake",
    "multipart_parts",
    "serving",
]

log = logging.getLogger(__name__)

C = TypeVar("C", bound="Received")
F = TypeVar("F", bound="FakeServer[Any]")


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively (``h["authorization"]``)."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._items = {name.lower(): (name, value) for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True, eq=False, kw_only=True)
class Received:
    """The HTTP facts every fake records of a request; each fake's call type adds its own."""

    http_verb: str
    path: str
    headers: Headers
    received_at: float  # the fake's clock (time.monotonic by default)


@dataclass
class Script:
    """One scripted answer, queued for the next ``times`` calls of ``kind``."""

    kind: str  # what the fake calls a request's kind (a method, a route), or "*" for any
    channel: str | None  # only for calls about this channel, if given
    times: int | None  # None: until reset()
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    after: int = 0  # matching calls still let through (answered as usual) before this one

    def matches(self, kind: str, channel: str | None) -> bool:
        return (
            self.kind in ("*", kind)
            and (self.channel is None or self.channel == channel)
            and (self.times is None or self.times > 0)
        )


class _Delayed(Protocol):
    after: int  # requests answered as usual before this fault


D = TypeVar("D", bound=_Delayed)


class Faults(Generic[D]):
    """The faults a test queued for a fake, in order, each after its ``after`` good requests.

    Thread-safe: the test queues while the server's threads take.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[D] = []

    def add(self, fault: D) -> None:
        with self._lock:
            self._queued.append(fault)

    def next(self) -> D | None:
        """The fault for this request (None: answer as usual)."""
        with self._lock:
            if not self._queued:
                return None
            first = self._queued[0]
            if first.after > 0:
                first.after -= 1
                return None
            return self._queued.pop(0)


class FakeServer(Generic[C]):
    """A fake on ``127.0.0.1:<free port>``: lifecycle, request log and scripts.

    Thread-safe: the server answers on its own threads while the test reads and
    scripts; everything they share is guarded by ``_cond``. A subclass opens and
    closes the socket (:meth:`_open`, :meth:`_close`) and says what kind of request
    a recorded one is (:meth:`_kind`).
    """

    name: ClassVar[str] = "the fake server"  # in messages: "the fake Slack API is not running"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._calls: list[C] = []
        self._scripts: list[Script] = []
        self._address: tuple[str, int] | None = None
        self.errors: list[BaseException] = []  # bugs in the fake itself, raised while serving

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        if self._address is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._address = self._open()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join every thread the server started."""
        if self._address is None:
            return
        self._address = None
        self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        if self._address is None:
            raise RuntimeError(f"{self.name} is not running; call start()")
        host, port = self._address
        return f"http://{host}:{port}"

    def _open(self) -> tuple[str, int]:
        """Listen on 127.0.0.1, port 0, and serve; the address bound."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- the request log ----------------------------------------------------------------------

    def _kind(self, call: C) -> str:
        """What :meth:`calls` and :meth:`wait_for` select calls by."""
        raise NotImplementedError

    def calls(self, kind: str | None = None) -> list[C]:
        """Every request received (of ``kind``, if given), failed ones included, in order."""
        with self._cond:
            return [c for c in self._calls if kind is None or self._kind(c) == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[C]:
        """Block until ``count`` calls of ``kind`` arrived (failed ones count); return them all.

        Raises AssertionError, listing what did arrive, when ``timeout`` seconds pass first.
        """
        with self._cond:
            if not self._wait(lambda: len(self.calls(kind)) >= count, timeout):
                raise AssertionError(
                    f"waited {timeout}s for {count} {kind} call(s) to {self.name}, "
                    f"got {len(self.calls(kind))}; all calls received: "
                    f"{[self._kind(c) for c in self._calls]}"
                )
            return self.calls(kind)

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait, holding the lock, until ``predicate()``; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def _record(self, call: C) -> None:
        """Log ``call`` and wake the waiters; the caller holds the lock."""
        self._calls.append(call)
        self._cond.notify_all()

    def _keep_crash(self, verb: str, path: str, exc: BaseException) -> None:
        """A bug in the fake while serving: log it, and keep it for the test to fail on."""
        log.exception("%s failed on %s %s", self.name, verb, path)
        self.errors.append(exc)

    # -- scripts ------------------------------------------------------------------------------

    def respond(
        self,
        kind: str,
        body: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        channel: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """Queue an answer for the next ``times`` calls of ``kind`` ("*": any; None: until reset).

        With ``channel``, only calls about that channel use it; with ``after``, the
        first ``after`` matching calls are answered as usual and the script starts
        with the next one (a fault on the Nth call: ``after=N - 1``). Scripts are
        used up first-in first-out; the module docstring of each fake says what
        comes before.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for 'until reset()'")
        if after < 0:
            raise ValueError("after must be 0 or more")
        script = Script(kind, channel, times, status, copy.deepcopy(body), dict(headers or {}),
                        after)
        with self._cond:
            self._scripts.append(script)

    def _script(self, kind: str, channel: str | None) -> Script | None:
        """The first script for this call, used up by one; the caller holds the lock."""
        for script in self._scripts:
            if script.matches(kind, channel):
                if script.after > 0:  # this call passes; the script waits for a later one
                    script.after -= 1
                    return None
                if script.times is not None:
                    script.times -= 1
                return script
        return None


@contextlib.contextmanager
def serving(fake: F) -> Iterator[F]:
    """Run ``fake`` for one test; fail the test if the fake itself crashed while serving."""
    with fake:
        yield fake
    if fake.errors:
        pytest.fail(f"{fake.name} crashed while serving: {fake.errors!r}")


# -- the standard library's server --------------------------------------------------------------


class ThreadedFake(FakeServer[C]):
    """A fake served by :class:`http.server.ThreadingHTTPServer`, a thread per request.

    A subclass answers in :meth:`_serve_http`, with the :class:`Handler`'s helpers.
    """

    verbs: ClassVar[frozenset[str]] = frozenset({"GET"})  # others: 501, as http.server says
    thread_name: ClassVar[str] = "fake-server"

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock=clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _open(self) -> tuple[str, int]:
        server = _Server(("127.0.0.1", 0), Handler)
        server.fake = self
        host, port = server.server_address[:2]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.thread_name}:{port}",
            daemon=True,
        )
        self._thread.start()
        return str(host), int(port)

    def _close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()  # joins the request threads (block_on_close)
        thread.join()

    def _serve_http(self, handler: Handler, verb: str) -> None:
        """Answer one request through ``handler``; runs on the request's thread.

        A bug in the fake goes to :meth:`_keep_crash`; what the client then gets is the
        fake's to say. A client that went away (a broken pipe) is no bug of the fake.
        """
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    # Join request threads on close, so a stopped fake leaves no thread behind.
    daemon_threads = False
    block_on_close = True
    fake: ThreadedFake[Any]


class Handler(BaseHTTPRequestHandler):
    """Hands each request to its fake, with helpers to read the body and to answer."""

    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after stop()
    timeout = 5  # a client that connects and never speaks cannot hang stop()

    status_sent: int | None = None  # the status line's code, once sent

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status_sent = code
        super().send_response(code, message)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, verb: str) -> None:
        fake = self.server.fake
        if verb not in fake.verbs:
            self.send_error(501, f"Unsupported method ({verb!r})")
            return
        fake._serve_http(self, verb)

    def headers_seen(self) -> Headers:
        return Headers(self.headers.items())

    def read_body(self) -> bytes:
        """The request body, whether sized by Content-Length or sent chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline().strip():  # trailers, then the blank line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        """Send a whole answer: status, ``headers`` in order, Content-Length, body."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_json(self, status: int, answer: Any, headers: Mapping[str, str]) -> None:
        """Send ``answer`` as UTF-8 JSON, then ``headers`` after the Content-Type."""
        content_type = {"Content-Type": "application/json; charset=utf-8"}
        self.answer(status, json.dumps(answer).encode("utf-8"), {**content_type, **headers})

    def client_gone(self) -> bool:
        """Whether the client closed its end: readable, yet nothing to read.

        The request was read whole (HTTP/1.0, one per connection), so a
        client that is still there sends nothing more while it waits.
        """
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (ConnectionError, OSError):
            return True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(f"{self.server.fake.name}: " + format, *args)


# -- bodies -----------------------------------------------------------------------------------


class Part(NamedTuple):
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None  # None for a text field
    data: bytes
    charset: str | None


def multipart_parts(content_type: str, body: bytes) -> Iterator[Part]:
    """The parts of a multipart/form-data ``body`` sent with ``content_type``."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        data = part.get_payload(decode=True)
        yield Part(
            name=str(part.get_param("name", header="content-disposition")),
            filename=part.get_filename(),
            data=data if isinstance(data, bytes) else b"",
            charset=part.get_content_charset(),
        )
