"""Discord rendering of the neutral messages (``bot.model.messages``): embeds, buttons, limits. No I/O.

``render_digest``, ``render_reply``, ``render_abstract`` and
``render_nothing_new`` (``render_message`` takes any) turn the core's
content into ``DiscordMessage`` values: ``content``, ``embeds`` as the JSON
objects Discord's API takes, the ``paper_ids`` carried and ``buttons`` as
plain data. Sending is the adapter's job (``send_kwargs()``, plus a view
it builds from ``buttons``). The contract, on top of ``bot.model.messages``':

- Every message MUST be one Discord accepts: ``adapters.discord.message``
  says what that means (lengths in UTF-16 code units, embeds, buttons) and
  every ``render_*`` runs its ``check_message`` before returning.
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
  are its content. A digest's suggested papers (``Digest.suggested``, its
  last items) show their reason where matched topics would be, and the
  first of them has ``SUGGESTED_HEADING`` as its embed's author line, just
  above its title: the heading comes once, in the message they begin in,
  beside the papers it is about (content would show it above all the
  message's embeds).
- Splitting. At most ``PAPERS_PER_MESSAGE`` (5) papers, 10 embeds and
  6000 embed characters a message; an embed is never split. A split
  digest's header ends "(1/n)"; later messages open "… continued (k/n)".
  A field too long alone is shortened with "…" to a cap chosen so any one
  paper embed, footer included, fits a message. Long text is cut at a line
  break or space where it can: a reply's text over successive messages'
  content, an abstract over successive embeds' descriptions.
- Buttons. Discord draws all buttons below all embeds, at most 5 rows of
  5. Each paper gets its own row, "N. Abstract", "N. More like this",
  "N. 👍 Relevant", "N. 👎 Not for us" and "N. Save", whose N matches its
  embed title's, since a row sits far from its embed: hence 5 papers a
  message, and 5 rows of 5 buttons is all a message can carry, so every
  paper keeps every control without a second message. ``custom_id`` is
  ``digestbot:<kind>:<paper_id>`` (``abstract``, ``like``, ``up``,
  ``down``, ``save``), the raw id (never shown, so never escaped), parsed
  by ``CUSTOM_ID_TEMPLATE`` so an adapter's ``DynamicItem`` keeps working
  after a restart. No buttons for an id that is blank, holds a control
  character or line break (the template's ``.`` stops at a newline), or
  makes any kind's ``custom_id`` over 100: such a paper shows without
  controls, and ``/papers save ID`` still saves it. A paper twice in one
  message has one row, under its first embed's number.
- Mentions. ``send_kwargs`` always carries ``AllowedMentions.none()``
  (``NO_MENTIONS`` for a client's default), and text is escaped besides.
- Escaping. Every untrusted string (title, authors, date, category,
  topics, snippet, code label, a suggestion's reason, header and footer,
  a reply's text, an abstract) goes through ``adapters.discord.markdown``:
  escaped as markdown where Discord renders it (content, title,
  description), with links and invites broken too in content, the only
  place Discord unfurls them; footers and author lines render no markdown
  and get only the mention guards. That
  module's docstring says what escaping guarantees.
- Links are only ones we build (a paper's embed ``url``, ``[label](url)``
  for code) and only to what ``safe_url`` passes; otherwise the label
  alone shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.discord.markdown import chunks, inline, link, link_label, pieces, plain, safe_url
from adapters.discord.message import (
    AUTHOR_NAME_LIMIT,
    BUTTON_KINDS,
    CONTENT_LIMIT,
    CUSTOM_ID_TEMPLATE,
    EMBED_LIMIT,
    EMBED_TOTAL_LIMIT,
    NO_MENTIONS,
    PAPERS_PER_MESSAGE,
    TITLE_LIMIT,
    DiscordMessage,
    PaperButtons,
    check_message,
    counted,
    custom_id,
)
from bot.model.messages import SUGGESTED_HEADING, CodeLink, Digest, NothingNew, PaperItem, Reply
from bot.text.fitting import clean_line, fit, pack, unwrap, width
from bot.text.layout import by_kind, code_line, continued, meta_line, topics_line

__all__ = [
    "render_abstract",
    "render_digest",
    "render_message",
    "render_nothing_new",
    "render_reply",
    # From adapters.discord.message: what every renderer returns, and what
    # an adapter needs to send it and to route its buttons back.
    "CUSTOM_ID_TEMPLATE",
    "NO_MENTIONS",
    "DiscordMessage",
]

log = logging.getLogger(__name__)

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
# A suggested paper's reason takes the line its topics would (it matched
# none), within the same cap, so the bounds above hold for it too.
_REASON_CAP = _TOPICS_CAP
# Reply text per message, leaving room for a "… continued (k/n)" line.
_TEXT_CHUNK = CONTENT_LIMIT - 50
# Two abstract chunks nearly fill a message's 6,000 embed characters.
_ABSTRACT_CHUNK = 2900

_COLOR = 0x3B6EA8


# -- embeds -------------------------------------------------------------------


def _embed(
    *,
    title: str = "",
    url: str | None = None,
    description: str = "",
    footer: str = "",
    author: str = "",
) -> dict[str, Any]:
    embed: dict[str, Any] = {"color": _COLOR}
    if author:
        embed["author"] = {"name": author}
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
    return meta_line(
        item, inline, authors_cap=_AUTHORS_CAP, date_cap=_DATE_CAP, category_cap=_CATEGORY_CAP
    )


def _code_link(code: CodeLink) -> str:
    label = link_label(code.label, _CODE_LABEL_CAP)
    label = label or link_label(code.url, _CODE_LABEL_CAP) or "code"
    return link(safe_url(code.url), label)


def _paper_embed(
    item: PaperItem,
    number: int,
    *,
    matched: Sequence[str] = (),
    footer: str = "",
    because: str | None = None,
    heading: str = "",
) -> dict[str, Any]:
    """``item``'s embed; ``because`` (why the taste suggests it) replaces ``matched``."""
    lines = [
        _meta_line(item),
        code_line(item, _code_link, cap=_CODE_LINE_CAP),
        inline(because, _REASON_CAP) if because else topics_line(matched, pieces, cap=_TOPICS_CAP),
        inline(item.snippet, _SNIPPET_CAP),
    ]
    return _embed(
        title=_title(item, number),
        url=safe_url(item.url),
        description="\n".join(line for line in lines if line),
        footer=footer,
        author=heading,
    )


