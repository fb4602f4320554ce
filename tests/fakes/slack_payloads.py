"""What the fake Slack Web API reads and sends: request params, recordings, identities.

Slack clients send a call's arguments in the query string, a form, a multipart form or
a JSON body; :func:`parse_params` merges them into one dict, decoding the fields Slack
documents as JSON. The default answers are the recorded responses in
``tests/fakes/slack/<method>.json`` (:func:`recorded_response`).

This module's only I/O is reading its recordings.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.fakes.http import multipart_parts

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "JSON_FIELDS",
    "RECORDINGS_DIR",
    "TEAM_ID",
    "echo_message",
    "parse_params",
    "recorded_response",
]

RECORDINGS_DIR = Path(__file__).resolve().parent / "slack"
# The fake workspace's identity, as in the recordings (a self-test keeps them in step).
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"

# Form fields Slack documents as "a JSON-based array/object": decoded when they
# arrive as a string, in a form body or (double-encoded) in a JSON body.
JSON_FIELDS = frozenset(
    {"attachments", "blocks", "metadata", "options", "unfurls", "user_auth_blocks", "view"}
)


@functools.cache
def _load_recording(method: str) -> dict[str, Any] | None:
    path = RECORDINGS_DIR / f"{method}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def recorded_response(method: str) -> dict[str, Any] | None:
    """A fresh copy of the recorded answer for ``method`` (without ``_about``), or None."""
    data = _load_recording(method)
    return copy.deepcopy(data) if data is not None else None


def echo_message(message: dict[str, Any], params: Mapping[str, Any]) -> None:
    """Fill a recorded message with what the call sent, as Slack echoes it."""
    message["text"] = params.get("text", "")
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if key in params:
            message[key] = params[key]
        else:
            message.pop(key, None)


def parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Query string and body as one dict (the body wins), JSON fields decoded."""
    params: dict[str, Any] = _pairs(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";", 1)[0].strip().lower()
    if body and mime == "application/json":
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body and mime == "multipart/form-data":
        # Text parts as str, file parts (those with a filename) as bytes.
        for part in multipart_parts(content_type, body):
            text = part.filename is None
            params[part.name] = part.data.decode(part.charset or "utf-8") if text else part.data
    elif body:
        params.update(_pairs(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
    for key in JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                pass  # leave it as sent: the test sees exactly what the client posted
    return params


def _pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as a dict: one value stays a str, a repeated name becomes a list."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out
