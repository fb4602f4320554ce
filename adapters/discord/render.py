"""Discord rendering of the neutral messages (``bot.model.messages``): embeds, buttons, limits. No I/O.

``render_digest``, ``render_reply``, ``render_abstract`` and
``render_nothing_new`` (``render_message`` takes any) turn the core's
content into ``DiscordMessage`` values: ``content``, ``embeds`` as the JSON
objects Discord's API takes, the ``paper_ids`` carried and ``buttons`` as
plain data. Sending is the adapter's job (``send_kwargs()``, plus a view
it builds from ``buttons``). The contract, on top of ``bot.model.messages``':

- Every message MUST be one Discord accepts. discord.py checks no limits,
  so ``check_message`` does and every ``render_*`` runs it, raising
  ``DiscordLimitError`` here rather than a 400 halfway through a digest:
  content at most 2000 and not blank without embeds; at most 10 embeds,
  each one discord.py round-trips and none empty (title 256, description
  4096, 25 fields of name 256 and value 1024, footer 2048, author name
  256; an embed ``url`` only if ``safe_url`` passes it); all those texts
  together at most 6000; at most 5 rows of buttons, ``custom_id`` at most
  100 and unique in the message. Lengths count UTF-16 code units, never
  fewer than ``len``, so emoji cannot slip past however Discord counts.
- Layout. A digest's header is the first message's content, in bold, not
  an embed title: content is what notifications and channel previews show
  (an embed-only message notifies as nothing), it is outside the 6000
  embed characters, and it keeps each embed one paper. A paper's embed:
  title ``N. <title>`` linked to its URL when safe; description ``authors
  · date · category``, code links ``[owner/repo](url)`` or "Code announced
  (no link yet)", matched topics, snippet. The digest's footer is the last
  paper embed's footer: it shows at the bottom, costs no embed, renders no
  markdown (the ``/papers search <query>`` reads as typed) and is packed
  with the last paper, so never alone. An empty digest's header and footer
  are its content.
- Splitting. At most ``PAPERS_PER_MESSAGE`` (5) papers, 10 embeds and
  6000 embed characters a message; an embed is never split. A split
  digest's header ends "(1/n)"; later messages open "… continued (k/n)".
  A field too long alone is shortened with "…" to a cap chosen so any one
  paper embed, footer included, fits a message. Long text is cut at a line
  break or space where it can: a reply's text over successive messages'
  content, an abstract over successive embeds' descriptions.
- Buttons. Discord draws all buttons below all embeds, at most 5 rows of
  5. Each paper gets its own row, "N. Abstract" and "N. More like this",
  whose N matches its embed title's, since a row sits far from its embed:
  hence 5 papers a message. (Two papers a row would halve the messages but
  crowd four look-alike buttons into a row.) ``custom_id`` is
  ``digestbot:abstract:<paper_id>`` or ``digestbot:like:<paper_id>``, the
  raw id (never shown, so never escaped), parsed by ``CUSTOM_ID_TEMPLATE``
  so an adapter's ``DynamicItem`` keeps working after a restart. No
  buttons for an id that is blank, holds a control character or line
  break (the template's ``.`` stops at a newline), makes a ``custom_id``
  over 100, or already has buttons in the message.
- Mentions. ``send_kwargs`` always carries ``AllowedMentions.none()``
  (``NO_MENTIONS`` for a client's default), and text is escaped besides.
- Escaping. Every untrusted string (title, authors, date, category,
  topics, snippet, code label, header and footer, a reply's text, an
  abstract) goes through ``adapters.discord.markdown``: escaped as
  markdown where Discord renders it (content, title, description), with
  links and invites broken too in content, the only place Discord unfurls
  them; footers render no markdown and get only the mention guards. That
  module's docstring says what escaping guarantees.
- Links are only ones we build (a paper's embed ``url``, ``[label](url)``
  for code) and only to what ``safe_url`` passes; otherwise the label
  alone shows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import discord

from adapters.discord.markdown import (
    chunks,
    clean_line,
    escape,
    fit,
    inline,
    link,
    link_label,
    pieces,
    plain,
    safe_url,
    width,
)
from bot.model.messages import Digest, NothingNew, PaperItem, Reply

__all__ = [
    "ACTION_ROW_LIMIT",
    "CONTENT_LIMIT",
    "CUSTOM_ID_LIMIT",
    "CUSTOM_ID_TEMPLATE",
    "EMBED_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "NO_MENTIONS",
    "PAPERS_PER_MESSAGE",
    "ButtonKind",
    "DiscordLimitError",
    "DiscordMessage",
    "PaperButtons",
    "check_message",
    "custom_id",
    "escape",
    "render_abstract",
    "render_digest",
    "render_message",
    "render_nothing_new",
    "render_reply",
    "safe_url",
    "width",
]

log = logging.getLogger(__name__)

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
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
PAPERS_PER_MESSAGE = ACTION_ROW_LIMIT

ButtonKind = Literal["abstract", "like"]
CUSTOM_ID_TEMPLATE = r"digestbot:(?P<kind>abstract|like):(?P<paper_id>.+)"

# Mutable, like every AllowedMentions: send_kwargs builds its own each time
# so that no one's change to this shared value can turn pings back on.
NO_MENTIONS = discord.AllowedMentions.none()

# Per-field caps, in escaped characters. With the markup around them a
# paper's description stays under 2,500 characters and its whole embed,
# title and digest footer included, under 3,800: any one paper fits a
# message (a test fills every field).
_HEADER_CAP = 500
_AUTHORS_CAP = 300
_DATE_CAP = 40
_CATEGORY_CAP = 80
_CODE_LINE_CAP = 1000
_CODE_LABEL_CAP = 100
_TOPICS_CAP = 300
_SNIPPET_CAP = 700
_FOOTER_CAP = 1000
# Reply text per message, leaving room for a "… continued (k/n)" line.
_TEXT_CHUNK = CONTENT_LIMIT - 50
# Two abstract chunks nearly fill a message's 6,000 embed characters.
_ABSTRACT_CHUNK = 2900

_COLOR = 0x3B6EA8
# Feeds wrap abstracts inside a paragraph; only a blank line ends one.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_ID_UNFIT = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_TEMPLATE = re.compile(CUSTOM_ID_TEMPLATE)


class DiscordLimitError(ValueError):
    """A message Discord would reject: too long, too many embeds or buttons, or empty."""


@dataclass(frozen=True, kw_only=True)
class PaperButtons:
    """One paper's row of buttons, "N. Abstract" and "N. More like this", as plain data.

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
        return sum(width(text) for embed in self.embeds for text in _counted(embed))

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send`` and friends (add ``view``)."""
        return {
            "content": self.content or None,
            "embeds": [discord.Embed.from_dict(dict(embed)) for embed in self.embeds],
            "allowed_mentions": discord.AllowedMentions.none(),
        }


# -- buttons ------------------------------------------------------------------


def custom_id(kind: ButtonKind, paper_id: str) -> str | None:
    """``digestbot:<kind>:<paper_id>``, or None when that cannot be a ``custom_id``."""
    if not paper_id.strip() or _ID_UNFIT.search(paper_id):
        return None
    value = f"digestbot:{kind}:{paper_id}"
    return value if width(value) <= CUSTOM_ID_LIMIT else None


# -- embeds -------------------------------------------------------------------


def _embed(
    *, title: str = "", url: str | None = None, description: str = "", footer: str = ""
) -> dict[str, Any]:
    embed: dict[str, Any] = {"color": _COLOR}
    if title:
        embed["title"] = title
        if url:
            embed["url"] = url
    if description:
        embed["description"] = description
    if footer:
        embed["footer"] = {"text": footer}
    return embed


def _title(item: PaperItem, number: int) -> str:
    prefix = [f"{number}. "] if number else []
    title = clean_line(item.title) or "(untitled)"
    return fit(prefix + pieces(title[: TITLE_LIMIT + 1]), TITLE_LIMIT)


def _meta_line(item: PaperItem) -> str:
    authors = inline(item.authors, _AUTHORS_CAP, default="unknown authors")
    date = inline(item.date, _DATE_CAP, default="undated")
    category = inline(item.category, _CATEGORY_CAP, default="uncategorized")
    return f"{authors} · {date} · {category}"


def _code_line(item: PaperItem) -> str | None:
    if not item.code_links:
        return "Code announced (no link yet)" if item.code_announced else None
    prefix = "Code: "
    # Room for " and 99999 more" whatever is left out.
    room = _CODE_LINE_CAP - len(prefix) - 20
    links: list[str] = []
    for code in item.code_links:
        label = link_label(code.label, _CODE_LABEL_CAP)
        label = label or link_label(code.url, _CODE_LABEL_CAP) or "code"
        shown = link(safe_url(code.url), label)
        if links and width(", ".join([*links, shown])) > room:
            break
        links.append(shown)
    rest = len(item.code_links) - len(links)
    return prefix + ", ".join(links) + (f" and {rest} more" if rest else "")


def _topics_line(matched: Sequence[str]) -> str | None:
    parts: list[str] = []
    for topic in filter(None, (clean_line(t)[: _TOPICS_CAP + 1] for t in matched)):
        parts += ["; "] if parts else []
        parts += pieces(topic)
    prefix = "Matched: "
    return prefix + fit(parts, _TOPICS_CAP - len(prefix)) if parts else None


def _paper_embed(
    item: PaperItem, number: int, *, matched: Sequence[str] = (), footer: str = ""
) -> dict[str, Any]:
    lines = [
        _meta_line(item),
        _code_line(item),
        _topics_line(matched),
        inline(item.snippet, _SNIPPET_CAP),
    ]
    return _embed(
        title=_title(item, number),
        url=safe_url(item.url),
        description="\n".join(line for line in lines if line),
        footer=footer,
    )


# -- packing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One embed, and the paper it shows (None for an abstract's continuation)."""

    embed: dict[str, Any]
    paper_id: str | None = None
    number: int = 0


