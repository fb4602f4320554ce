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

As Discord does, the fake refuses a bad bot token (401), and the routes
(:mod:`tests.fakes.discord_rest`) what Discord would: unknown channels (404, 10003),
empty messages (50006), too long content or embeds (400, 50035 Invalid Form Body), a
second response to an interaction (40060), a followup before the response (10015),
unknown interactions (10062). Scripted answers (:meth:`~FakeDiscord.fail`,
:meth:`~FakeDiscord.rate_limit`, :meth:`~FakeDiscord.respond`) are queued per route,
optionally for one channel (of the path, or of the interaction answered), and used up
first-in first-out, after the token check. discord.py retries 500, 502, 504 and 524
itself, sleeping 1 s, 3 s, 5 s...; :meth:`calls` and :meth:`wait_for` select by route.

Holding (:meth:`~FakeDiscord.hold`, :meth:`~FakeDiscord.wait_held`,
:meth:`~FakeDiscord.release`) keeps requests of a route unanswered, and unhandled,
until the test lets them go, to stop a client in the middle of a post. A held
request whose client went away meanwhile (the process was killed) is dropped:
nothing is created and nothing recorded, so Discord never showed it.

The identities, route names and payload shapes are :mod:`tests.fakes.discord_data`; the
gateway's state (guilds, channels, interactions) :mod:`tests.fakes.discord_state`.

This module's only I/O is the local listening socket and reading its recordings.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import discord.gateway
import discord.http
import pytest
import yarl
from aiohttp import web

from tests.fakes.discord_data import (
    ANNOUNCEMENTS_CHANNEL_ID,
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_USER_ID,
    CHANNEL_ID,
    FOLLOWUP,
    GUILD_ID,
    INTERACTION_CALLBACK,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    MEMBER_USER_ID,
    MODERATOR_ROLE_ID,
    OWNER_USER_ID,
    RECORDINGS_DIR,
    SEND_MESSAGE,
    SEND_MESSAGES,
    SYNC_COMMANDS,
    SYNC_GUILD_COMMANDS,
    WEBHOOK_MESSAGE,
    DiscordCall,
    discord_error,
    recorded_response,
)
from tests.fakes.discord_gateway import GatewayFrame
from tests.fakes.discord_rest import (
    API_PREFIX,
    ROUTES,
    DiscordRest,
    _Request,
    match_route,
    parse_body,
    ratelimit_headers,
)
from tests.fakes.http import Headers, serving

# A hold: (route, [requests still let through], accepted: handled before the answer waits).
_HoldState = tuple[str, list[int], bool]

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


