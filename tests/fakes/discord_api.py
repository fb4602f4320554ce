"""A fake Discord, REST and gateway: a real aiohttp server on 127.0.0.1 for discord.py.

It runs in its own thread with its own event loop, so a real ``discord.Client`` (or
``commands.Bot``) on the test's loop talks to it over real HTTP and websockets. Point
discord.py at it once, at start-up (the ``discord_api`` fixture does, and restores)::

    discord.http.Route.BASE = fake.rest_url          # "http://127.0.0.1:PORT/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

A Client then logs in with ``GET /users/@me`` and ``GET /oauth2/applications/@me`` and
opens ``ws://127.0.0.1:PORT/gateway?v=10&encoding=json&compress=zlib-stream``, which
:mod:`tests.fakes.discord_gateway` plays. Give the client ``guild_ready_timeout=0.1``:
discord.py waits that long after the last GUILD_CREATE before on_ready (2 s by default).

REST routes are keyed like discord.py's ``Route``, with Discord's names for the
placeholders: ``"POST /channels/{channel_id}/messages"``,
``"POST /interactions/{interaction_id}/{interaction_token}/callback"``. Default answers start from the recordings
in ``tests/fakes/discord/``, named after the route (see each file's ``_about`` for what
the fake fills in); an unrouted path answers ``404: Not Found``. JSON and multipart
(``payload_json``) bodies are decoded into :attr:`DiscordCall.payload`. Answers carry
``Content-Type: application/json`` exactly (for anything else discord.py hands the
body back as text), ``Via`` and ``X-RateLimit-*`` headers, as Discord's do.

As Discord does, the fake refuses: a bad bot token (401), unknown channels (404, 10003),
empty messages (50006), too long content or embeds (400, 50035 Invalid Form Body), a
second response to an interaction (40060), a followup before the response (10015),
unknown interactions (10062). Scripted answers (:meth:`~FakeDiscord.fail`,
:meth:`~FakeDiscord.rate_limit`, :meth:`~FakeDiscord.respond`) are queued per route,
optionally for one channel, and used up first-in first-out, after the token check.

This module's only I/O is the local listening socket and reading its recordings.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.parser
import email.policy
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import discord.gateway
import discord.http
import pytest
import yarl
from aiohttp import web

from tests.fakes.discord_gateway import (
    ANNOUNCEMENTS_CHANNEL_ID,
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    MEMBER_USER_ID,
    MODERATOR_ROLE_ID,
    OWNER_USER_ID,
    RECORDINGS_DIR,
    SEND_MESSAGES,
    FakeDiscordGateway,
    GatewayFrame,
    _Interaction,
    recorded_response,
    snowflake_time,
)
from tests.fakes.slack_api import Headers

__all__ = [
    "ANNOUNCEMENTS_CHANNEL_ID",
    "APPLICATION_ID",
    "BOT_PERMISSIONS",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "FOLLOWUP",
    "GUILD_ID",
    "INTERACTION_CALLBACK",
    "MANAGE_CHANNELS",
    "MEMBER_PERMISSIONS",
    "MEMBER_USER_ID",
    "MODERATOR_ROLE_ID",
    "OWNER_USER_ID",
    "RECORDINGS_DIR",
    "SEND_MESSAGE",
    "SEND_MESSAGES",
    "SYNC_COMMANDS",
    "SYNC_GUILD_COMMANDS",
    "DiscordCall",
    "FakeDiscord",
    "GatewayFrame",
    "discord_api_fixture",
    "discord_error",
    "recorded_response",
]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
LOADING, EPHEMERAL = 1 << 7, 1 << 6  # message flags
SEND_MESSAGE = "POST /channels/{channel_id}/messages"
SYNC_COMMANDS = "PUT /applications/{application_id}/commands"
SYNC_GUILD_COMMANDS = "PUT /applications/{application_id}/guilds/{guild_id}/commands"
INTERACTION_CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{interaction_token}"
_WEBHOOK_MESSAGE = "/webhooks/{application_id}/{interaction_token}/messages/"
# Route -> handler. Literal routes come before those with a placeholder in their place.
ROUTES: dict[str, str] = {
    "GET /users/@me": "_get_me",
    "GET /oauth2/applications/@me": "_get_application",
    "GET /gateway": "_get_gateway",
    "GET /gateway/bot": "_get_gateway",
    "GET /channels/{channel_id}": "_get_channel",
    SEND_MESSAGE: "_create_message",
    "PATCH /channels/{channel_id}/messages/{message_id}": "_channel_message",
    "DELETE /channels/{channel_id}/messages/{message_id}": "_channel_message",
    "GET /applications/{application_id}/commands": "_app_commands",
    SYNC_COMMANDS: "_app_commands",
    "GET /applications/{application_id}/guilds/{guild_id}/commands": "_app_commands",
    SYNC_GUILD_COMMANDS: "_app_commands",
    INTERACTION_CALLBACK: "_callback",
    FOLLOWUP: "_followup",
    **{
        f"{verb} {_WEBHOOK_MESSAGE}{message}": "_webhook_message"
        for verb in ("GET", "PATCH", "DELETE")
        for message in ("@original", "{message_id}")
    },
}
_PATTERNS = [
    (route, re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route)) + "$"))
    for route in ROUTES
]
# Message limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_MAX, EMBED_TOTAL_MAX, EMBED_FIELDS_MAX = 2000, 6000, 25
EMBED_LIMITS = {"title": 256, "description": 4096, "footer.text": 2048, "author.name": 256}
FIELD_LIMITS = {"name": 256, "value": 1024}
# What a message answer echoes from the request.
CDN = "https://cdn.discordapp.com/attachments"
MESSAGE_FIELDS = ("content", "embeds", "components", "flags", "tts", "nonce", "message_reference")


def discord_error(code: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Discord's JSON error body: ``{"message": ..., "code": ...}``, and ``errors`` if given."""
    return {"message": message, "code": code, **({"errors": errors} if errors else {})}


