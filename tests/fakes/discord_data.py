"""The fake Discord's data: identities, route names, recordings, and payload shapes.

Both halves of the fake (:mod:`tests.fakes.discord_state` for the gateway,
:mod:`tests.fakes.discord_rest` for the REST API) build what they send from the
recordings in ``tests/fakes/discord/`` (:func:`recorded_response`) and the fake's
identities below; :class:`DiscordCall` is what the fake records of a REST request.

This module's only I/O is reading the recordings.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.fakes.http import Received

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
    "PRIVILEGED_INTENTS",
    "RECORDINGS_DIR",
    "SEND_MESSAGE",
    "SEND_MESSAGES",
    "SYNC_COMMANDS",
    "SYNC_GUILD_COMMANDS",
    "WEBHOOK_MESSAGE",
    "DiscordCall",
    "Interaction",
    "command_data",
    "discord_error",
    "has_custom_id",
    "interaction_token",
    "recorded_response",
    "snowflake_time",
]

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

OPTION_TYPES = ((bool, 5), (int, 4), (float, 10), (str, 3))  # bool first: it is an int

# REST routes, keyed like discord.py's Route, with Discord's names for the placeholders.
SEND_MESSAGE = "POST /channels/{channel_id}/messages"
SYNC_COMMANDS = "PUT /applications/{application_id}/commands"
SYNC_GUILD_COMMANDS = "PUT /applications/{application_id}/guilds/{guild_id}/commands"
INTERACTION_CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{interaction_token}"
WEBHOOK_MESSAGE = "/webhooks/{application_id}/{interaction_token}/messages/"


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


def discord_error(code: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Discord's JSON error body: ``{"message": ..., "code": ...}``, and ``errors`` if given."""
    return {"message": message, "code": code, **({"errors": errors} if errors else {})}


@dataclass(frozen=True, eq=False, kw_only=True)
class DiscordCall(Received):
    """One REST request the fake received, and what it answered."""

    route: str  # "POST /channels/{channel_id}/messages"; "GET /the/path" if unrouted
    params: dict[str, str]  # the route's placeholders: {"channel_id": "..."}
    query: dict[str, str]
    payload: Any  # the JSON body (or multipart payload_json), decoded; None without one
    files: dict[str, tuple[str, bytes]]  # multipart file parts: name -> (filename, bytes)
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


@dataclass(eq=False)
class Interaction:
    """An interaction dispatched to the client, and how the bot has answered it so far."""

    id: str
    token: str
    type: int
    channel_id: str | None
    user: dict[str, Any]
    message_id: str | None  # a component's message
    response: int | None = None  # the callback type answered, once answered
    original_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)


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


def has_custom_id(node: Any, custom_id: str) -> bool:
    """Whether a message (or part of one) holds a component with ``custom_id``."""
    if isinstance(node, dict):
        if node.get("custom_id") == custom_id:
            return True
        return any(has_custom_id(node.get(k), custom_id) for k in ("components", "accessory"))
    return isinstance(node, list) and any(has_custom_id(n, custom_id) for n in node)


def snowflake_time(snowflake: str) -> str:
    """The ISO timestamp a snowflake carries, as Discord writes message timestamps."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="microseconds")
