"""A Slack message, and the limits it must keep to be posted. No I/O.

``SlackMessage`` is what ``adapters.slack.render`` makes: the ``text`` and
``blocks`` of ``chat.postMessage`` (or of an ephemeral post or a
``response_url`` answer). Every message MUST be one Slack accepts.
``check_message`` enforces it, and every renderer runs it before
returning, so a renderer bug raises ``SlackLimitError`` here instead of an
``invalid_blocks`` error at post time. Each block is built with slack_sdk's
models (whose ``to_dict`` checks their own limits) and checked again here:

- at most ``BLOCK_LIMIT`` (50) blocks a message;
- a header's text at most ``HEADER_LIMIT`` (150) characters, a section's or
  any other text object's at most ``TEXT_LIMIT`` (3000), a button's label
  at most 75, a button's value at most ``BUTTON_VALUE_LIMIT`` (2000); no
  text object empty or blank (Slack rejects those too);
- all text in the blocks plus the fallback ``text`` at most
  ``MESSAGE_BUDGET`` (10,000) characters. Slack rejects some block messages
  whose total is far below what 50 blocks of 3,000 would allow (trouble is
  reported from about 12,000); the budget leaves room.

Lengths are counted in UTF-16 code units (``bot.text.fitting.width``),
which is never less than Python's ``len``: an emoji counts twice, so a
title full of them cannot slip past a limit that Slack counts that way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from bot.text.fitting import width

__all__ = [
    "ACTIONS_ELEMENT_LIMIT",
    "BLOCK_LIMIT",
    "BUTTON_TEXT_LIMIT",
    "BUTTON_VALUE_LIMIT",
    "CONTEXT_ELEMENT_LIMIT",
    "FALLBACK_LIMIT",
    "HEADER_LIMIT",
    "MESSAGE_BUDGET",
    "TEXT_LIMIT",
    "SlackLimitError",
    "SlackMessage",
    "check_message",
    "texts",
]

BLOCK_LIMIT = 50
TEXT_LIMIT = 3000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
CONTEXT_ELEMENT_LIMIT = 10
ACTIONS_ELEMENT_LIMIT = 25
MESSAGE_BUDGET = 10_000
# The notification line; ours is a header line, so this is generous.
FALLBACK_LIMIT = 300


class SlackLimitError(ValueError):
    """A message Slack would reject: too many blocks, text too long or empty."""


@dataclass(frozen=True, kw_only=True)
class SlackMessage:
    """One Slack message: fallback ``text`` plus validated Block Kit ``blocks``.

    ``text`` is the escaped plain line Slack shows in notifications and
    where blocks cannot be shown. ``paper_ids`` are the papers this message
    carries, in order, so an adapter that fails halfway through a digest can
    say which were posted (``bot.digest.deliver.PartlySent``).
    """

    text: str
    blocks: tuple[dict[str, Any], ...]
    paper_ids: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """The characters counted against ``MESSAGE_BUDGET``: all text plus ``text``."""
        return width(self.text) + sum(width(t) for t in texts(self.blocks))

    def post_message_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``WebClient.chat_postMessage`` (add ``channel``)."""
        return {
            "text": self.text,
            "blocks": [dict(block) for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


def texts(blocks: object) -> Iterator[str]:
    """Every text object's ``text`` in ``blocks``, depth first."""
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(blocks, (list, tuple)):
        for value in blocks:
            yield from texts(value)


def _text_objects(blocks: object) -> Iterator[dict[str, Any]]:
    if isinstance(blocks, dict):
        if blocks.get("type") in ("plain_text", "mrkdwn"):
            yield blocks
        for value in blocks.values():
            yield from _text_objects(value)
    elif isinstance(blocks, (list, tuple)):
        for value in blocks:
            yield from _text_objects(value)


def _block_problems(block: dict[str, Any]) -> Iterator[str]:
    kind = block.get("type")
    try:
        model = Block.parse(block)
        if model is None or model.to_dict() != block:
            yield f"{kind} block is not one slack_sdk builds"
            return
    except (SlackObjectFormationError, TypeError, AttributeError, KeyError) as exc:
        yield f"{kind} block: {exc}"
        return
    for obj in _text_objects(block):
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            yield f"{kind} block has an empty text"
        elif width(text) > TEXT_LIMIT:
            yield f"{kind} block has a text of {width(text)} > {TEXT_LIMIT}"
    if kind == "header" and width(block["text"]["text"]) > HEADER_LIMIT:
        yield f"header text over {HEADER_LIMIT}"
    elif kind == "context" and len(block["elements"]) > CONTEXT_ELEMENT_LIMIT:
        yield f"context block over {CONTEXT_ELEMENT_LIMIT} elements"
    elif kind == "actions":
        if len(block["elements"]) > ACTIONS_ELEMENT_LIMIT:
            yield f"actions block over {ACTIONS_ELEMENT_LIMIT} elements"
        for button in (e for e in block["elements"] if e.get("type") == "button"):
            if width(button["text"]["text"]) > BUTTON_TEXT_LIMIT:
                yield f"button label over {BUTTON_TEXT_LIMIT}"
            value = button.get("value", "")
            if not value or width(value) > BUTTON_VALUE_LIMIT:
                yield f"button value empty or over {BUTTON_VALUE_LIMIT}"


def check_message(message: SlackMessage) -> None:
    """Raise ``SlackLimitError`` unless Slack would accept ``message`` (module contract)."""
    problems: list[str] = []
    if not message.text.strip() or width(message.text) > FALLBACK_LIMIT:
        problems.append(f"fallback text empty or over {FALLBACK_LIMIT}")
    if not 1 <= len(message.blocks) <= BLOCK_LIMIT:
        problems.append(f"{len(message.blocks)} blocks, not 1 to {BLOCK_LIMIT}")
    for block in message.blocks:
        problems += _block_problems(block)
    if message.size > MESSAGE_BUDGET:
        problems.append(f"{message.size} characters > budget {MESSAGE_BUDGET}")
    if problems:
        raise SlackLimitError("; ".join(problems))
