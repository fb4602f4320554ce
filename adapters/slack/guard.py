"""The door of the HTTP server: each of Slack's requests checked on its raw bytes first.

Over HTTP anyone can post to ``/slack/events``. Before slack-bolt reads a
request (its body parsing raises on bytes Slack never sends), ``RequestGuard``
checks it as it came:

1. the signature: ``X-Slack-Request-Timestamp`` a number of seconds within
   5 minutes of now, and ``X-Slack-Signature`` the HMAC of the raw body with
   the signing secret (slack_sdk's ``SignatureVerifier``); else 401 (a body
   that is not UTF-8, which Slack never sends, 400);
2. the content type: only those Slack sends, ``application/x-www-form-urlencoded``
   (slash commands, and interactivity in its ``payload`` field) and
   ``application/json`` (events); else 415;
3. the body: a JSON object for ``application/json``; for a form, a form
   (not starting with "{", which bolt would read as JSON) whose ``payload``
   field, if any, is a JSON object; else 400.

4. replays: a body handled in the last hour (each of Slack's bodies is
   unique) is answered 200 and nothing is done again: a signed request sent
   again, or Slack's retry of an event (``X-Slack-Retry-Num``, signed anew)
   when the first delivery was handled; after a failure (a 5xx) the retry
   is handled. Memory is bounded: entries expire, and at most
   ``REMEMBER_AT_MOST`` are kept (a hash and a time each).

A refused request is answered at once, without a traceback, and logged in
one warning line at most every ``LOG_EVERY`` seconds, which counts the
requests refused since the line before (``RefusalLog``): a flood of junk
costs a line a minute, not a traceback each.

``middleware`` plugs the guard into the adapter's aiohttp server (the
adapter's module does the serving); this module has no I/O of its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from slack_sdk.signature import Clock, SignatureVerifier

__all__ = [
    "EVENT_RETRIES_WITHIN",
    "LOG_EVERY",
    "SIGNATURE_WINDOW",
    "Refusal",
    "RefusalLog",
    "RequestGuard",
    "middleware",
]

log = logging.getLogger(__name__)

# Slack's rule: a request signed more than 5 minutes from now is refused.
SIGNATURE_WINDOW = 5 * 60
# At most one warning line about refused requests this often.
LOG_EVERY = 60.0
# Slack sends an event again up to 3 times, the last about 5 minutes after
# the first; an event is remembered well past that.
EVENT_RETRIES_WITHIN = 60 * 60
# A bound on memory whatever the traffic.
REMEMBER_AT_MOST = 50_000

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_TIMESTAMP_DIGITS = 12  # seconds since 1970, for the next 30,000 years


@dataclass(frozen=True)
class Refusal:
    """What a refused request is answered: HTTP ``status`` and a one-line ``reason``.

    A 200 says "handled" and nothing more: its body would be shown in Slack.
    ``logged``: counted in the warning line (Slack's own retries are not).
    """

    status: int
    reason: str
    logged: bool = True

    def response(self) -> web.Response:
        if self.status == 200:
            # Slack stops sending an event again on this header.
            return web.Response(status=200, headers={"X-Slack-No-Retry": "1"})
        return web.Response(status=self.status, text=self.reason + "\n")


class RefusalLog:
    """Refused requests in one warning line at most every ``every`` seconds, counted.

    The first refusal is logged at once; the ones that follow within
    ``every`` seconds are counted, and the next line (at the first refusal
    after that) says how many there were since the line before and why.
    ``flush`` writes what is counted and not yet said (the adapter calls it
    when it stops).
    """

    def __init__(self, *, every: float = LOG_EVERY,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._every = every
        self._monotonic = monotonic
        self._last: float | None = None
        self._counts: Counter[str] = Counter()

    def refused(self, reason: str, *, peer: str | None = None) -> None:
        self._counts[reason] += 1
        now = self._monotonic()
        if self._last is None or now - self._last >= self._every:
            self._write(peer)
            self._last = now

    def flush(self) -> None:
        if self._counts:
            self._write(None)

    def _write(self, peer: str | None) -> None:
        total = sum(self._counts.values())
        reasons = ", ".join(f"{reason}: {n}" for reason, n in self._counts.most_common())
        since = "" if self._last is None else f" in the last {self._monotonic() - self._last:.0f} s"
        source = f"; the last from {peer}" if peer else ""
        log.warning("Slack: refused %d request%s%s (%s)%s", total, "" if total == 1 else "s",
                    since, reasons, source)
        self._counts.clear()


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class _Recent:
    """Keys seen lately, each forgotten ``keep`` seconds after it came; at most ``limit``."""

    def __init__(self, keep: float, monotonic: Callable[[], float],
                 limit: int = REMEMBER_AT_MOST) -> None:
        self._keep = keep
        self._monotonic = monotonic
        self._limit = limit
        self._until: OrderedDict[str, float] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._until)

    def __contains__(self, key: str) -> bool:
        self._prune()
        return key in self._until

    def add(self, key: str) -> None:
        self._prune()
        self._until[key] = self._monotonic() + self._keep
        self._until.move_to_end(key)
        while len(self._until) > self._limit:
            self._until.popitem(last=False)

    def discard(self, key: str) -> None:
        self._until.pop(key, None)

    def _prune(self) -> None:
        now = self._monotonic()
        while self._until:
            key, until = next(iter(self._until.items()))
            if until > now:
                break
            del self._until[key]


class RequestGuard:
    """Checks one request to ``/slack/events`` on its raw bytes (the module's rules)."""

    def __init__(self, signing_secret: str, *, refusals: RefusalLog,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self.refusals = refusals
        # The bodies handled lately. Each of Slack's is unique (a trigger_id,
        # a response_url, an event_id), so the same body again is a replay of
        # the same signed request, or Slack's retry of an event.
        self._handled = _Recent(EVENT_RETRIES_WITHIN, monotonic)

    @property
    def remembered(self) -> int:
        """How many requests it remembers (forgotten as they expire)."""
        return len(self._handled)

    def check(self, headers: Mapping[str, str], body: bytes) -> Refusal | None:
        """Why the request must be refused, or None to hand it to bolt (which it remembers)."""
        refusal = (self._signature(headers, body) or _not_slacks(headers, body)
                   or self._again(headers, body))
        if refusal is None:
            self._handled.add(_digest(body))
        return refusal

    def failed(self, body: bytes) -> None:
        """The request with ``body`` was not handled: Slack's retry of it is to be."""
        self._handled.discard(_digest(body))

    def _again(self, headers: Mapping[str, str], body: bytes) -> Refusal | None:
        if _digest(body) not in self._handled:
            return None
        # Slack sends an event again (signed anew) when its first answer was
        # late or failed; one handled already is not handled twice.
        if headers.get("X-Slack-Retry-Num"):
            return Refusal(200, "a retry of an event handled already", logged=False)
        return Refusal(200, "replayed")

    def _signature(self, headers: Mapping[str, str], body: bytes) -> Refusal | None:
        timestamp = headers.get("X-Slack-Request-Timestamp")
        signature = headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            return Refusal(401, "unsigned")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _TIMESTAMP_DIGITS:
            return Refusal(401, "bad timestamp")
        if abs(self._clock() - int(timestamp)) > SIGNATURE_WINDOW:
            return Refusal(401, "stale timestamp")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            # Slack sends text only, and the verifier signs text only.
            return Refusal(400, "body not UTF-8")
        if not signature.isascii() or not self._verifier.is_valid(text, timestamp, signature):
            return Refusal(401, "bad signature")
        return None


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _mime(headers: Mapping[str, str]) -> str:
    return headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _not_slacks(headers: Mapping[str, str], body: bytes) -> Refusal | None:
    """Why a signed request is not one Slack sends, or None."""
    mime = _mime(headers)
    if mime not in (FORM, JSON):
        return Refusal(415, "unsupported content type")
    text = body.decode("utf-8")  # the signature check made sure it is
    if mime == JSON:
        return None if _json_object(text) else Refusal(400, "body not a JSON object")
    if text.startswith("{"):
        return Refusal(400, "body not a form")  # bolt would read it as JSON
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
    except ValueError:
        return Refusal(400, "body not a form")
    if "payload" in form and not _json_object(form["payload"]):
        return Refusal(400, "payload not a JSON object")
    return None


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def middleware(guard: RequestGuard, path: str) -> Middleware:
    """An aiohttp middleware: POSTs to ``path`` pass ``guard`` before the handler sees them."""

    @web.middleware
    async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != path:
            return await handler(request)
        body = await request.read()  # kept by aiohttp: bolt reads the same bytes after
        refusal = guard.check(request.headers, body)
        if refusal is not None:
            if refusal.logged:
                guard.refusals.refused(refusal.reason, peer=request.remote)
            else:
                log.debug("Slack: %s", refusal.reason)
            return refusal.response()
        try:
            response = await handler(request)
        except BaseException:
            guard.failed(body)
            raise
        if response.status >= 500:
            guard.failed(body)
        return response

    return guarded
