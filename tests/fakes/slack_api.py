"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records every request.

Point the real clients at it, so that tests cross the same wire as production::

    WebClient(token="xoxb-test", base_url=fake.api_url)       # fake.api_url == fake.url + "/api/"
    AsyncWebClient(token="xoxb-test", base_url=fake.api_url)

What it serves:

- ``POST``/``GET /api/<method>``: the query string, form-encoded, multipart and JSON
  bodies are merged into one ``params`` dict; fields that carry JSON (``blocks``,
  ``attachments``, ``view``...) are decoded so tests assert on Python objects.
  Default answers are the recorded responses in ``tests/fakes/slack/<method>.json``,
  with request-specific fields filled in (see each file's ``_about``). A method with
  neither a recording nor a scripted answer gets ``ok: false, error: unknown_method``.
- ``POST /response/<name>``: the ``response_url`` of slash commands and
  interactivity (see :meth:`FakeSlackAPI.response_url`); recorded with
  ``method == "response_url"`` and answered ``{"ok": true}``. As Slack, it
  takes ``RESPONSE_URL_USES`` (5) posts to one response_url; a sixth is
  refused, HTTP 404 ``{"ok": false, "error": "used_url"}``.

Scripted answers (:meth:`~FakeSlackAPI.fail`, :meth:`~FakeSlackAPI.rate_limit`,
:meth:`~FakeSlackAPI.server_error`, :meth:`~FakeSlackAPI.respond`) are queued per
method, optionally for one channel only, and used up first-in first-out. Token
checks (:meth:`~FakeSlackAPI.revoke`, an allow-list) come before scripts.

Holding (:meth:`~FakeSlackAPI.hold`, :meth:`~FakeSlackAPI.wait_held`,
:meth:`~FakeSlackAPI.release`) keeps requests of a method unanswered until the
test lets them go, to stop a client in the middle of a post. A held request
whose client went away meanwhile (the process was killed) is never answered:
it is recorded with ``status == 499`` and ``error: client_gone``, so
:meth:`~FakeSlackAPI.posts` does not count it as shown in the channel.

This module's only I/O is the local listening socket and reading its recordings.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.http import Handler, Headers, Received, ThreadedFake
from tests.fakes.slack_payloads import (
    BOT_ID,
    BOT_USER_ID,
    RECORDINGS_DIR,
    TEAM_ID,
    echo_message,
    parse_params,
    recorded_response,
)

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "CLIENT_GONE",
    "RECORDINGS_DIR",
    "RESPONSE_URL_USES",
    "TEAM_ID",
    "FakeSlackAPI",
    "Headers",
    "SlackCall",
    "recorded_response",
]

RESPONSE_URL = "response_url"
# Slack: "you can use a response_url five times within 30 minutes".
RESPONSE_URL_USES = 5
# The status recorded for a held request whose client left before the answer
# (nginx's "client closed request"; Slack never answered it).
CLIENT_GONE = 499
# Methods that authenticate with something other than a token (OAuth: HTTP Basic).
NO_TOKEN_METHODS = frozenset({"api.test", "oauth.access", "oauth.v2.access", "oauth.v2.exchange"})
TS_BASE = 1_700_000_000  # ts values are deterministic: 1700000000.000001, .000002, ...


@dataclass(frozen=True, eq=False, kw_only=True)
class SlackCall(Received):
    """One request the fake received, and what it answered."""

    method: str  # "chat.postMessage"; "response_url" for response_url posts
    params: dict[str, Any]  # query + body, JSON fields decoded
    body: bytes
    status: int
    response: dict[str, Any]

    @property
    def token(self) -> str | None:
        """The bearer token from the Authorization header, else the ``token`` param."""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ")
        token = self.params.get("token")
        return token if isinstance(token, str) else None

    @property
    def ok(self) -> bool:
        """True when the fake answered HTTP 200 with ``ok: true``."""
        return self.status == 200 and self.response.get("ok") is True

    @property
    def channel(self) -> str | None:
        return self.params.get("channel")

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    @property
    def blocks(self) -> list[dict[str, Any]] | None:
        return self.params.get("blocks")

    @property
    def response_name(self) -> str | None:
        """For a response_url post, the ``name`` given to :meth:`FakeSlackAPI.response_url`."""
        if self.method != RESPONSE_URL:
            return None
        return unquote(self.path.removeprefix("/response/"))


@dataclass
class _Hold:
    method: str
    passes: int  # calls still let through before the hold starts
    accepted: bool = False  # answered and recorded first, the answer then kept back


