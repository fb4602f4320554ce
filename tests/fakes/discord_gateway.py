"""The gateway half of the fake Discord: its websocket protocol.

:class:`Gateway` serves the websocket on the fake's aiohttp server. Per connection it
sends HELLO (op 10), answers IDENTIFY (op 2) with READY and one GUILD_CREATE per guild,
HEARTBEAT (op 1) with HEARTBEAT_ACK (op 11), and RESUME (op 6) by replaying what the
session missed, then RESUMED. Transport compression follows the ``compress`` query
parameter: ``zlib-stream`` (what discord.py 2.7 asks for unless zstandard is
installed) gets one zlib stream per connection, each message ending in a
``Z_SYNC_FLUSH``; anything else, ``zstd-stream`` included, gets plain text frames,
which discord.py reads as they are (it only decompresses binary frames).

What the payloads hold (the bot, its guilds) the gateway asks its host, a
:class:`GatewayHost`: :class:`tests.fakes.discord_state.FakeDiscordGateway`.

This module's only I/O is the websockets handed to it.
"""

from __future__ import annotations

import json
import logging
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

__all__ = ["Gateway", "GatewayFrame", "GatewayHost"]

log = logging.getLogger(__name__)

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
CLIENT_OPS = frozenset({1, 2, 3, 4, 6, 8})  # what a client may send; anything else: 4001

class GatewayHost(Protocol):
    """What the gateway asks of the fake's state, on the server's loop."""

    def _gateway_received(self, frame: GatewayFrame) -> None: ...

    def _gateway_refusal(self, identify: Mapping[str, Any]) -> tuple[int, str] | None: ...

    def _gateway_ready(self, session_id: str, shard: list[int] | None) -> dict[str, Any]: ...

    def _gateway_guilds(self, shard: list[int] | None) -> list[dict[str, Any]]: ...


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

    def __init__(self, host: GatewayHost, *, heartbeat_interval_ms: int) -> None:
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