@dataclass(frozen=True, eq=False)
class DiscordCall:
    """One REST request the fake received, and what it answered."""

    route: str  # "POST /channels/{channel_id}/messages"; "GET /the/path" if unrouted
    params: dict[str, str]  # the route's placeholders: {"channel_id": "..."}
    query: dict[str, str]
    payload: Any  # the JSON body (or multipart payload_json), decoded; None without one
    files: dict[str, tuple[str, bytes]]  # multipart file parts: name -> (filename, bytes)
    headers: Headers
    received_at: float  # the fake's clock (time.monotonic by default)
    http_verb: str
    path: str
    body: bytes
    status: int
    response: Any  # the JSON answered; None for a 204
    channel_id: str | None  # from the path, or the channel of the interaction answered

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def token(self) -> str | None:
        """The bot token from ``Authorization: Bot <token>``."""
        auth = self.headers.get("Authorization", "")
        return auth.removeprefix("Bot ") if auth.startswith("Bot ") else None

    @property
    def message(self) -> dict[str, Any]:
        """The message fields sent: the payload, or an interaction callback's ``data``."""
        payload = self.payload if isinstance(self.payload, dict) else {}
        return payload.get("data") or {} if self.route == INTERACTION_CALLBACK else payload

    @property
    def response_type(self) -> int | None:
        """A callback's type: 4 message, 5 deferred, 6 deferred update, 7 update, 8 choices."""
        return self.payload.get("type") if self.route == INTERACTION_CALLBACK else None

    content = property(lambda self: self.message.get("content"))
    embeds = property(lambda self: self.message.get("embeds"))
    components = property(lambda self: self.message.get("components"))
    allowed_mentions = property(lambda self: self.message.get("allowed_mentions"))
    nonce = property(lambda self: self.message.get("nonce"))
    enforce_nonce = property(lambda self: self.message.get("enforce_nonce"))
    flags = property(lambda self: self.message.get("flags"))


