"""When a fetch may start and when it must stop: host pacing, Retry-After, deadlines.

- ``HostPacer`` spaces requests to some domains (arXiv's terms of use: one
  request at a time, at least 3 s apart); other hosts are not paced.
- ``parse_retry_after`` reads a server's ``Retry-After`` as seconds to wait.
- ``Deadline`` fires once when a fetch's total time is up, so that the
  fetcher can cut a connection that drips one byte a second.

I/O: none; time and threads only. The network is ``bot.ingest.fetch``'s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

__all__ = [
    "ARXIV_DOMAINS",
    "ARXIV_INTERVAL",
    "Deadline",
    "HostPacer",
    "is_arxiv_host",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

ARXIV_DOMAINS: tuple[str, ...] = ("arxiv.org",)
ARXIV_INTERVAL = 3.0


def is_arxiv_host(host: str) -> bool:
    """True for arxiv.org and any subdomain (rss.arxiv.org, export.arxiv.org)."""
    return _matching_domain(host, ARXIV_DOMAINS) is not None


def _matching_domain(host: str, domains: Iterable[str]) -> str | None:
    host = host.lower().rstrip(".")
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None


class HostPacer:
    """Spaces requests to some domains: one at a time, ``interval`` seconds apart.

    A host is paced when it is one of ``domains`` or a subdomain; all hosts
    under one domain share one slot (rss.arxiv.org and export.arxiv.org
    count as arXiv together). The interval runs from the end of one request
    to the start of the next, the stricter reading of "one request every
    3 seconds". ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(
        self,
        *,
        domains: Iterable[str] = ARXIV_DOMAINS,
        interval: float = ARXIV_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.domains = tuple(d.lower().rstrip(".") for d in domains)
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last_end: dict[str, float] = {}

    def domain_for(self, host: str) -> str | None:
        """The paced domain ``host`` falls under, or None when it is not paced."""
        return _matching_domain(host, self.domains)

    @contextmanager
    def slot(self, host: str) -> Iterator[float]:
        """Hold the request slot for ``host`` while the request runs; yields the wait."""
        domain = self.domain_for(host)
        if domain is None:
            yield 0.0
            return
        with self._guard:
            lock = self._locks.setdefault(domain, threading.Lock())
        with lock:
            waited = 0.0
            last = self._last_end.get(domain)
            if last is not None:
                waited = max(0.0, last + self.interval - self._clock())
                if waited > 0:
                    log.debug("pacing %s: waiting %.2f s", domain, waited)
                    self._sleep(waited)
            try:
                yield waited
            finally:
                self._last_end[domain] = self._clock()


class Deadline:
    """Calls ``expire`` once when ``seconds`` have passed, unless cancelled first.

    ``fired`` says whether it did: the fetcher's way to tell a deadline's
    shutdown of the socket from the server closing the connection.
    """

    def __init__(self, seconds: float, expire: Callable[[], None]) -> None:
        self.fired = False
        self._expire = expire
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        self._expire()

    def cancel(self) -> None:
        self._timer.cancel()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