# -- packing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One embed, and the paper it shows (None for an abstract's continuation)."""

    embed: dict[str, Any]
    paper_id: str | None = None
    number: int = 0


def _cost(previous: _Part | None, part: _Part) -> tuple[int, int, int]:
    """The embeds, embed characters and papers ``part`` adds to a message."""
    return 1, sum(width(text) for text in counted(part.embed)), int(part.paper_id is not None)


def _pack(parts: Iterable[_Part]) -> list[list[_Part]]:
    """Parts grouped into messages, in order, each group within the limits."""
    return pack(parts, _cost, (EMBED_LIMIT, EMBED_TOTAL_LIMIT, PAPERS_PER_MESSAGE))


def _buttons(parts: Sequence[_Part]) -> tuple[PaperButtons, ...]:
    rows: list[PaperButtons] = []
    for part in parts:
        paper_id = part.paper_id
        if paper_id is None or not part.number:
            continue  # an abstract's embed has no buttons
        if any(b.paper_id == paper_id for b in rows):
            continue  # custom_ids must be unique within a message
        if any(custom_id(kind, paper_id) is None for kind in BUTTON_KINDS):
            # All or none: a row missing some controls would be a puzzle.
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
    return "" if number == 1 else continued(number, total)


def _item_parts(
    items: Sequence[PaperItem],
    *,
    matched: Sequence[tuple[str, ...]] | None = None,
    footer: str = "",
    reasons: Sequence[str | None] = (),
) -> list[_Part]:
    """One part per item, numbered from 1; the last carries ``footer``.

    ``matched[i]`` are the topics ``items[i]`` matched, for a digest.
    ``reasons`` are why the taste suggests the last ``len(reasons)`` items,
    a digest's suggested ones: each shows its reason, the first under
    ``SUGGESTED_HEADING``.
    """
    last = len(items)
    topics = matched if matched is not None else [()] * last
    first = max(last - len(reasons), 0) + 1
    parts = []
    for n, (item, item_topics) in enumerate(zip(items, topics, strict=True), start=1):
        embed = _paper_embed(
            item,
            n,
            matched=item_topics,
            footer=footer if n == last else "",
            because=reasons[n - first] if n >= first else None,
            heading=plain(SUGGESTED_HEADING, AUTHOR_NAME_LIMIT) if n == first else "",
        )
        parts.append(_Part(embed, item.paper_id, n))
    return parts


# -- public renderers ---------------------------------------------------------


def render_digest(digest: Digest) -> list[DiscordMessage]:
    """A digest: the header as content, one embed per paper, the footer last.

    One message when it fits, else several; the first's header ends in
    "(1/n)", the others open with "… continued (k/n)". The suggested
    papers, last, each show their reason, the first under the heading.
    """
    footer = plain(digest.footer, _FOOTER_CAP) if digest.footer is not None else ""
    suggested = digest.items[max(len(digest.items) - len(digest.suggested), 0) :]
    parts = _item_parts(
        digest.items,
        matched=digest.matched_topics,
        footer=footer,
        reasons=[digest.reason_for(item.paper_id) for item in suggested],
    )
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
    embeds and messages, never cut short, its paragraphs unwrapped
    (``bot.text.fitting.unwrap``).
    """
    # Text of control characters alone cleans to nothing: say so rather than show nothing.
    texts = chunks(unwrap(abstract), _ABSTRACT_CHUNK) or ["(no abstract)"]
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
    return by_kind(message, digest=render_digest, nothing_new=_quiet_day, reply=render_reply)


def _quiet_day(message: NothingNew) -> list[DiscordMessage]:
    return [render_nothing_new(message)]