@dataclass
class _Script:
    route: str  # a route key, or "*" for any
    channel: str | None
    times: int | None  # None: until reset()
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, route: str, channel_id: str | None) -> bool:
        return (
            self.route in ("*", route)
            and (self.channel is None or self.channel == channel_id)
            and (self.times is None or self.times > 0)
        )


@dataclass
class _Request:
    route: str
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    files: dict[str, tuple[str, bytes]]
    interaction: _Interaction | None


class FakeDiscord(FakeDiscordGateway):
    """A fake Discord on ``127.0.0.1:<free port>``; see the module docstring.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Thread-safe:
    the server answers on its own thread while the test reads and scripts. Guilds,
    channels, interactions and gateway events: see :class:`FakeDiscordGateway`.
    """

    def __init__(
        self,
        *,
        application_id: str = APPLICATION_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_name: str = "digestbot",
        tokens: Iterable[str] | None = None,
        privileged_intents: int = 0,
        heartbeat_interval_ms: int = 41_250,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``tokens``: if given, the only bot tokens accepted (others: 401, gateway 4004).

        ``privileged_intents``: the privileged intent bits the app has enabled in the
        developer portal; a client asking for others is closed with 4014, as by Discord.
        ``wall_clock`` dates the snowflakes (ids, timestamps) the fake hands out.
        """
        super().__init__(
            application_id=application_id,
            bot_user_id=bot_user_id,
            bot_name=bot_name,
            tokens=None if tokens is None else frozenset(tokens),
            privileged_intents=privileged_intents,
            heartbeat_interval_ms=heartbeat_interval_ms,
            wall_clock=wall_clock,
        )
        self._clock = clock
        self._calls: list[DiscordCall] = []
        self._scripts: list[_Script] = []
        self._nonces: dict[tuple[str, str], str] = {}
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.errors: list[BaseException] = []  # bugs in the fake itself, raised while serving

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeDiscord:
        if self._loop is not None:
            raise RuntimeError("the fake Discord is already running")
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(loop,), daemon=True)
        self._thread.start()
        self._port = asyncio.run_coroutine_threadsafe(self._startup(), loop).result(10)
        self._thread.name = f"fake-discord:{self._port}"
        return self

    def stop(self) -> None:
        """Close the websockets and the socket, stop the loop and join its thread."""
        loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> FakeDiscord:
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
        if self._loop is None:
            raise RuntimeError("the fake Discord is not running; call start()")
        return f"http://127.0.0.1:{self._port}"

    @property
    def rest_url(self) -> str:
        """What ``discord.http.Route.BASE`` should be: ``url + "/api/v10"``."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` should be (as a ``yarl.URL``)."""
        return "ws" + self.url.removeprefix("http") + "/gateway"

    def _resume_url(self) -> str:
        # READY's resume_gateway_url: another path, so a test can tell resumes apart.
        return "ws" + self.url.removeprefix("http") + "/resume"

    @contextlib.contextmanager
    def point_discord_py(self) -> Iterator[None]:
        """Point discord.py's two globals at this fake for the ``with`` block; restore them."""
        websocket = discord.gateway.DiscordWebSocket
        old_base, old_gateway = discord.http.Route.BASE, websocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.rest_url
        websocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE, websocket.DEFAULT_GATEWAY = old_base, old_gateway

    def reset(self) -> None:
        """Forget calls, gateway frames, scripts, messages, interactions and synced commands.

        Guilds, channels and gateway sessions stay: the connected client still sees them.
        """
        with self._cond:
            for kept in (
                self._calls,
                self._frames,
                self._scripts,
                self._stored,
                self._nonces,
                self._interactions,
                self._commands,
            ):
                kept.clear()

    # -- what tests read ----------------------------------------------------------------------

    def calls(self, route: str | None = None) -> list[DiscordCall]:
        """Every REST request received (on ``route``, if given), failed ones too, in order."""
        with self._cond:
            return [c for c in self._calls if route is None or c.route == route]

    def messages(
        self, channel_id: str | None = None, *, include_failed: bool = False
    ) -> list[DiscordCall]:
        """The messages posted (to ``channel_id``): what the channel shows.

        A retry Discord deduplicated by its enforced nonce is left out, and so are
        failed attempts unless ``include_failed``.
        """
        seen: set[str] = set()
        out = []
        for call in self.calls(SEND_MESSAGE):
            if channel_id is not None and call.channel_id != channel_id:
                continue
            if call.ok and call.response["id"] not in seen:
                seen.add(call.response["id"])
                out.append(call)
            elif not call.ok and include_failed:
                out.append(call)
        return out

    def callbacks(self, interaction_id: str | None = None) -> list[DiscordCall]:
        """The interaction responses (POST .../callback), in order."""
        return [
            c
            for c in self.calls(INTERACTION_CALLBACK)
            if interaction_id is None or c.params["interaction_id"] == interaction_id
        ]

    def followups(self) -> list[DiscordCall]:
        """Calls on interaction webhooks: followups, and reads, edits, deletes of messages."""
        return [c for c in self.calls() if c.route == FOLLOWUP or _WEBHOOK_MESSAGE in c.route]

    def wait_for(self, route: str, count: int = 1, timeout: float = 5.0) -> list[DiscordCall]:
        """Block until ``count`` calls on ``route`` arrived (failed ones count); return them.

        It blocks: in a coroutine on the client's loop, await :meth:`wait_for_async`.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(got := [c for c in self._calls if c.route == route]) < count:
                if (left := deadline - time.monotonic()) <= 0:
                    raise AssertionError(
                        f"waited {timeout}s for {count} {route} call(s) to the fake Discord, "
                        f"got {len(got)}; all calls received: {[c.route for c in self._calls]}"
                    )
                self._cond.wait(left)
            return got

    async def wait_for_async(
        self, route: str, count: int = 1, timeout: float = 5.0
    ) -> list[DiscordCall]:
        """:meth:`wait_for`, without blocking the calling loop (where discord.py runs)."""
        return await asyncio.to_thread(self.wait_for, route, count, timeout)

    # -- scripting ------------------------------------------------------------------------------

    def respond(
        self,
        route: str,
        body: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        channel: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Queue an answer for the next ``times`` calls on ``route`` ("*": any; None: until reset).

        With ``channel``, only calls about that channel (path, or interaction) use it.
        discord.py retries 500, 502, 504 and 524 itself, sleeping 1 s, 3 s, 5 s...
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for 'until reset()'")
        script = _Script(route, channel, times, status, copy.deepcopy(body), dict(headers or {}))
        with self._cond:
            self._scripts.append(script)

    def fail(
        self,
        route: str,
        *,
        status: int = 403,
        code: int = 50001,
        message: str = "Missing Access",
        errors: dict[str, Any] | None = None,
        channel: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer with Discord's error body, 403 Missing Access unless told otherwise.

        E.g. ``status=404, code=10003, message="Unknown Channel"``.
        """
        body = discord_error(code, message, errors)
        self.respond(route, body, status=status, channel=channel, times=times)

    def rate_limit(
        self,
        route: str,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        channel: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer 429 as Discord does: discord.py sleeps ``retry_after`` seconds and retries.

        Without a ``Via`` header, or with a body that is not JSON, discord.py takes a
        429 for a Cloudflare ban and raises HTTPException instead; both are sent.
        """
        headers = _ratelimit_headers(route, self._wall_clock(), 0, retry_after)
        headers.update({"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "user"})
        if is_global:
            headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = is_global
        self.respond(route, body, status=429, headers=headers, channel=channel, times=times)

    # -- serving, on the server's thread ------------------------------------------------------

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())

    async def _startup(self) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for path in ("/gateway", "/gateway/", "/resume", "/resume/"):
            app.router.add_get(path, self._gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(
            app, handle_signals=False, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        await self._gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            status, headers, answer = self._handle(request, body)
        except Exception as exc:
            # A bug in the fake: answer loudly and keep it for the test. 400, not 500:
            # discord.py would retry a 500 for 25 s before giving up.
            log.exception("fake Discord failed on %s %s", request.method, request.path)
            self.errors.append(exc)
            status, headers = 400, {}
            answer = discord_error(0, f"the fake Discord crashed: {exc!r}")
        headers = {"Via": "1.1 google", **headers}
        if answer is None:
            return web.Response(status=status, headers=headers)
        headers["Content-Type"] = "application/json"  # exactly: discord.py compares strings
        return web.Response(status=status, body=json.dumps(answer).encode(), headers=headers)

    def _handle(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], Any]:
        verb, path, query = request.method, request.path, dict(request.query)
        headers = Headers(request.headers.items())
        route, params = _match(verb, path)
        try:
            payload, files, readable = *_parse_body(headers.get("Content-Type", ""), body), True
        except (ValueError, UnicodeDecodeError):
            payload, files, readable = None, {}, False
        with self._cond:
            interaction = self._find_interaction(params)
            channel_id = params.get("channel_id") or (
                interaction.channel_id if interaction else None
            )
            extra: dict[str, str] = {}
            if route is None:
                route, status, answer = f"{verb} {path}", 404, discord_error(0, "404: Not Found")
            elif not self._authorized(route, headers):
                status, answer = 401, discord_error(0, "401: Unauthorized")
            elif (script := self._script(route, channel_id)) is not None:
                status, extra, answer = script.status, script.headers, copy.deepcopy(script.body)
            elif not readable:
                status = 400
                answer = discord_error(50109, "The request body contains invalid JSON.")
            else:
                req = _Request(route, params, query, payload, files, interaction)
                status, answer = getattr(self, ROUTES[route])(req)
                extra = _ratelimit_headers(route, self._wall_clock(), remaining=4)
            self._calls.append(
                DiscordCall(
                    route=route,
                    params=params,
                    query=query,
                    payload=payload,
                    files=files,
                    headers=headers,
                    received_at=self._clock(),
                    http_verb=verb,
                    path=path,
                    body=body,
                    status=status,
                    response=copy.deepcopy(answer),
                    channel_id=channel_id,
                )
            )
            self._cond.notify_all()
        return status, dict(extra), answer

    def _authorized(self, route: str, headers: Headers) -> bool:
        if "/interactions/" in route or "/webhooks/" in route:
            return True  # the interaction token in the path is the credential
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bot ")
        known = self._tokens is None or token in self._tokens
        return auth.startswith("Bot ") and bool(token) and known

    def _script(self, route: str, channel_id: str | None) -> _Script | None:
        for script in self._scripts:
            if script.matches(route, channel_id):
                if script.times is not None:
                    script.times -= 1
                return script
        return None

    def _find_interaction(self, params: Mapping[str, str]) -> _Interaction | None:
        token = params.get("interaction_token")
        if "interaction_id" in params:
            found = self._interactions.get(params["interaction_id"])
            return found if found is not None and found.token == token else None
        return next((i for i in self._interactions.values() if i.token == token), None)

    # -- REST answers (the lock is held) ------------------------------------------------------

    def _get_me(self, req: _Request) -> tuple[int, Any]:
        me = recorded_response("GET /users/@me") or {}
        return 200, {**me, "id": self.bot_user_id, "username": self.bot_name}

    def _get_application(self, req: _Request) -> tuple[int, Any]:
        app = recorded_response("GET /oauth2/applications/@me") or {}
        app["bot"].update(id=self.bot_user_id, username=self.bot_name)
        return 200, {**app, "id": self.application_id}

    def _get_gateway(self, req: _Request) -> tuple[int, Any]:
        if req.route == "GET /gateway":
            return 200, {"url": self.gateway_url}
        return 200, {**(recorded_response("GET /gateway/bot") or {}), "url": self.gateway_url}

    def _get_channel(self, req: _Request) -> tuple[int, Any]:
        if not self.has_channel(req.params["channel_id"]):
            return 404, discord_error(10003, "Unknown Channel")
        return 200, self.channel(req.params["channel_id"])

    def _create_message(self, req: _Request) -> tuple[int, Any]:
        channel_id, payload = req.params["channel_id"], req.payload or {}
        if not self.has_channel(channel_id):
            return 404, discord_error(10003, "Unknown Channel")
        if (invalid := _invalid_message(payload, req.files, create=True)) is not None:
            return 400, invalid
        nonce = str(payload.get("nonce"))
        if payload.get("enforce_nonce") and (channel_id, nonce) in self._nonces:
            # A retry with the same nonce: Discord answers with the message it made.
            return 200, copy.deepcopy(self._stored[self._nonces[channel_id, nonce]])
        message = self._new_message(channel_id, payload, req.files)
        if payload.get("nonce") is not None:
            self._nonces[channel_id, nonce] = message["id"]
        return 200, message

    def _channel_message(self, req: _Request) -> tuple[int, Any]:
        message = self._stored.get(req.params["message_id"])
        if message is None or message["channel_id"] != req.params["channel_id"]:
            return 404, discord_error(10008, "Unknown Message")
        return self._message_verb(req, message)

    def _message_verb(self, req: _Request, message: dict[str, Any]) -> tuple[int, Any]:
        """GET, PATCH or DELETE one stored message."""
        if req.route.startswith("DELETE "):
            del self._stored[message["id"]]
            return 204, None
        if req.route.startswith("PATCH "):
            invalid = _invalid_message(req.payload or {}, req.files, create=False)
            if invalid is not None:
                return 400, invalid
            self._apply(message, req.payload or {}, req.files)
            message["flags"] = message.get("flags", 0) & ~LOADING  # an edit ends "thinking..."
            message["edited_timestamp"] = snowflake_time(self._new_id())
        return 200, copy.deepcopy(message)

    def _app_commands(self, req: _Request) -> tuple[int, Any]:
        guild_id = req.params.get("guild_id")
        if req.params["application_id"] != self.application_id or (
            guild_id is not None and guild_id not in self._guilds
        ):
            return 403, discord_error(50001, "Missing Access")
        if req.route.startswith("GET "):
            return 200, copy.deepcopy(self._commands.get(guild_id, []))
        if not isinstance(req.payload, list):
            return 400, discord_error(50035, "Invalid Form Body")
        known = {(c["name"], c.get("type", 1)): c["id"] for c in self._commands.get(guild_id, [])}
        template = (recorded_response(SYNC_COMMANDS) or {})["commands"][0]
        version, synced = self._new_id(), []
        for sent in req.payload:
            command = {**template, **sent, "application_id": self.application_id}
            command["version"] = version
            command["id"] = known.get((command["name"], command.get("type", 1))) or self._new_id()
            command.pop("guild_id", None)
            synced.append({**command, **({"guild_id": guild_id} if guild_id else {})})
        self._commands[guild_id] = synced
        return 200, copy.deepcopy(synced)

    def _callback(self, req: _Request) -> tuple[int, Any]:
        interaction, payload = req.interaction, req.payload or {}
        if interaction is None:
            return 404, discord_error(10062, "Unknown interaction")
        if interaction.response is not None:
            return 400, discord_error(40060, "Interaction has already been acknowledged.")
        kind, data = int(payload.get("type", 0)), payload.get("data") or {}
        if kind in (4, 7) and (invalid := _invalid_message(data, req.files, kind == 4)) is not None:
            return 400, invalid
        interaction.response, message = kind, None
        if kind in (4, 5):
            flags = (data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            message = self._new_message(
                interaction.channel_id or "", {**data, "flags": flags}, req.files, interaction
            )
            interaction.original_id = message["id"]
        elif kind in (6, 7) and interaction.message_id in self._stored:
            interaction.original_id = interaction.message_id
            if kind == 7:
                self._apply(self._stored[interaction.message_id], data, req.files)
                message = copy.deepcopy(self._stored[interaction.message_id])
        if req.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        answer = recorded_response(INTERACTION_CALLBACK) or {}
        answer["interaction"] = {
            "id": interaction.id,
            "type": interaction.type,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
            **({"response_message_id": message["id"]} if message else {}),
        }
        answer["resource"] = {"type": kind, "message": message}
        if message is None:
            del answer["resource"]
        return 200, answer

    def _followup(self, req: _Request) -> tuple[int, Any]:
        interaction, payload = req.interaction, req.payload or {}
        if (
            interaction is None
            or interaction.response is None
            or req.params["application_id"] != self.application_id
        ):
            return 404, discord_error(10015, "Unknown Webhook")
        if (invalid := _invalid_message(payload, req.files, create=True)) is not None:
            return 400, invalid
        message = self._new_message(interaction.channel_id or "", payload, req.files, interaction)
        interaction.followup_ids.append(message["id"])
        return (200, message) if req.query.get("wait") in ("1", "true", "True") else (204, None)

    def _webhook_message(self, req: _Request) -> tuple[int, Any]:
        interaction = req.interaction
        if interaction is None or req.params["application_id"] != self.application_id:
            return 404, discord_error(10015, "Unknown Webhook")
        wanted = req.params.get("message_id", "@original")
        message_id = interaction.original_id if wanted == "@original" else wanted
        mine = (interaction.original_id, *interaction.followup_ids)
        if message_id is None or message_id not in self._stored or message_id not in mine:
            return 404, discord_error(10008, "Unknown Message")
        return self._message_verb(req, self._stored[message_id])

    def _new_message(
        self,
        channel_id: str,
        payload: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes]],
        interaction: _Interaction | None = None,
    ) -> dict[str, Any]:
        message = recorded_response(SEND_MESSAGE) or {}
        message.update(id=self._new_id(), channel_id=channel_id, author=self.bot_user(), content="")
        message["timestamp"] = snowflake_time(message["id"])
        if interaction is not None:
            app, kind = self.application_id, interaction.type
            message.update(webhook_id=app, application_id=app, type=20 if kind == 2 else 0)
            metadata = {"id": interaction.id, "type": kind, "user": interaction.user}
            message["interaction_metadata"] = {**metadata, "authorizing_integration_owners": {}}
        self._apply(message, payload, files)
        self._stored[message["id"]] = message
        return copy.deepcopy(message)

    def _apply(
        self,
        message: dict[str, Any],
        payload: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes]],
    ) -> None:
        for key in MESSAGE_FIELDS:
            if payload.get(key) is not None:
                message[key] = copy.deepcopy(payload[key])
        if payload.get("message_reference"):
            message["type"] = 19  # a reply
        if payload.get("attachments") is None:
            return
        kept = {a["id"]: a for a in message.get("attachments", [])}
        message["attachments"] = [
            kept[str(a["id"])] for a in payload["attachments"] if str(a["id"]) in kept
        ]
        for sent in payload["attachments"]:  # new files: "files[<id>]" parts
            if (part := files.get(f"files[{sent['id']}]")) is not None:
                new_id, filename = self._new_id(), sent.get("filename") or part[0]
                url = f"{CDN}/{message['channel_id']}/{new_id}/{filename}"
                attachment = {"id": new_id, "filename": filename, "size": len(part[1])}
                message["attachments"].append({**attachment, "url": url, "proxy_url": url})


def _match(verb: str, path: str) -> tuple[str | None, dict[str, str]]:
    if path.startswith(API_PREFIX + "/"):
        wanted = f"{verb} {path.removeprefix(API_PREFIX)}"
        for route, pattern in _PATTERNS:
            if found := pattern.match(wanted):
                return route, found.groupdict()
    return None, {}


def _parse_body(content_type: str, body: bytes) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """The JSON payload and the file parts: from a JSON body, or multipart's payload_json."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return None, {}
    if mime != "multipart/form-data":
        return json.loads(body), {}
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    payload, files = None, {}
    for part in parsed.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        if name == "payload_json":
            payload = json.loads(data)
        else:
            files[name] = (str(part.get_filename() or name), data)
    return payload, files


def _invalid_message(
    payload: Mapping[str, Any], files: Mapping[str, Any], create: bool
) -> dict[str, Any] | None:
    """Discord's 400 for a message it would refuse (empty, too long), else None."""
    content, embeds = payload.get("content") or "", payload.get("embeds") or []
    others = ("components", "sticker_ids", "poll", "attachments")
    if create and not (content or embeds or files or any(payload.get(o) for o in others)):
        return discord_error(50006, "Cannot send an empty message")
    errors: dict[str, Any] = {}
    if len(content) > CONTENT_MAX:
        errors["content"] = _too_long(CONTENT_MAX)
    total = 0
    for index, embed in enumerate(embeds):
        texts = {path: _dig(embed, path.split(".")) for path in EMBED_LIMITS}
        fields = embed.get("fields") or []
        for number, embed_field in enumerate(fields):
            texts.update({f"fields.{number}.{k}": embed_field.get(k) or "" for k in FIELD_LIMITS})
        for path, text in texts.items():
            total += len(text)
            limit = EMBED_LIMITS.get(path) or FIELD_LIMITS[path.rsplit(".", 1)[1]]
            if len(text) > limit:
                _nest(errors, ["embeds", str(index), *path.split(".")]).update(_too_long(limit))
        if len(fields) > EMBED_FIELDS_MAX:
            _nest(errors, ["embeds", str(index), "fields"]).update(_too_long(EMBED_FIELDS_MAX))
    if total > EMBED_TOTAL_MAX:
        size = f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
        error = {"code": "MAX_EMBED_SIZE_EXCEEDED", "message": size}
        _nest(errors, ["embeds"])["_errors"] = [error]
    return discord_error(50035, "Invalid Form Body", errors) if errors else None


def _dig(data: Mapping[str, Any], path: list[str]) -> str:
    for key in path[:-1]:
        data = data.get(key) or {}
    return str(data.get(path[-1]) or "")


def _too_long(limit: int) -> dict[str, Any]:
    error = {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
    return {"_errors": [error]}


def _nest(errors: dict[str, Any], path: Iterable[str]) -> dict[str, Any]:
    for key in path:
        errors = errors.setdefault(key, {})
    return errors


def _ratelimit_headers(
    route: str, now: float, remaining: int, reset_after: float = 1.0
) -> dict[str, str]:
    """The X-RateLimit-* headers Discord sends; with a success, plenty remain."""
    return {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Reset": f"{now + reset_after:.3f}",
        "X-RateLimit-Bucket": hashlib.md5(route.encode()).hexdigest(),
    }


@pytest.fixture(name="discord_api")
def discord_api_fixture() -> Iterator[FakeDiscord]:
    """A running FakeDiscord with discord.py pointed at it; both undone after the test.

    Fails the test if the fake itself crashed while answering.
    """
    fake = FakeDiscord()
    with fake, fake.point_discord_py():
        yield fake
    if fake.errors:
        pytest.fail(f"the fake Discord crashed while serving: {fake.errors!r}")