def _pack(parts: Iterable[_Part]) -> list[list[_Part]]:
    """Parts grouped into messages, in order, each group within the limits."""
    groups: list[list[_Part]] = []
    used = 0
    for part in parts:
        size = sum(width(text) for text in _counted(part.embed))
        group = groups[-1] if groups else None
        papers = sum(p.paper_id is not None for p in group or ())
        if (
            group is None
            or len(group) >= EMBED_LIMIT
            or used + size > EMBED_TOTAL_LIMIT
            or (part.paper_id is not None and papers >= PAPERS_PER_MESSAGE)
        ):
            groups.append([])
            used = 0
        groups[-1].append(part)
        used += size
    return groups


def _buttons(parts: Sequence[_Part]) -> tuple[PaperButtons, ...]:
    rows: list[PaperButtons] = []
    for part in parts:
        paper_id = part.paper_id
        if paper_id is None or not part.number:
            continue  # an abstract's embed has no buttons
        if any(b.paper_id == paper_id for b in rows):
            continue  # custom_ids must be unique within a message
        if custom_id("abstract", paper_id) is None:
            log.warning("paper id %.40r... cannot be a custom_id; no buttons", paper_id)
            continue
        rows.append(PaperButtons(paper_id=paper_id, row=len(rows), number=part.number))
    return tuple(rows)