class FakeSlackAPI(ThreadedFake[SlackCall]):
    """A fake Slack Web API on ``127.0.0.1:<free port>``; see the module docstring.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. It is
    thread-safe: the server answers from its own threads while the test reads.
    :meth:`calls` and :meth:`wait_for` select calls by Slack method.
    """

    name = "the fake Slack API"
    thread_name = "fake-slack-api"
    verbs = frozenset({"GET", "POST"})

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``tokens``: if given, the only tokens accepted (others: ``invalid_auth``)."""
        super().__init__(clock=clock)
        self._initial_tokens = None if tokens is None else frozenset(tokens)
        self._revoked: set[str] = set()
        self._allowed: set[str] | None = None
        self._channels: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._seq = 0
        self._posted_at: dict[str, float] = {}  # message ts -> when (time.time()) it was posted
        self._hold: _Hold | None = None
        self._held = 0  # requests waiting in a hold right now
        self.reset()

    # -- lifecycle ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop serving, close the socket and join every server thread."""
        self.release()  # a held request would keep its thread, and stop(), waiting
        super().stop()

    @property
    def api_url(self) -> str:
        """The ``base_url`` for slack_sdk clients: ``url + "/api/"``."""
        return self.url + "/api/"

    def response_url(self, name: str = "default") -> str:
        """A response_url on the fake; posts to it are recorded as ``response_url`` calls."""
        return f"{self.url}/response/{name}"

    def reset(self) -> None:
        """Forget calls, scripts, revocations, registered channels and users.

        The token allow-list goes back to the constructor's; ts keeps growing.
        """
        with self._cond:
            self._calls.clear()
            self._scripts.clear()
            self._revoked.clear()
            self._channels.clear()
            self._users.clear()
            self._allowed = None if self._initial_tokens is None else set(self._initial_tokens)

    # -- what tests read ------------------------------------------------------------

    def posts(self, channel: str | None = None, *, include_failed: bool = False) -> list[SlackCall]:
        """The chat.postMessage calls (to ``channel``) that were answered ok.

        That is what the channel shows; pass ``include_failed=True`` to see
        every attempt, rate-limited and failed ones too.
        """
        return [
            c
            for c in self.calls("chat.postMessage")
            if (channel is None or c.channel == channel) and (include_failed or c.ok)
        ]

    def responses(self, name: str | None = None) -> list[SlackCall]:
        """The posts to response_url(``name``) (to any response_url if None)."""
        return [c for c in self.calls(RESPONSE_URL) if name is None or c.response_name == name]

    # -- scripting --------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        error: str,
        channel: str | None = None,
        times: int | None = 1,
        after: int = 0,
        **extra: Any,
    ) -> None:
        """Answer HTTP 200 ``{"ok": false, "error": error, **extra}`` (after ``after`` good calls)."""
        body = {"ok": False, "error": error, **extra}
        self.respond(method, body, channel=channel, times=times, after=after)

    def rate_limit(
        self,
        method: str,
        *,
        retry_after: int = 1,
        channel: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """Answer HTTP 429 with ``Retry-After: retry_after`` and ``error: ratelimited``.

        slack_sdk's RateLimitErrorRetryHandler sleeps retry_after plus up to one
        second of jitter, so tests should keep retry_after at 0 or 1.
        """
        self.respond(
            method,
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(int(retry_after))},
            channel=channel,
            times=times,
            after=after,
        )

    def server_error(
        self,
        method: str,
        *,
        status: int = 503,
        error: str = "fatal_error",
        channel: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """Answer HTTP ``status`` (5xx) with ``{"ok": false, "error": error}``."""
        body = {"ok": False, "error": error}
        self.respond(method, body, status=status, channel=channel, times=times, after=after)

    def hold(self, method: str, *, after: int = 0, accepted: bool = False) -> None:
        """Let ``after`` more calls of ``method`` through, then keep each next one waiting.

        A held call is neither answered nor recorded until :meth:`release`.
        Then it is answered as usual, unless its client has gone away: that
        call is recorded with ``status == CLIENT_GONE`` (499) and
        ``error: client_gone``, and nothing is sent back.

        With ``accepted``, Slack has done the call before the hold: it is
        answered and recorded at once (a message is in the channel, and in
        its history), and only the answer waits for :meth:`release`, when it
        is sent if the client is still there.
        """
        if after < 0:
            raise ValueError("after must be 0 or more")
        with self._cond:
            self._hold = _Hold(method, after, accepted)

    def wait_held(self, count: int = 1, timeout: float = 5.0) -> int:
        """Block until ``count`` calls are being held; return how many are.

        Raises AssertionError, saying how many are held, when ``timeout`` passes first.
        """
        with self._cond:
            if not self._wait(lambda: self._held >= count, timeout):
                raise AssertionError(
                    f"waited {timeout}s for {count} held call(s) to {self.name}, "
                    f"{self._held} held; calls received: {[c.method for c in self._calls]}"
                )
            return self._held

    def release(self) -> None:
        """End the hold: held calls are answered (or dropped, see :meth:`hold`), later ones too."""
        with self._cond:
            self._hold = None
            self._cond.notify_all()

    def revoke(self, token: str) -> None:
        """From now on, calls with ``token`` answer ``ok: false, error: token_revoked``."""
        with self._cond:
            self._revoked.add(token)

    def allow(self, *tokens: str) -> None:
        """Accept ``tokens``; starts an allow-list if there was none (others: invalid_auth)."""
        with self._cond:
            self._allowed = (self._allowed or set()) | set(tokens)

    def add_channel(self, channel_id: str, **fields: Any) -> None:
        """Fields conversations.info/join report for ``channel_id`` (name, is_private...)."""
        with self._cond:
            self._channels.setdefault(channel_id, {}).update(fields)

    def add_user(self, user_id: str, **fields: Any) -> None:
        """Fields users.info reports for ``user_id`` (tz, tz_offset, real_name...)."""
        with self._cond:
            self._users.setdefault(user_id, {}).update(fields)

    # -- serving (called from the server's threads) -----------------------------

    def _kind(self, call: SlackCall) -> str:
        return call.method

    def _serve_http(self, handler: Handler, verb: str) -> None:
        try:
            answered = self._handle(
                verb, handler.path, handler.headers_seen(), handler.read_body(), handler.client_gone
            )
            if answered is None:  # the client left while held: nobody to answer
                handler.close_connection = True
                return
            status, headers, answer = answered
        except Exception as exc:  # a bug in the fake: answer loudly, and keep it for the test
            self._keep_crash(verb, handler.path, exc)
            status, headers, answer = 500, {}, {"ok": False, "error": f"fake_crashed: {exc!r}"}
        handler.answer_json(status, answer, headers)

    def _handle(
        self,
        verb: str,
        target: str,
        headers: Headers,
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        """The answer to one request, or None when nothing is to be sent back."""
        split = urlsplit(target)
        if split.path.startswith("/api/"):
            method = split.path.removeprefix("/api/")
        elif split.path.startswith("/response/"):
            method = RESPONSE_URL
        else:
            method = split.path
        extra: dict[str, str] = {}
        try:
            params = parse_params(split.query, headers.get("Content-Type", ""), body)
            malformed = None
        except (ValueError, UnicodeDecodeError):  # what Slack says to a body it cannot read
            params = {}
            is_json = "json" in headers.get("Content-Type", "")
            malformed = "invalid_json" if is_json else "invalid_form_data"
        with self._cond:
            hold = self._hold
            held = not (hold and hold.accepted) and self._wait_if_held(method)
            if held and client_gone():
                status, answer = CLIENT_GONE, {"ok": False, "error": "client_gone"}
            elif not split.path.startswith(("/api/", "/response/")):
                status, answer = 404, {"ok": False, "error": "not_found"}
            elif malformed is not None:
                status, answer = 200, {"ok": False, "error": malformed}
            elif method == RESPONSE_URL and self._uses(split.path) >= RESPONSE_URL_USES:
                status, answer = 404, {"ok": False, "error": "used_url"}
            else:
                status, extra, answer = self._answer(method, params, headers)
            self._record(
                SlackCall(
                    method=method,
                    params=params,
                    headers=headers,
                    received_at=self._clock(),
                    http_verb=verb,
                    path=split.path,
                    body=body,
                    status=status,
                    response=answer,
                )
            )
            if hold is not None and hold.accepted and self._wait_if_held(method) and client_gone():
                return None  # done, and nobody is left to hear it
        if status == CLIENT_GONE:
            return None
        return status, extra, copy.deepcopy(answer)

    def _uses(self, path: str) -> int:
        """The posts to the response_url at ``path`` it took so far; the caller holds the lock."""
        return sum(1 for c in self._calls if c.method == RESPONSE_URL and c.path == path
                   and c.status == 200)

    def _wait_if_held(self, method: str) -> bool:
        """Wait while a hold keeps ``method``; True if this call was held. Holds the lock."""
        hold = self._hold
        if hold is None or hold.method != method:
            return False
        if hold.passes > 0:
            hold.passes -= 1
            return False
        self._held += 1
        self._cond.notify_all()
        try:
            while self._hold is hold:
                self._cond.wait()
        finally:
            self._held -= 1
        return True

    def _answer(
        self, method: str, params: dict[str, Any], headers: Headers
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """The answer to one call; the caller holds the lock."""
        denied = self._auth_error(method, params, headers)
        if denied is not None:
            return 200, {}, {"ok": False, "error": denied}
        script = self._script(method, params.get("channel"))
        if script is not None:
            return script.status, dict(script.headers), copy.deepcopy(script.body)
        if method == RESPONSE_URL:
            return 200, {}, {"ok": True}
        return 200, {}, self._default(method, params)

    def _auth_error(self, method: str, params: Mapping[str, Any], headers: Headers) -> str | None:
        if method == RESPONSE_URL or method in NO_TOKEN_METHODS:
            return None
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not token:
            return "not_authed"
        if token in self._revoked:
            return "token_revoked"
        if self._allowed is not None and token not in self._allowed:
            return "invalid_auth"
        return None

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{TS_BASE + self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

    def _default(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = recorded_response(method)
        if answer is None:
            return {"ok": False, "error": "unknown_method"}
        fill = _FILLERS.get(method)
        if fill is not None:
            fill(self, answer, params)
        return answer

    def _fill_post(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        ts = self._next_ts()
        self._posted_at[ts] = time.time()
        answer["channel"] = params.get("channel", answer["channel"])
        answer["ts"] = answer["message"]["ts"] = ts
        echo_message(answer["message"], params)

    def _fill_ephemeral(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        answer["message_ts"] = self._next_ts()

    def _fill_update(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        answer["channel"] = params.get("channel", answer["channel"])
        answer["ts"] = params.get("ts", answer["ts"])
        answer["text"] = params.get("text", "")
        answer["message"]["edited"]["ts"] = self._next_ts()
        echo_message(answer["message"], params)

    def _fill_channel(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        channel_id = str(params.get("channel", answer["channel"]["id"]))
        answer["channel"].update(id=channel_id, name=f"channel-{channel_id.lower()}")
        answer["channel"]["name_normalized"] = answer["channel"]["name"]
        answer["channel"].update(self._channels.get(channel_id, {}))

    def _fill_history(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        # The channel's posted messages, newest first, from ``oldest`` (compared
        # with when each was posted: the fake's ts count up from TS_BASE).
        # Metadata only with include_all_metadata, as Slack; ``cursor`` is an offset.
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        shown = [
            c.response["message"] for c in reversed(self._calls)
            if c.method == "chat.postMessage" and c.status == 200 and c.response.get("ok")
            and c.params.get("channel") == params.get("channel")
            and self._posted_at.get(c.response["ts"], 0.0) >= oldest
        ]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = [copy.deepcopy(m) for m in shown[start : start + limit]]
        for message in page:
            metadata = message.pop("metadata", None)
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if with_metadata and metadata is not None:
                message["metadata"] = metadata
        more = start + limit < len(shown)
        answer.update(messages=page, has_more=more,
                      response_metadata={"next_cursor": str(start + limit) if more else ""})

    def _fill_join(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        channel_id = params.get("channel")
        if isinstance(channel_id, str):
            self._channels.setdefault(channel_id, {})["is_member"] = True
        self._fill_channel(answer, params)

    def _fill_oauth(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        if self._allowed is not None:
            self._allowed.add(answer["access_token"])

    def _fill_user(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        user_id = str(params.get("user", answer["user"]["id"]))
        answer["user"].update(id=user_id, name=f"user-{user_id.lower()}")
        answer["user"].update(self._users.get(user_id, {}))

    def _fill_view(self, answer: dict[str, Any], params: dict[str, Any]) -> None:
        self._seq += 1  # shares the ts counter: ids never repeat within a fake
        view_id = f"V{self._seq:010d}"
        answer["view"].update(id=view_id, root_view_id=view_id)
        requested = params.get("view")
        if isinstance(requested, dict):
            keys = ("type", "title", "blocks", "callback_id", "private_metadata", "submit", "close")
            answer["view"].update({k: requested[k] for k in keys if k in requested})


_FILLERS: dict[str, Callable[[FakeSlackAPI, dict[str, Any], dict[str, Any]], None]] = {
    "chat.postMessage": FakeSlackAPI._fill_post,
    "chat.postEphemeral": FakeSlackAPI._fill_ephemeral,
    "chat.update": FakeSlackAPI._fill_update,
    "conversations.history": FakeSlackAPI._fill_history,
    "conversations.info": FakeSlackAPI._fill_channel,
    "conversations.join": FakeSlackAPI._fill_join,
    "oauth.v2.access": FakeSlackAPI._fill_oauth,
    "users.info": FakeSlackAPI._fill_user,
    "views.open": FakeSlackAPI._fill_view,
}
