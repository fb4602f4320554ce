"""What a client of the fake Discord sees: identity, guilds, channels, interactions.

:class:`FakeDiscordGateway` is the state both halves of the fake share, and what the
gateway (:mod:`tests.fakes.discord_gateway`) sends: READY, GUILD_CREATE, the events a
test dispatches, and the interactions it builds for them.
:class:`tests.fakes.discord_api.FakeDiscord` adds the REST API and the server.

This module's only I/O is reading the recordings.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from tests.fakes.discord_data import (
    CHANNEL_ID,
    DISCORD_EPOCH_MS,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    MEMBER_USER_ID,
    PRIVILEGED_INTENTS,
    SEND_MESSAGE,
    DiscordCall,
    Interaction,
    command_data,
    has_custom_id,
    interaction_token,
    recorded_response,
)
from tests.fakes.discord_gateway import Gateway, GatewayFrame
from tests.fakes.http import FakeServer

__all__ = ["FakeDiscordGateway"]


class FakeDiscordGateway(FakeServer[DiscordCall]):
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
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        super().__init__(clock=clock)
        self.application_id, self.bot_user_id, self.bot_name = application_id, bot_user_id, bot_name
        self._tokens, self._privileged, self._wall_clock = tokens, privileged_intents, wall_clock
        self._frames: list[GatewayFrame] = []
        self._guilds: dict[str, dict[str, Any]] = {}
        self._stored: dict[str, dict[str, Any]] = {}  # message id -> the message as it is now
        self._interactions: dict[str, Interaction] = {}
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
                candidates = [m for m in self._stored.values() if has_custom_id(m, custom_id)]
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
            self._interactions[str(data["id"])] = Interaction(
                id=str(data["id"]),
                token=str(data["token"]),
                type=int(data["type"]),
                channel_id=channel_id,
                user=user,
                message_id=message_id,
            )
            if isinstance(message, dict) and message_id not in self._stored:
                self._stored[str(message_id)] = copy.deepcopy(message)