def _assemble(
    drafts: Sequence[tuple[str, Sequence[_Part]]], head: Callable[[int, int], str]
) -> list[DiscordMessage]:
    """Messages from (text, parts) drafts; ``head(k, n)`` opens message k of n."""
    messages = []
    for number, (text, parts) in enumerate(drafts, start=1):
        message = DiscordMessage(
            content="\n".join(filter(None, (head(number, len(drafts)), text))),
            embeds=tuple(part.embed for part in parts),
            paper_ids=tuple(p.paper_id for p in parts if p.paper_id is not None),
            buttons=_buttons(parts),
        )
        check_message(message)
        messages.append(message)
    return messages


def _continued(number: int, total: int) -> str:
    return "" if number == 1 else f"… continued ({number}/{total})"


def _item_parts(
    items: Sequence[PaperItem],
    *,
    matched: Sequence[tuple[str, ...]] | None = None,
    footer: str = "",
) -> list[_Part]:
    """One part per item, numbered from 1; the last carries ``footer``.

    ``matched[i]`` are the topics ``items[i]`` matched, for a digest.
    """
    last = len(items)
    topics = matched if matched is not None else [()] * last
    return [
        _Part(
            _paper_embed(item, n, matched=item_topics, footer=footer if n == last else ""),
            item.paper_id,
            n,
        )
        for n, (item, item_topics) in enumerate(zip(items, topics, strict=True), start=1)
    ]


# -- public renderers ---------------------------------------------------------