class FakeDiscord(DiscordRest):
    """A fake Discord on ``127.0.0.1:<free port>``; see the module docstring.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Thread-safe:
    the server answers on its own thread while the test reads and scripts. Guilds,
    channels, interactions and gateway events: see
    :class:`tests.fakes.discord_state.FakeDiscordGateway`.
    """

    name = "the fake Discord"

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
            clock=clock,
            wall_clock=wall_clock,
        )
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._hold: _HoldState | None = None
        self._held = 0  # requests waiting in a hold right now

    # -- lifecycle ----------------------------------------------------------------------------

    def _open(self) -> tuple[str, int]:
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(loop,), daemon=True)
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._startup(), loop).result(10)
        self._thread.name = f"fake-discord:{port}"
        return "127.0.0.1", port

    def _close(self) -> None:
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
        return [c for c in self.calls() if c.route == FOLLOWUP or WEBHOOK_MESSAGE in c.route]

    async def wait_for_async(
        self, route: str, count: int = 1, timeout: float = 5.0
    ) -> list[DiscordCall]:
        """:meth:`wait_for`, without blocking the calling loop (where discord.py runs).

        :meth:`wait_for` blocks: in a coroutine on the client's loop, await this instead.
        """
        return await asyncio.to_thread(self.wait_for, route, count, timeout)

    # -- scripting ------------------------------------------------------------------------------

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
        after: int = 0,
    ) -> None:
        """Answer with Discord's error body, 403 Missing Access unless told otherwise.

        E.g. ``status=404, code=10003, message="Unknown Channel"``; the first
        ``after`` requests are answered as usual.
        """
        body = discord_error(code, message, errors)
        self.respond(route, body, status=status, channel=channel, times=times, after=after)

    def rate_limit(
        self,
        route: str,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        channel: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """Answer 429 as Discord does: discord.py sleeps ``retry_after`` seconds and retries.

        Without a ``Via`` header, or with a body that is not JSON, discord.py takes a
        429 for a Cloudflare ban and raises HTTPException instead; both are sent.
        """
        headers = ratelimit_headers(route, self._wall_clock(), 0, retry_after)
        headers.update({"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "user"})
        if is_global:
            headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
        body = {"message": "You are being rate limited.", "retry_after": retry_after}
        body["global"] = is_global
        self.respond(route, body, status=429, headers=headers, channel=channel, times=times,
                     after=after)

    def hold(self, route: str, *, after: int = 0, accepted: bool = False) -> None:
        """Let ``after`` more requests of ``route`` through, then keep each next one waiting.

        A held request is neither handled nor recorded until :meth:`release`; then
        it is handled as usual, unless its client has gone away: it is dropped.
        With ``accepted``, Discord has done the request before the hold: it is
        handled and recorded at once (a message is in the channel), and only
        the answer waits for :meth:`release`.
        """
        if after < 0:
            raise ValueError("after must be 0 or more")
        with self._cond:
            self._hold = (route, [after], accepted)

    def wait_held(self, count: int = 1, timeout: float = 5.0) -> int:
        """Block until ``count`` requests are being held; return how many are."""
        with self._cond:
            if not self._wait(lambda: self._held >= count, timeout):
                raise AssertionError(f"waited {timeout}s for {count} held request(s), "
                                     f"{self._held} held")
            return self._held

    def release(self) -> None:
        """End the hold: held requests are handled (or dropped, see :meth:`hold`)."""
        with self._cond:
            self._hold = None
            self._cond.notify_all()

    def _holds(self, route: str | None) -> _HoldState | None:
        """The hold that keeps this request waiting, if any (counts it in)."""
        with self._cond:
            hold = self._hold
            if hold is None or hold[0] != route:
                return None
            if hold[1][0] > 0:
                hold[1][0] -= 1
                return None
            self._held += 1
            self._cond.notify_all()
            return hold

    def _wait_released(self, hold: _HoldState) -> None:
        with self._cond:
            try:
                while self._hold is hold:
                    self._cond.wait()
            finally:
                self._held -= 1

    # -- serving, on the server's thread ------------------------------------------------------

    def _kind(self, call: DiscordCall) -> str:
        return call.route

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
        hold = self._holds(match_route(request.method, request.path)[0])
        if hold is not None and not hold[2]:
            await asyncio.to_thread(self._wait_released, hold)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)  # nobody is there to read it
        try:
            status, headers, answer = self._handle(request, body)
        except Exception as exc:
            # A bug in the fake: answer loudly and keep it for the test. 400, not 500:
            # discord.py would retry a 500 for 25 s before giving up.
            self._keep_crash(request.method, request.path, exc)
            status, headers = 400, {}
            answer = discord_error(0, f"the fake Discord crashed: {exc!r}")
        if hold is not None and hold[2]:  # done; the answer waits
            await asyncio.to_thread(self._wait_released, hold)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=499)
        headers = {"Via": "1.1 google", **headers}
        if answer is None:
            return web.Response(status=status, headers=headers)
        headers["Content-Type"] = "application/json"  # exactly: discord.py compares strings
        return web.Response(status=status, body=json.dumps(answer).encode(), headers=headers)

    def _handle(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], Any]:
        verb, path, query = request.method, request.path, dict(request.query)
        headers = Headers(request.headers.items())
        route, params = match_route(verb, path)
        try:
            payload, files, readable = *parse_body(headers.get("Content-Type", ""), body), True
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
                extra = ratelimit_headers(route, self._wall_clock(), remaining=4)
            self._record(
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
        return status, dict(extra), answer


@pytest.fixture(name="discord_api")
def discord_api_fixture() -> Iterator[FakeDiscord]:
    """A running FakeDiscord with discord.py pointed at it; both undone after the test.

    Fails the test if the fake itself crashed while answering.
    """
    with serving(FakeDiscord()) as fake, fake.point_discord_py():
        yield fake
