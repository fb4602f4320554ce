"""A Discord message, its buttons as data, and the limits it must keep to be sent. No I/O.

``DiscordMessage`` is what ``adapters.discord.render`` makes: ``content``,
``embeds`` as the JSON objects Discord's API takes, the ``paper_ids``
carried and ``buttons`` as plain data (``PaperButtons``). Every message
MUST be one Discord accepts. discord.py checks no limits, so
``check_message`` does and every renderer runs it, raising
``DiscordLimitError`` here rather than a 400 halfway through a digest:
content at most 2000 and not blank without embeds; at most 10 embeds, each
one discord.py round-trips and none empty (title 256, description 4096, 25
fields of name 256 and value 1024, footer 2048, author name 256; an embed
``url`` only if ``safe_url`` passes it); all those texts together at most
6000; at most 5 rows of buttons and 5 buttons a row, ``custom_id`` at most
100 and unique in the message. Lengths count UTF-16 code units (``bot.text.fitting.width``),
never fewer than ``len``, so emoji cannot slip past however Discord counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import discord

from adapters.discord.markdown import safe_url
from bot.text.fitting import width

__all__ = [
    "ACTION_ROW_LIMIT",
    "AUTHOR_NAME_LIMIT",
    "BUTTON_KINDS",
    "BUTTON_LABELS",
    "BUTTON_LABEL_LIMIT",
    "BUTTONS_PER_ROW_LIMIT",
    "BUTTON_VERBS",
    "CONTENT_LIMIT",
    "CUSTOM_ID_LIMIT",
    "CUSTOM_ID_TEMPLATE",
    "DESCRIPTION_LIMIT",
    "EMBED_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "FIELD_COUNT_LIMIT",
    "FIELD_NAME_LIMIT",
    "FIELD_VALUE_LIMIT",
    "FOOTER_LIMIT",
    "NO_MENTIONS",
    "PAPERS_PER_MESSAGE",
    "TITLE_LIMIT",
    "ButtonKind",
    "DiscordLimitError",
    "DiscordMessage",
    "PaperButtons",
    "check_message",
    "counted",
    "custom_id",
]

CONTENT_LIMIT = 2000
EMBED_LIMIT = 10
EMBED_TOTAL_LIMIT = 6000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
ACTION_ROW_LIMIT = 5
BUTTONS_PER_ROW_LIMIT = 5
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
PAPERS_PER_MESSAGE = ACTION_ROW_LIMIT

ButtonKind = Literal["abstract", "like", "up", "down", "save"]
# Kinds are only ever added: a posted message's buttons name theirs for good.
CUSTOM_ID_TEMPLATE = r"digestbot:(?P<kind>abstract|like|up|down|save):(?P<paper_id>.+)"
# Each button, in its row's order, with its label and the command it stands for.
# Five fill a row (BUTTONS_PER_ROW_LIMIT): a sixth control needs another layout.
BUTTON_KINDS: tuple[ButtonKind, ...] = ("abstract", "like", "up", "down", "save")
BUTTON_LABELS: dict[str, str] = {"abstract": "Abstract", "like": "More like this",
                                 "up": "👍 Relevant", "down": "👎 Not for us", "save": "Save"}
BUTTON_VERBS: dict[str, str] = {"abstract": "show", "like": "like", "up": "more", "down": "less",
                                "save": "save"}

# Mutable, like every AllowedMentions: send_kwargs builds its own each time
# so that no one's change to this shared value can turn pings back on.
NO_MENTIONS = discord.AllowedMentions.none()

# A line break would stop the template's "." short of the whole id.
_ID_UNFIT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_TEMPLATE = re.compile(CUSTOM_ID_TEMPLATE)


class DiscordLimitError(ValueError):
    """A message Discord would reject: too long, too many embeds or buttons, or empty."""


@dataclass(frozen=True, kw_only=True)
class PaperButtons:
    """One paper's row of buttons, "N. Abstract", "N. More like this", "N. 👍 Relevant",
    "N. 👎 Not for us" and "N. Save", as plain data.

    ``row`` is the action row (0 to 4); ``number`` is the paper's place in
    the digest or reply, the ``N.`` its embed title starts with.
    """

    paper_id: str
    row: int
    number: int

    @property
    def abstract_custom_id(self) -> str:
        return f"digestbot:abstract:{self.paper_id}"

    @property
    def like_custom_id(self) -> str:
        return f"digestbot:like:{self.paper_id}"

    @property
    def abstract_label(self) -> str:
        return f"{self.number}. Abstract"

    @property
    def like_label(self) -> str:
        return f"{self.number}. More like this"

    def each(self) -> tuple[tuple[ButtonKind, str, str], ...]:
        """Every button of the row: (kind, custom_id, label), in order."""
        return tuple((kind, f"digestbot:{kind}:{self.paper_id}",
                      f"{self.number}. {BUTTON_LABELS[kind]}") for kind in BUTTON_KINDS)


@dataclass(frozen=True, kw_only=True)
class DiscordMessage:
    """One Discord message: ``content``, ``embeds`` as API JSON objects, and buttons.

    ``paper_ids`` are the papers this message carries, in order, so an
    adapter that fails halfway through a digest can say which were posted.
    ``buttons`` are one row per paper, for the adapter to build a view of
    (``DynamicItem`` buttons with ``PaperButtons``' labels, custom_ids, rows).
    Embeds are plain dicts, like Slack's blocks: comparable, printable and
    exactly what is sent; ``send_kwargs`` makes ``discord.Embed`` of them.
    """

    content: str
    embeds: tuple[dict[str, Any], ...] = ()
    paper_ids: tuple[str, ...] = ()
    buttons: tuple[PaperButtons, ...] = ()

    @property
    def size(self) -> int:
        """The embed characters counted against ``EMBED_TOTAL_LIMIT``."""
        return sum(width(text) for embed in self.embeds for text in counted(embed))

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send`` and friends (add ``view``)."""
        return {
            "content": self.content or None,
            "embeds": [discord.Embed.from_dict(dict(embed)) for embed in self.embeds],
            "allowed_mentions": discord.AllowedMentions.none(),
        }


def custom_id(kind: ButtonKind, paper_id: str) -> str | None:
    """``digestbot:<kind>:<paper_id>``, or None when that cannot be a ``custom_id``."""
    if not paper_id.strip() or _ID_UNFIT.search(paper_id):
        return None
    value = f"digestbot:{kind}:{paper_id}"
    return value if width(value) <= CUSTOM_ID_LIMIT else None


def counted(embed: dict[str, Any]) -> Iterator[str]:
    """The texts of ``embed`` that count against ``EMBED_TOTAL_LIMIT``."""
    for key in ("title", "description"):
        if isinstance(embed.get(key), str):
            yield embed[key]
    for field in embed.get("fields") or ():
        yield from (field.get(k) or "" for k in ("name", "value"))
    for key in ("footer", "author"):
        part = embed.get(key)
        if isinstance(part, dict):
            yield part.get("text" if key == "footer" else "name") or ""


def _embed_problems(embed: dict[str, Any]) -> Iterator[str]:
    try:
        round_trip = discord.Embed.from_dict(dict(embed)).to_dict()
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        yield f"embed discord.py cannot read: {exc}"
        return
    round_trip.pop("flags", None)
    if round_trip != embed:
        yield "embed with keys or values discord.py does not keep"
    texts = [
        ("title", embed.get("title"), TITLE_LIMIT),
        ("description", embed.get("description"), DESCRIPTION_LIMIT),
        ("footer", (embed.get("footer") or {}).get("text"), FOOTER_LIMIT),
        ("author name", (embed.get("author") or {}).get("name"), AUTHOR_NAME_LIMIT),
    ]
    fields = embed.get("fields") or []
    if len(fields) > FIELD_COUNT_LIMIT:
        yield f"{len(fields)} fields > {FIELD_COUNT_LIMIT}"
    for field in fields:
        texts.append(("field name", field.get("name") or "", FIELD_NAME_LIMIT))
        texts.append(("field value", field.get("value") or "", FIELD_VALUE_LIMIT))
    if not any(text for _, text, _ in texts):
        yield "embed with no text"
    for name, text, limit in texts:
        if text is None:
            continue
        if not isinstance(text, str) or not text.strip():
            yield f"{name} empty"
        elif width(text) > limit:
            yield f"{name} of {width(text)} > {limit}"
    if "url" in embed and safe_url(embed["url"]) != embed["url"]:
        yield f"embed url {str(embed['url'])[:60]!r} is not one we link"


def _button_problems(message: DiscordMessage) -> Iterator[str]:
    if len(message.buttons) > ACTION_ROW_LIMIT:
        yield f"{len(message.buttons)} rows of buttons > {ACTION_ROW_LIMIT}"
    rows = [b.row for b in message.buttons]
    if len(set(rows)) != len(rows) or not all(0 <= r < ACTION_ROW_LIMIT for r in rows):
        yield f"button rows {rows} not distinct rows 0 to {ACTION_ROW_LIMIT - 1}"
    ids = [value for b in message.buttons for _, value, _ in b.each()]
    if len(set(ids)) != len(ids):
        yield "custom_ids repeat within the message"
    for button in message.buttons:
        if len(button.each()) > BUTTONS_PER_ROW_LIMIT:
            yield f"{len(button.each())} buttons in a row > {BUTTONS_PER_ROW_LIMIT}"
        if button.paper_id not in message.paper_ids:
            yield f"buttons for {button.paper_id[:40]!r}, a paper not in the message"
        for kind, value, label in button.each():
            match = _TEMPLATE.match(value)
            if width(value) > CUSTOM_ID_LIMIT or value != custom_id(kind, button.paper_id):
                yield f"custom_id {value[:40]!r}... over {CUSTOM_ID_LIMIT} or malformed"
            elif match is None or match["paper_id"] != button.paper_id:
                yield f"custom_id {value[:40]!r}... does not parse back to its paper id"
            if width(label) > BUTTON_LABEL_LIMIT:
                yield f"button label over {BUTTON_LABEL_LIMIT}"


def check_message(message: DiscordMessage) -> None:
    """Raise ``DiscordLimitError`` unless Discord would accept ``message`` (module contract)."""
    problems: list[str] = []
    if width(message.content) > CONTENT_LIMIT:
        problems.append(f"content of {width(message.content)} > {CONTENT_LIMIT}")
    if not message.content.strip() and not message.embeds:
        problems.append("neither content nor embeds")
    if len(message.embeds) > EMBED_LIMIT:
        problems.append(f"{len(message.embeds)} embeds > {EMBED_LIMIT}")
    for embed in message.embeds:
        problems += _embed_problems(embed)
    if message.size > EMBED_TOTAL_LIMIT:
        problems.append(f"{message.size} embed characters > {EMBED_TOTAL_LIMIT}")
    problems += _button_problems(message)
    if problems:
        raise DiscordLimitError("; ".join(problems))
