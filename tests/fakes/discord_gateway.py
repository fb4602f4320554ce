"""The gateway half of the fake Discord, and what both halves share.

:class:`Gateway` serves the websocket on the fake's aiohttp server. Per connection it
sends HELLO (op 10), answers IDENTIFY (op 2) with READY and one GUILD_CREATE per guild,
HEARTBEAT (op 1) with HEARTBEAT_ACK (op 11), and RESUME (op 6) by replaying what the
session missed, then RESUMED. Transport compression follows the ``compress`` query
parameter: ``zlib-stream`` (what discord.py 2.7 asks for unless zstandard is
installed) gets one zlib stream per connection, each message ending in a
``Z_SYNC_FLUSH``; anything else, ``zstd-stream`` included, gets plain text frames,
which discord.py reads as they are (it only decompresses binary frames).

:class:`FakeDiscordGateway` is the state a client sees over the gateway: the bot's
identity, its guilds and channels, interactions and the payloads that carry them.
:class:`tests.fakes.discord_api.FakeDiscord` adds the REST API and the server.

This module's only I/O is the websockets handed to it, and reading the recordings.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import json
import logging
import secrets
import threading
import zlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

__all__ = [
    "ANNOUNCEMENTS_CHANNEL_ID",
    "APPLICATION_ID",
    "BOT_PERMISSIONS",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "GUILD_ID",
    "MANAGE_CHANNELS",
    "MEMBER_PERMISSIONS",
    "MEMBER_USER_ID",
    "MODERATOR_ROLE_ID",
    "OWNER_USER_ID",
    "PRIVILEGED_INTENTS",
    "RECORDINGS_DIR",
    "SEND_MESSAGES",
    "FakeDiscordGateway",
    "Gateway",
    "GatewayFrame",
    "command_data",
    "recorded_response",
]

log = logging.getLogger(__name__)

RECORDINGS_DIR = Path(__file__).resolve().parent / "discord"
# The fake's identities, as in the recordings (a self-test keeps them in step). The
# application and bot user ids differ on purpose, so using one for the other fails.
APPLICATION_ID = "1187000000000000001"
BOT_USER_ID = "1187000000000000002"
GUILD_ID = "1187000000000000100"  # "Imaging Lab"
CHANNEL_ID = "1187000000000000111"  # #papers
ANNOUNCEMENTS_CHANNEL_ID = "1187000000000000112"  # @everyone may not send; Moderators may
MODERATOR_ROLE_ID = "1187000000000000120"
OWNER_USER_ID = "1187000000000000200"
MEMBER_USER_ID = "1187000000000000201"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions) as ints;
# payloads carry them as decimal strings.
MANAGE_CHANNELS = 1 << 4
SEND_MESSAGES = 1 << 11
# @everyone in the default guild: read, write, react, use commands; no Manage Channels.
MEMBER_PERMISSIONS = sum(1 << b for b in (0, 6, 10, 11, 14, 15, 16, 18, 20, 21, 26, 31, 35, 38))
# The bot's role: view, send, embed links, attach files, history, commands, threads.
BOT_PERMISSIONS = sum(1 << b for b in (10, 11, 14, 15, 16, 31, 38))
PRIVILEGED_INTENTS = {
    1 << 1: "GUILD_MEMBERS",
    1 << 8: "GUILD_PRESENCES",
    1 << 15: "MESSAGE_CONTENT",
}

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
CLIENT_OPS = frozenset({1, 2, 3, 4, 6, 8})  # what a client may send; anything else: 4001
OPTION_TYPES = ((bool, 5), (int, 4), (float, 10), (str, 3))  # bool first: it is an int
SEND_MESSAGE = "POST /channels/{channel_id}/messages"


@functools.cache
def _load_recording(route: str) -> dict[str, Any] | None:
    name = route.replace(" /", "_").replace("/", "_").replace(" ", "_")
    path = RECORDINGS_DIR / f"{name}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != "_about"}


def recorded_response(route: str) -> dict[str, Any] | None:
    """A fresh copy of the recording for ``route`` ("GET /users/@me", "GATEWAY READY").

    The file is the route with ``/`` and spaces as ``_``; its ``_about`` is left out.
    """
    data = _load_recording(route)
    return copy.deepcopy(data) if data is not None else None


@dataclass(frozen=True)
class GatewayFrame:
    """One frame a client sent to the fake gateway (IDENTIFY, HEARTBEAT, RESUME...)."""

    op: int
    d: Any
    path: str  # "/gateway", or "/resume" (the resume_gateway_url)
    query: dict[str, str]  # v, encoding, compress


class _Connection:
    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws, self.path, self.query = ws, request.path, dict(request.query)
        self.session: _Session | None = None
        compress = self.query.get("compress") == "zlib-stream"
        self._zlib = zlib.compressobj() if compress else None

    async def send(self, frame: Mapping[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        if self._zlib is None:
            await self.ws.send_str(text)
        else:
            data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)


@dataclass(eq=False)
class _Session:
    id: str
    token: str
    shard: list[int] | None
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)  # dispatches, for RESUME
    conn: _Connection | None = None


class Gateway:
    """Discord's side of the websocket for one fake; its coroutines run on the server's loop."""

    def __init__(self, host: FakeDiscordGateway, *, heartbeat_interval_ms: int) -> None:
        self._host = host
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._sessions: dict[str, _Session] = {}
        self._connections: set[_Connection] = set()

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws, request)
        self._connections.add(conn)
        try:
            await conn.send(_frame(HELLO, {"heartbeat_interval": self._heartbeat_interval_ms}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._receive(conn, msg.data)
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                # Closing with 1000/1001 ends the session; other codes (discord.py
                # closes with 4000 before it reconnects) leave it resumable.
                if ws.close_code in (1000, 1001):
                    self._sessions.pop(session.id, None)
        return ws

    async def dispatch(self, event: str, data: Any) -> None:
        """Send ``event`` to every session; one between connections gets it on RESUME."""
        if not self._sessions:
            raise RuntimeError(
                f"cannot dispatch {event}: no client has identified with the fake gateway "
                "(wait for on_ready first)"
            )
        for session in list(self._sessions.values()):
            await self._dispatch(session, event, data)

    async def request_reconnect(self) -> None:
        for conn in list(self._connections):
            await conn.send(_frame(RECONNECT, None))

    async def close_all(self, code: int = 1001) -> None:
        for conn in list(self._connections):
            await conn.ws.close(code=code, message=b"the fake Discord is stopping")
        self._sessions.clear()

    async def _receive(self, conn: _Connection, text: str) -> None:
        try:
            frame = json.loads(text)
            op, d = int(frame["op"]), frame.get("d")
        except (ValueError, TypeError, KeyError):
            await conn.ws.close(code=4002, message=b"Error while decoding payload.")
            return
        self._host._gateway_received(GatewayFrame(op, d, conn.path, conn.query))
        if op not in CLIENT_OPS:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")
        elif op == HEARTBEAT:
            await conn.send(_frame(HEARTBEAT_ACK, None))
        elif op == IDENTIFY:
            await self._identify(conn, d if isinstance(d, dict) else {})
        elif op == RESUME:
            await self._resume(conn, d if isinstance(d, dict) else {})
        # PRESENCE_UPDATE, VOICE_STATE_UPDATE, REQUEST_GUILD_MEMBERS: recorded only.

    async def _identify(self, conn: _Connection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        refusal = self._host._gateway_refusal(d)
        if refusal is not None:
            await conn.ws.close(code=refusal[0], message=refusal[1].encode())
            return
        shard = d.get("shard")
        session = _Session(id=secrets.token_hex(16), token=str(d.get("token")), shard=shard)
        self._sessions[session.id] = session
        session.conn, conn.session = conn, session
        await self._dispatch(session, "READY", self._host._gateway_ready(session.id, shard))
        for guild in self._host._gateway_guilds(shard):
            await self._dispatch(session, "GUILD_CREATE", guild)

    async def _resume(self, conn: _Connection, d: dict[str, Any]) -> None:
        session = self._sessions.get(str(d.get("session_id")))
        if session is None or session.token != d.get("token"):
            # d=false: start afresh. discord.py IDENTIFYs again, after sleeping 5 s.
            await conn.send(_frame(INVALID_SESSION, False))
            return
        session.conn, conn.session = conn, session
        for frame in [f for f in session.sent if f["s"] > (d.get("seq") or 0)]:
            await conn.send(frame)
        await self._dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _dispatch(self, session: _Session, event: str, data: Any) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.conn is not None and not session.conn.ws.closed:
            try:
                await session.conn.send(frame)
            except ConnectionResetError:  # closing under us: RESUME will replay it
                log.debug("fake gateway: %s not delivered to session %s", event, session.id)


def _frame(op: int, d: Any) -> dict[str, Any]:
    return {"op": op, "d": d, "s": None, "t": None}


@dataclass(eq=False)
class _Interaction:
    id: str
    token: str
    type: int
    channel_id: str | None
    user: dict[str, Any]
    message_id: str | None  # a component's message
    response: int | None = None  # the callback type answered, once answered
    original_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)


class FakeDiscordGateway:
    """What a client sees over the gateway: identity, guilds, channels, interactions.

    Not used alone: :class:`tests.fakes.discord_api.FakeDiscord` runs it.
    """

    _loop: asyncio.AbstractEventLoop | None = None  # the server's, while it runs

    def __init__(
        self,
        *,
        application_id: str,
        bot_user_id: str,
        bot_name: str,
        tokens: frozenset[str] | None,
        privileged_intents: int,
        heartbeat_interval_ms: int,
        wall_clock: Callable[[], float],
    ) -> None:
        self.application_id, self.bot_user_id, self.bot_name = application_id, bot_user_id, bot_name
        self._tokens, self._privileged, self._wall_clock = tokens, privileged_intents, wall_clock
        self._cond = threading.Condition()
        self._frames: list[GatewayFrame] = []
        self._guilds: dict[str, dict[str, Any]] = {}
        self._stored: dict[str, dict[str, Any]] = {}  # message id -> the message as it is now
        self._interactions: dict[str, _Interaction] = {}
        self._commands: dict[str | None, list[dict[str, Any]]] = {}
        self._last_id = 0
        self._gateway = Gateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        guild = recorded_response("GATEWAY GUILD_CREATE") or {}
        for role in guild["roles"]:
            if "tags" in role:
                role["tags"]["bot_id"] = bot_user_id
        self._guilds[guild["id"]] = guild

    # -- configuration ---------------------------------------------------------------------

    def add_guild(
        self,
        guild_id: str,
        *,
        name: str,
        channels: Sequence[Mapping[str, Any]] = (),
        roles: Sequence[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Configure a guild the bot is in; a connected client gets GUILD_CREATE.

        It copies the default guild (``GATEWAY_GUILD_CREATE.json``) with its own
        ``channels`` (each with id and name at least; type defaults to 0, text) and
        ``roles`` (default: @everyone with MEMBER_PERMISSIONS, and the bot's role).
        """
        guild = recorded_response("GATEWAY GUILD_CREATE") or {}
        everyone, _, bot_role = guild["roles"]
        everyone["id"], bot_role["id"] = guild_id, self._new_id()
        bot_role["tags"]["bot_id"] = self.bot_user_id
        guild.update(id=guild_id, name=name, system_channel_id=None, channels=[], **fields)
        guild["roles"] = [dict(r) for r in roles] if roles is not None else [everyone, bot_role]
        with self._cond:
            self._guilds[guild_id] = guild
        for channel in channels:
            extra = {k: v for k, v in channel.items() if k not in ("id", "name")}
            self._put_channel(str(channel["id"]), str(channel["name"]), guild_id, extra)
        # A guild joined mid-session has no "unavailable" key: discord.py then fires on_guild_join.
        self._notify("GUILD_CREATE", lambda: self._guild_create(guild_id, joined=True))
        return self.guild(guild_id)

    def add_channel(
        self, channel_id: str, *, name: str, guild_id: str = GUILD_ID, type: int = 0, **fields: Any
    ) -> dict[str, Any]:
        """Configure a channel (type 0 text, 2 voice, 4 category, 5 announcement...).

        ``fields`` add to or override the channel object (``permission_overwrites``,
        ``parent_id``, ``topic``...). A connected client gets CHANNEL_CREATE.
        """
        self._put_channel(channel_id, name, guild_id, {"type": type, **fields})
        self._notify("CHANNEL_CREATE", lambda: self.channel(channel_id))
        return self.channel(channel_id)

    def remove_from_guild(self, guild_id: str) -> None:
        """The bot was removed: forget the guild; a connected client gets GUILD_DELETE."""
        with self._cond:
            del self._guilds[guild_id]
        # Without "unavailable", GUILD_DELETE means removed, not an outage.
        self._notify("GUILD_DELETE", lambda: {"id": guild_id})

    def guild(self, guild_id: str = GUILD_ID) -> dict[str, Any]:
        with self._cond:
            return copy.deepcopy(self._guilds[guild_id])

    def channel(self, channel_id: str) -> dict[str, Any]:
        """The channel object with its ``guild_id``, as GET /channels/{channel_id} answers."""
        with self._cond:
            for guild_id, guild in self._guilds.items():
                for channel in guild["channels"]:
                    if channel["id"] == channel_id:
                        return {**copy.deepcopy(channel), "guild_id": guild_id}
        raise KeyError(f"no channel {channel_id} is configured in the fake Discord")

    def has_channel(self, channel_id: str) -> bool:
        with self._cond:
            return any(c["id"] == channel_id for g in self._guilds.values() for c in g["channels"])

    def bot_user(self) -> dict[str, Any]:
        """The bot's user object, as message authors carry it."""
        author = (recorded_response(SEND_MESSAGE) or {})["author"]
        return {**author, "id": self.bot_user_id, "username": self.bot_name}

    # -- what tests read ---------------------------------------------------------------------

    def gateway_frames(self, op: int | None = None) -> list[GatewayFrame]:
        """What clients sent the gateway (2 IDENTIFY, 1 HEARTBEAT, 6 RESUME...), in order."""
        with self._cond:
            return [f for f in self._frames if op is None or f.op == op]

    def stored_message(self, message_id: str) -> dict[str, Any]:
        """A message the bot created, as it is now (after edits)."""
        with self._cond:
            return copy.deepcopy(self._stored[message_id])

    def commands(self, guild_id: str | None = None) -> list[dict[str, Any]]:
        """The commands last synced globally, or to ``guild_id``, as the fake answered them."""
        with self._cond:
            return copy.deepcopy(self._commands.get(guild_id, []))

    # -- gateway events ------------------------------------------------------------------------

    def dispatch(self, event: str, data: Any, *, timeout: float = 5.0) -> None:
        """Send a gateway event (``"INTERACTION_CREATE"``, payload) to the connected client.

        Callable from any thread, the client's loop included: it returns once sent.
        """
        if event == "INTERACTION_CREATE":
            self._remember_interaction(data)
        self._on_loop(self._gateway.dispatch(event, copy.deepcopy(data)), timeout)

    def request_reconnect(self, *, timeout: float = 5.0) -> None:
        """Send RECONNECT (op 7): discord.py reconnects to resume_gateway_url and RESUMEs."""
        self._on_loop(self._gateway.request_reconnect(), timeout)

    def command_interaction(
        self,
        command: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        **who: Any,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE for the slash command ``"papers subscribe"``, ``{"topic": "mri"}``.

        ``who``: user_id (MEMBER_USER_ID); permissions, the member's as an int (default
        MEMBER_PERMISSIONS: no Manage Channels); roles; channel_id (CHANNEL_ID); guild_id
        (GUILD_ID; None for a DM). The command id and data.guild_id come from the
        fake's last sync of that command name, if any.
        """
        return self._interaction(2, self._command_data(command, options, None, who), **who)

    def autocomplete_interaction(
        self, command: str, options: Mapping[str, Any], *, focused: str, **who: Any
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE (type 4) while the user types the ``focused`` option."""
        return self._interaction(4, self._command_data(command, options, focused, who), **who)

    def component_interaction(
        self,
        custom_id: str,
        *,
        message: str | Mapping[str, Any] | None = None,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        **who: Any,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE (type 3): a click on ``custom_id`` (2 button, 3 select...).

        ``message`` is the message clicked, by id or as a dict; by default the latest
        the bot posted with that custom_id (DynamicItems need it), else a new message
        with one button.
        """
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        with self._cond:
            if isinstance(message, str):
                found = copy.deepcopy(self._stored[message])
            elif message is not None:
                found = dict(message)
            else:
                candidates = [m for m in self._stored.values() if _has_custom_id(m, custom_id)]
                found = (
                    copy.deepcopy(candidates[-1])
                    if candidates
                    else self._button_message(custom_id, who.get("channel_id", CHANNEL_ID))
                )
        return self._interaction(3, data, message=found, **who)

    # -- the gateway's questions (asked on the server's loop) --------------------------------

    def _gateway_received(self, frame: GatewayFrame) -> None:
        with self._cond:
            self._frames.append(frame)
            self._cond.notify_all()

    def _gateway_refusal(self, identify: Mapping[str, Any]) -> tuple[int, str] | None:
        token, intents = identify.get("token"), identify.get("intents")
        if not token or (self._tokens is not None and token not in self._tokens):
            return 4004, "Authentication failed."
        if not isinstance(intents, int):
            return 4013, "Invalid intent(s)."
        refused = [n for bit, n in PRIVILEGED_INTENTS.items() if intents & bit & ~self._privileged]
        return (4014, f"Disallowed intent(s): {', '.join(refused)}.") if refused else None

    def _gateway_ready(self, session_id: str, shard: list[int] | None) -> dict[str, Any]:
        ready = recorded_response("GATEWAY READY") or {}
        ready["user"].update(self.bot_user(), verified=True, mfa_enabled=False, email=None)
        ready["application"]["id"] = self.application_id
        ready.update(session_id=session_id, resume_gateway_url=self._resume_url())
        ready["guilds"] = [{"id": g, "unavailable": True} for g in self._guild_ids(shard)]
        if shard is not None:
            ready["shard"] = shard
        return ready

    def _gateway_guilds(self, shard: list[int] | None) -> list[dict[str, Any]]:
        return [self._guild_create(guild_id) for guild_id in self._guild_ids(shard)]

    def _guild_ids(self, shard: list[int] | None) -> list[str]:
        """The guilds a session gets: those of its shard (Discord's formula), if sharded."""
        with self._cond:
            return [g for g in self._guilds if not shard or (int(g) >> 22) % shard[1] == shard[0]]

    # -- inner workings ------------------------------------------------------------------------

    def _resume_url(self) -> str:
        raise NotImplementedError  # the server knows its address

    def _on_loop(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the fake Discord is not running; call start()")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _notify(self, event: str, data: Callable[[], Any]) -> None:
        if self._loop is not None and self._gateway.session_count:
            self.dispatch(event, data())

    def _new_id(self) -> str:
        """A snowflake dated by the wall clock, larger than every one before."""
        with self._cond:
            now = (int(self._wall_clock() * 1000) - DISCORD_EPOCH_MS) << 22
            self._last_id = max(now, self._last_id + 1)
            return str(self._last_id)

    def _put_channel(
        self, channel_id: str, name: str, guild_id: str, fields: Mapping[str, Any]
    ) -> None:
        channel = {
            "id": channel_id,
            "type": 0,
            "name": name,
            "position": 0,
            "flags": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "rate_limit_per_user": 0,
            **fields,
        }
        with self._cond:
            channels = self._guilds[guild_id]["channels"]
            channels[:] = [c for c in channels if c["id"] != channel_id] + [channel]

    def _guild_create(self, guild_id: str, *, joined: bool = False) -> dict[str, Any]:
        guild = self.guild(guild_id)
        if joined:
            guild.pop("unavailable", None)
        mine = [
            r["id"] for r in guild["roles"] if r.get("tags", {}).get("bot_id") == self.bot_user_id
        ]
        member = (recorded_response("GATEWAY INTERACTION_CREATE") or {})["member"]
        del member["permissions"]  # only interactions carry it
        # Without the GUILD_MEMBERS intent, Discord sends only the bot's own member.
        guild["members"] = [{**member, "user": self.bot_user(), "roles": mine}]
        return guild

    def _button_message(self, custom_id: str, channel_id: str) -> dict[str, Any]:
        message = recorded_response(SEND_MESSAGE) or {}
        button = {"type": 2, "style": 1, "label": custom_id, "custom_id": custom_id}
        message.update(
            id=self._new_id(),
            author=self.bot_user(),
            channel_id=channel_id,
            components=[{"type": 1, "components": [button]}],
        )
        return message

    def _command_data(
        self, command: str, options: Any, focused: str | None, who: Mapping[str, Any]
    ) -> dict[str, Any]:
        name, guild_id = command.split()[0], who.get("guild_id", GUILD_ID)
        with self._cond:
            synced = [
                (c["id"], g)
                for g in (guild_id, None)
                for c in self._commands.get(g, [])
                if c["name"] == name
            ]
        command_id, command_guild = synced[0] if synced else (self._new_id(), None)
        return command_data(
            command, options, command_id=command_id, guild_id=command_guild, focused=focused
        )

    def _interaction(
        self,
        type: int,
        data: dict[str, Any],
        *,
        message: Mapping[str, Any] | None = None,
        user_id: str = MEMBER_USER_ID,
        permissions: int = MEMBER_PERMISSIONS,
        roles: Sequence[str] = (),
        channel_id: str = CHANNEL_ID,
        guild_id: str | None = GUILD_ID,
    ) -> dict[str, Any]:
        payload = recorded_response("GATEWAY INTERACTION_CREATE") or {}
        interaction_id, member = self._new_id(), payload["member"]
        member["user"].update(id=user_id, username=f"user{user_id[-3:]}", global_name=None)
        member.update(roles=list(roles), permissions=str(permissions))
        payload.update(id=interaction_id, application_id=self.application_id, type=type, data=data)
        payload.update(token=interaction_token(interaction_id), channel_id=channel_id)
        if guild_id is None:
            for key in ("guild_id", "guild", "member", "guild_locale"):
                del payload[key]
            user = member["user"]
            channel = {"id": channel_id, "type": 1, "recipients": [user], "flags": 0}
            owners = {"1": user_id}
            payload.update(
                user=user, context=1, channel=channel, authorizing_integration_owners=owners
            )
        else:
            known = self.has_channel(channel_id)
            channel = self.channel(channel_id) if known else {"id": channel_id, "type": 0}
            payload.update(guild_id=guild_id, authorizing_integration_owners={"0": guild_id})
            payload.update(channel={**channel, "guild_id": guild_id})
            payload["guild"]["id"] = guild_id
        if message is not None:
            payload["message"] = dict(message)
        return payload

    def _remember_interaction(self, data: Mapping[str, Any]) -> None:
        """Interactions dispatched can be answered, once, at their callback URL."""
        user = (data.get("member") or {}).get("user") or data.get("user") or {}
        message = data.get("message")
        message_id = message.get("id") if isinstance(message, dict) else None
        channel_id = data.get("channel_id") or (data.get("channel") or {}).get("id")
        with self._cond:
            self._interactions[str(data["id"])] = _Interaction(
                id=str(data["id"]),
                token=str(data["token"]),
                type=int(data["type"]),
                channel_id=channel_id,
                user=user,
                message_id=message_id,
            )
            if isinstance(message, dict) and message_id not in self._stored:
                self._stored[str(message_id)] = copy.deepcopy(message)


# -- payload shapes ---------------------------------------------------------------------------


def interaction_token(interaction_id: str) -> str:
    """A token shaped like Discord's: URL-safe base64 of ``interaction:<id>:<secret>``."""
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def command_data(
    command: str,
    options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    *,
    command_id: str,
    guild_id: str | None = None,
    focused: str | None = None,
) -> dict[str, Any]:
    """The ``data`` of a slash command (type 2) or autocomplete (type 4) interaction.

    ``command`` is the qualified name, ``"papers subscribe"``: a command, then an
    optional group and a subcommand, nested as options of types 2 and 1. ``options``
    maps names to values (str: type 3, int: 4, bool: 5, float: 10), or is a list of
    option dicts used as they are. ``focused`` marks the option being typed.
    ``guild_id`` is set when the command is registered in that guild only.
    """
    name, *path = command.split()
    if isinstance(options, Mapping):
        if focused is not None and focused not in options:
            raise ValueError(f"focused option {focused!r} is not among {list(options)}")
        leaf = [_option(key, value, key == focused) for key, value in options.items()]
    else:
        leaf = [dict(o) for o in options or ()]
    for depth, sub in reversed(list(enumerate(path))):
        leaf = [{"name": sub, "type": 1 if depth == len(path) - 1 else 2, "options": leaf}]
    data: dict[str, Any] = {"id": command_id, "name": name, "type": 1, "options": leaf}
    if guild_id is not None:
        data["guild_id"] = guild_id
    return data


def _option(name: str, value: Any, focused: bool) -> dict[str, Any]:
    kind = next((t for py, t in OPTION_TYPES if isinstance(value, py)), None)
    if kind is None:
        raise TypeError(f"option {name}={value!r}: give str, int, bool or float, or option dicts")
    return {"name": name, "type": kind, "value": value, **({"focused": True} if focused else {})}


def _has_custom_id(node: Any, custom_id: str) -> bool:
    """Whether a message (or part of one) holds a component with ``custom_id``."""
    if isinstance(node, dict):
        if node.get("custom_id") == custom_id:
            return True
        return any(_has_custom_id(node.get(k), custom_id) for k in ("components", "accessory"))
    return isinstance(node, list) and any(_has_custom_id(n, custom_id) for n in node)


def snowflake_time(snowflake: str) -> str:
    """The ISO timestamp a snowflake carries, as Discord writes message timestamps."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="microseconds")