def render_digest(digest: Digest) -> list[DiscordMessage]:
    """A digest: the header as content, one embed per paper, the footer last.

    One message when it fits, else several; the first's header ends in
    "(1/n)", the others open with "… continued (k/n)".
    """
    footer = plain(digest.footer, _FOOTER_CAP) if digest.footer is not None else ""
    parts = _item_parts(digest.items, matched=digest.matched_topics, footer=footer)
    drafts: list[tuple[str, Sequence[_Part]]] = [("", group) for group in _pack(parts)]
    if not drafts:
        text = inline(digest.footer, _FOOTER_CAP, content=True) if digest.footer else ""
        drafts = [(text, ())]
    header = inline(digest.header, _HEADER_CAP, default="New papers", content=True)

    def head(number: int, total: int) -> str:
        if number > 1:
            return _continued(number, total)
        return f"**{header}**" + (f" (1/{total})" if total > 1 else "")

    return _assemble(drafts, head)


def render_reply(reply: Reply) -> list[DiscordMessage]:
    """A command's answer: its text as content (over several messages if long), then its items.

    The items' embeds and buttons follow the last piece of text, at most
    ``PAPERS_PER_MESSAGE`` to a message. Whether to answer ephemerally is
    ``reply.ephemeral``, the adapter's call.
    """
    drafts: list[tuple[str, Sequence[_Part]]] = [
        (chunk, ()) for chunk in chunks(reply.text, _TEXT_CHUNK, content=True)
    ]
    groups = _pack(_item_parts(reply.items)) if reply.items else []
    if drafts and groups:
        drafts[-1] = (drafts[-1][0], groups.pop(0))
    drafts += [("", group) for group in groups]
    return _assemble(drafts or [("(empty reply)", ())], _continued)


def render_abstract(item: PaperItem, abstract: str) -> list[DiscordMessage]:
    """The answer to an "Abstract" button: the paper's embed with the abstract in it.

    The first embed has the title, link and ``authors · date · category``;
    the abstract follows in its description and, when long, in further
    embeds and messages, never cut short. Line wraps inside a paragraph are
    joined (feeds wrap abstracts at about 80 columns); paragraphs stay apart.
    """
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(abstract))
    # Text of control characters alone cleans to nothing: say so rather than show nothing.
    texts = chunks("\n\n".join(p for p in paragraphs if p), _ABSTRACT_CHUNK) or ["(no abstract)"]
    first = _embed(
        title=_title(item, 0),
        url=safe_url(item.url),
        description=f"{_meta_line(item)}\n\n{texts[0]}",
    )
    parts = [_Part(first, item.paper_id)]
    parts += [_Part(_embed(description=text)) for text in texts[1:]]
    return _assemble([("", group) for group in _pack(parts)], _continued)


def render_nothing_new(message: NothingNew) -> DiscordMessage:
    """The quiet-day line, as one small message."""
    text = inline(message.text, CONTENT_LIMIT, content=True)
    [discord_message] = _assemble([(text, ())], _continued)
    return discord_message


def render_message(message: Digest | NothingNew | Reply) -> list[DiscordMessage]:
    """Any neutral message as the Discord messages that show it, in sending order."""
    if isinstance(message, Digest):
        return render_digest(message)
    if isinstance(message, NothingNew):
        return [render_nothing_new(message)]
    return render_reply(message)


# -- validation ---------------------------------------------------------------


def _counted(embed: dict[str, Any]) -> Iterator[str]:
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
    ids = [i for b in message.buttons for i in (b.abstract_custom_id, b.like_custom_id)]
    if len(set(ids)) != len(ids):
        yield "custom_ids repeat within the message"
    for button in message.buttons:
        if button.paper_id not in message.paper_ids:
            yield f"buttons for {button.paper_id[:40]!r}, a paper not in the message"
        pairs: tuple[tuple[ButtonKind, str], ...] = (
            ("abstract", button.abstract_custom_id),
            ("like", button.like_custom_id),
        )
        for kind, value in pairs:
            match = _TEMPLATE.match(value)
            if width(value) > CUSTOM_ID_LIMIT or value != custom_id(kind, button.paper_id):
                yield f"custom_id {value[:40]!r}... over {CUSTOM_ID_LIMIT} or malformed"
            elif match is None or match["paper_id"] != button.paper_id:
                yield f"custom_id {value[:40]!r}... does not parse back to its paper id"
        if max(width(button.abstract_label), width(button.like_label)) > BUTTON_LABEL_LIMIT:
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
