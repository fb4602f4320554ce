"""The REST half of the fake Discord: its routes, and the rules by which Discord refuses.

:data:`ROUTES` maps each route the fake serves to its answer in :class:`DiscordRest`;
:func:`match_route` finds the route of a request path. As Discord does, the answers
refuse unknown channels (404, 10003), empty messages (50006), too long content or
embeds (400, 50035 Invalid Form Body, see :func:`invalid_message`), a second response
to an interaction (40060), a followup before the response (10015), and unknown
interactions (10062). The server and the token check live in
:class:`tests.fakes.discord_api.FakeDiscord`.

This module does no I/O of its own beyond reading the recordings.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.discord_data import (
    FOLLOWUP,
    INTERACTION_CALLBACK,
    SEND_MESSAGE,
    SYNC_COMMANDS,
    SYNC_GUILD_COMMANDS,
    WEBHOOK_MESSAGE,
    Interaction,
    discord_error,
    recorded_response,
    snowflake_time,
)
from tests.fakes.discord_state import FakeDiscordGateway
from tests.fakes.http import multipart_parts

__all__ = [
    "API_PREFIX",
    "ROUTES",
    "DiscordRest",
    "invalid_message",
    "match_route",
    "parse_body",
    "ratelimit_headers",
]

API_PREFIX = "/api/v10"
LOADING, EPHEMERAL = 1 << 7, 1 << 6  # message flags
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
        f"{verb} {WEBHOOK_MESSAGE}{message}": "_webhook_message"
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


@dataclass
class _Request:
    route: str
    params: dict[str, str]
    query: dict[str, str]
    payload: Any
    files: dict[str, tuple[str, bytes]]
    interaction: Interaction | None


class DiscordRest(FakeDiscordGateway):
    """The answer to each REST route, given the fake's state; the caller holds the lock."""

    def __init__(self, **state: Any) -> None:
        super().__init__(**state)
        self._nonces: dict[tuple[str, str], str] = {}  # (channel, enforced nonce) -> message id

    def _find_interaction(self, params: Mapping[str, str]) -> Interaction | None:
        token = params.get("interaction_token")
        if "interaction_id" in params:
            found = self._interactions.get(params["interaction_id"])
            return found if found is not None and found.token == token else None
        return next((i for i in self._interactions.values() if i.token == token), None)

    def _authorized(self, route: str, headers: Mapping[str, str]) -> bool:
        if "/interactions/" in route or "/webhooks/" in route:
            return True  # the interaction token in the path is the credential
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bot ")
        known = self._tokens is None or token in self._tokens
        return auth.startswith("Bot ") and bool(token) and known

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
        if (invalid := invalid_message(payload, req.files, create=True)) is not None:
            return 400, invalid
        if (unknown := self._unknown_reference(channel_id, payload)) is not None:
            return 400, unknown
        nonce = str(payload.get("nonce"))
        if payload.get("enforce_nonce") and (channel_id, nonce) in self._nonces:
            # A retry with the same nonce: Discord answers with the message it made.
            return 200, copy.deepcopy(self._stored[self._nonces[channel_id, nonce]])
        message = self._new_message(channel_id, payload, req.files)
        if payload.get("nonce") is not None:
            self._nonces[channel_id, nonce] = message["id"]
        return 200, message

    def _unknown_reference(self, channel_id: str, payload: Mapping[str, Any]) -> Any:
        """Discord's refusal of a reply to a message that is gone (None: not one).

        ``fail_if_not_exists`` defaults to true; false sends the reply as a plain message.
        """
        reference = payload.get("message_reference")
        if not reference or reference.get("fail_if_not_exists") is False:
            return None
        target = self._stored.get(str(reference.get("message_id")))
        if target is not None and target["channel_id"] == str(reference.get("channel_id", channel_id)):
            return None
        unknown = {"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}
        return discord_error(50035, "Invalid Form Body",
                             {"message_reference": {"_errors": [unknown]}})

    def delete_message(self, message_id: str) -> None:
        """Someone deleted the message ``message_id`` (a digest's, say)."""
        del self._stored[message_id]

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
            invalid = invalid_message(req.payload or {}, req.files, create=False)
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
        if kind in (4, 7) and (invalid := invalid_message(data, req.files, kind == 4)) is not None:
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
        if (invalid := invalid_message(payload, req.files, create=True)) is not None:
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
        interaction: Interaction | None = None,
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


def match_route(verb: str, path: str) -> tuple[str | None, dict[str, str]]:
    """The route of ``verb path`` and its placeholders' values; None for an unrouted path."""
    if path.startswith(API_PREFIX + "/"):
        wanted = f"{verb} {path.removeprefix(API_PREFIX)}"
        for route, pattern in _PATTERNS:
            if found := pattern.match(wanted):
                return route, found.groupdict()
    return None, {}


def parse_body(content_type: str, body: bytes) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """The JSON payload and the file parts: from a JSON body, or multipart's payload_json."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return None, {}
    if mime != "multipart/form-data":
        return json.loads(body), {}
    payload, files = None, {}
    for part in multipart_parts(content_type, body):
        if part.name == "payload_json":
            payload = json.loads(part.data)
        else:
            files[part.name] = (part.filename or part.name, part.data)
    return payload, files


def invalid_message(
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


def ratelimit_headers(
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
