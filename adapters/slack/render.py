"""Block Kit rendering of the neutral messages (``bot.messages``) for Slack. No I/O.

``render_digest``, ``render_reply``, ``render_nothing_new`` and
``render_abstract`` turn the core's content into ``SlackMessage`` values:
the ``text`` and ``blocks`` of ``chat.postMessage`` (or of an ephemeral post
or a ``response_url`` answer). ``text`` is the fallback Slack shows in
notifications: the header or first line, escaped. Posting is the adapter's
job.

The contract, on top of the one every renderer follows (``bot.messages``):

- Every message MUST be one Slack accepts. ``check_message`` enforces it
  and every ``render_*`` function runs it before returning, so a renderer
  bug raises ``SlackLimitError`` here instead of an ``invalid_blocks`` error
  at post time. Each block is built with slack_sdk's models (whose
  ``to_dict`` checks their own limits) and checked again by us:

  * at most ``BLOCK_LIMIT`` (50) blocks a message;
  * a header's text at most ``HEADER_LIMIT`` (150) characters, a section's
    or any other text object's at most ``TEXT_LIMIT`` (3000), a button's
    label at most 75, a button's value at most ``BUTTON_VALUE_LIMIT`` (2000);
    no text object empty or blank (Slack rejects those too);
  * all text in the blocks plus the fallback ``text`` at most
    ``MESSAGE_BUDGET`` (10,000) characters. Slack rejects some block
    messages whose total is far below what 50 blocks of 3,000 would allow
    (trouble is reported from about 12,000); the budget leaves room.

  Lengths are counted in UTF-16 code units, which is never less than
  Python's ``len``: an emoji counts twice, so a title full of them cannot
  slip past a limit that Slack counts that way.
- A long digest or reply continues in further messages; a ``PaperItem``
  (its section and its buttons) is never split between two. Continuation
  messages start with "… continued (2/3)". A field too long on its own is
  shortened with "…" to a per-field cap chosen so that one item's section
  always fits ``TEXT_LIMIT``; long free text (a 10,000-character abstract)
  is split into several sections, at a line break or space where it can.
- Every untrusted string (title, authors, date, category, topics, snippet,
  code-link label, the header and footer built from them, a reply's text
  with its user queries, an abstract) goes through ``escape`` for mrkdwn,
  or through its plain-text twin for header blocks:

  * ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;``: with no raw
    ``<``, untrusted text cannot write ``<!channel>``, ``<@U123>``,
    ``<#C123>`` or a disguised ``<https://evil|arxiv.org>`` link;
  * mrkdwn markers have no escape in Slack, so ``*``, ``_``, ``~`` and
    backticks (and their full-width forms) become look-alike characters,
    and a ``>`` that starts a line (a block quote) gets an invisible soft
    hyphen in front (plain_text headers need neither);
  * ``@`` is followed by an invisible word joiner, and every mrkdwn object
    is ``verbatim``, so a bare ``@channel`` or ``#general`` is never turned
    into a mention or a channel link;
  * control characters and bidirectional overrides become spaces and lone
    surrogates U+FFFD, so nothing can reorder or hide text.

  Links are only ones we build, ``<url|label>`` from ``PaperItem.url`` and
  ``CodeLink.url``, with the label escaped and any ``|`` in it made a
  look-alike; and only for an ``http(s)`` URL with a host and no
  whitespace, ``|``, ``<``, ``>`` or control characters (``safe_url``).
  Any other URL is not linked: the label alone is shown.
- Messages never ask Slack to parse mentions: ``post_message_kwargs`` sets
  neither ``link_names`` nor ``parse`` and turns unfurling off, so a paper
  URL does not unfold a preview of someone else's page into the channel.
- Button values are the paper id exactly as the core gave it (they come
  back in the interaction payload and are never displayed), under action
  ids ``ABSTRACT_ACTION_ID`` and ``MORE_LIKE_ACTION_ID``. A paper id that
  is empty or longer than a button value can hold gets no buttons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.messages import Digest, NothingNew, PaperItem, Reply

__all__ = [
    "ABSTRACT_ACTION_ID",
    "BLOCK_LIMIT",
    "BUTTON_VALUE_LIMIT",
    "FALLBACK_LIMIT",
    "HEADER_LIMIT",
    "MESSAGE_BUDGET",
    "MORE_LIKE_ACTION_ID",
    "TEXT_LIMIT",
    "SlackLimitError",
    "SlackMessage",
    "check_message",
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

ABSTRACT_ACTION_ID = "paper_abstract"
MORE_LIKE_ACTION_ID = "paper_more_like"

# Per-field caps, in escaped characters. Their worst case, with the markup
# around them, stays under TEXT_LIMIT (test_render checks an item with every
# field at its cap), so an item's section never needs cutting as a whole.
_TITLE_CAP = 400
_URL_CAP = 800
_AUTHORS_CAP = 250
_DATE_CAP = 30
_CATEGORY_CAP = 60
_CODE_LINE_CAP = 600
_CODE_LABEL_CAP = 100
_CODE_URL_CAP = 400
_TOPICS_CAP = 250
_SNIPPET_CAP = 500
_FOOTER_CAP = 500

# Every message keeps this much room for its first block (a header or a
# "continued" line) and its fallback text, so parts can be packed first and
# the "k/n" numbering written afterwards.
_HEAD_ALLOWANCE = HEADER_LIMIT + FALLBACK_LIMIT

_ELLIPSIS = "…"
_SOFT_HYPHEN = "\u00ad"
_WORD_JOINER = "\u2060"
_PIPE = "\u2223"  # divides; looks like "|"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Slack has no escape for its markers; these look the same and mean nothing.
_LOOKALIKES = {
    "*": "\u2217",  # asterisk operator
    "_": "\u02cd",  # modifier letter low macron
    "~": "\u223c",  # tilde operator
    "`": "\u02cb",  # modifier letter grave accent
    "\uff0a": "\ufe61",  # full-width asterisk -> small asterisk
    "\uff3f": "\u2e0f",  # full-width low line -> paragraphos
    "\uff40": "\u02cb",  # full-width grave accent
}
_QUOTE_MARKS = frozenset(">\uff1e")
# Punctuation not worth keeping just before the "…" of a shortened field.
_TRAILING = frozenset(" ,;:")

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional
# embeddings, overrides and isolates (as in bot.text).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SAFE_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class SlackLimitError(ValueError):
    """A message Slack would reject: too many blocks, text too long or empty."""


@dataclass(frozen=True, kw_only=True)
class SlackMessage:
    """One Slack message: fallback ``text`` plus validated Block Kit ``blocks``.

    ``text`` is the escaped plain line Slack shows in notifications and
    where blocks cannot be shown. ``paper_ids`` are the papers this message
    carries, in order, so an adapter that fails halfway through a digest can
    say which were posted (``bot.delivery.PartlySent``).
    """

    text: str
    blocks: tuple[dict[str, Any], ...]
    paper_ids: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """The characters counted against ``MESSAGE_BUDGET``: all text plus ``text``."""
        return width(self.text) + sum(width(t) for t in _texts(self.blocks))

    def post_message_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``WebClient.chat_postMessage`` (add ``channel``)."""
        return {
            "text": self.text,
            "blocks": [dict(block) for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


# -- escaping -----------------------------------------------------------------


def width(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as limits are counted here."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _clean_line(text: str) -> str:
    """``text`` on one line: unsafe characters gone, whitespace collapsed."""
    text = _SURROGATE.sub("\ufffd", _UNSAFE.sub(" ", text))
    return " ".join(text.split())


def _clean_lines(text: str) -> str:
    """``text`` with its lines kept, each cleaned, blank runs at most one line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    text = _SURROGATE.sub("\ufffd", _UNSAFE.sub(" ", text))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _pieces(text: str, *, mrkdwn: bool = True) -> list[str]:
    """One escaped piece per character of ``text`` (already cleaned).

    Pieces keep an entity, or a mark and the invisible character guarding
    it, together, so text is only ever shortened or split between pieces.
    """
    pieces: list[str] = []
    line_start = True
    for char in text:
        piece = _ENTITIES.get(char, char)
        if char == "@":
            # plain_text never mentions anyone; the joiner there is belt and braces.
            piece = "@" + _WORD_JOINER
        elif mrkdwn:
            piece = _LOOKALIKES.get(char, piece)
            if line_start and char in _QUOTE_MARKS:
                piece = _SOFT_HYPHEN + piece
        pieces.append(piece)
        if char == "\n":
            line_start = True
        elif not char.isspace():
            line_start = False
    return pieces


def _fit(pieces: Sequence[str], limit: int) -> str:
    """The pieces joined, shortened with "…" to at most ``limit`` characters."""
    if width("".join(pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        size = len(piece) if piece.isascii() else width(piece)
        if used + size > limit - len(_ELLIPSIS):
            break
        kept.append(piece)
        used += size
    # Keep whole words when the last space is not too far back.
    for back in range(len(kept) - 1, max(len(kept) * 2 // 3, 0), -1):
        if kept[back] == " ":
            kept = kept[:back]
            break
    # Whole pieces only: a character strip would eat the ";" of "&amp;".
    while kept and kept[-1] in _TRAILING:
        kept.pop()
    return "".join(kept) + _ELLIPSIS


def escape(text: str) -> str:
    """``text`` as mrkdwn that shows exactly ``text`` and does nothing else.

    Lines are kept; everything else follows the module contract: entities
    for ``&<>``, look-alikes for ``*_~```, a guarded leading ``>``, a word
    joiner after ``@``, no control or bidirectional characters.
    """
    return "".join(_pieces(_clean_lines(text)))


def _inline(text: str, limit: int, *, default: str = "") -> str:
    """One line of untrusted ``text`` as mrkdwn, at most ``limit`` characters."""
    # Every character takes at least one: past limit + 1 nothing can change the result.
    return _fit(_pieces((_clean_line(text) or default)[: limit + 1]), limit)


def _plain(text: str, limit: int, *, default: str) -> str:
    """One line of untrusted ``text`` for a plain_text object (no mrkdwn there)."""
    return _fit(_pieces((_clean_line(text) or default)[: limit + 1], mrkdwn=False), limit)


def safe_url(url: str | None, *, limit: int = _URL_CAP) -> str | None:
    """``url`` ready to go between ``<`` and ``|``, or None when it must not be linked.

    Only ``http(s)`` URLs with a host and no whitespace, ``|``, ``<``, ``>``
    or control characters, at most ``limit`` characters once ``&`` is
    escaped, are linked.
    """
    if not url:
        return None
    url = url.strip()
    if not _SAFE_URL.fullmatch(url) or _UNSAFE.search(url) or _SURROGATE.search(url):
        return None
    try:
        if not urlsplit(url).hostname:
            return None
    except ValueError:
        return None
    escaped = url.replace("&", "&amp;")
    return escaped if width(escaped) <= limit else None


def _link(url: str | None, label: str) -> str:
    """``<url|label>`` for a safe URL (from ``safe_url``), else the label alone.

    A ``|`` in the label becomes a look-alike: Slack splits a link at a pipe,
    and a title must not get to choose where.
    """
    return f"<{url}|{label.replace('|', _PIPE)}>" if url else label


# -- blocks -------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True)).to_dict()


def _context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=text, verbatim=True)]).to_dict()


def _header(text: str) -> dict[str, Any]:
    # emoji=False: a ":shortcode:" in a topic stays the text it is.
    return HeaderBlock(text=PlainTextObject(text=text, emoji=False)).to_dict()


def _button(label: str, action_id: str, value: str) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=label, emoji=False), action_id=action_id, value=value
    )


def _actions(paper_id: str) -> dict[str, Any] | None:
    if not paper_id.strip() or width(paper_id) > BUTTON_VALUE_LIMIT:
        log.warning("paper id %.40r... cannot be a button value; no buttons", paper_id)
        return None
    return ActionsBlock(
        elements=[
            _button("Abstract", ABSTRACT_ACTION_ID, paper_id),
            _button("More like this", MORE_LIKE_ACTION_ID, paper_id),
        ]
    ).to_dict()


def _title_line(item: PaperItem) -> str:
    label = _inline(item.title, _TITLE_CAP, default="(untitled)")
    return f"*{_link(safe_url(item.url), label)}*"


def _meta_line(item: PaperItem) -> str:
    authors = _inline(item.authors, _AUTHORS_CAP, default="unknown authors")
    date = _inline(item.date, _DATE_CAP, default="undated")
    category = _inline(item.category, _CATEGORY_CAP, default="uncategorized")
    return f"{authors} · {date} · {category}"


def _code_line(item: PaperItem) -> str | None:
    if not item.code_links:
        return "Code announced (no link yet)" if item.code_announced else None
    prefix = "Code: "
    # Room for " and 99999 more" whatever is left out.
    room = _CODE_LINE_CAP - len(prefix) - 20
    links: list[str] = []
    for code in item.code_links:
        label = _inline(code.label, _CODE_LABEL_CAP)
        label = label or _inline(code.url, _CODE_LABEL_CAP, default="code")
        link = _link(safe_url(code.url, limit=_CODE_URL_CAP), label)
        if links and width(", ".join([*links, link])) > room:
            break
        links.append(link)
    rest = len(item.code_links) - len(links)
    return prefix + ", ".join(links) + (f" and {rest} more" if rest else "")


def _topics_line(item: PaperItem) -> str | None:
    topics = [_clean_line(t)[: _TOPICS_CAP + 1] for t in item.matched_topics]
    pieces: list[str] = []
    for topic in filter(None, topics):
        pieces += ["; "] if pieces else []
        pieces += _pieces(topic)
    prefix = "Matched: "
    return prefix + _fit(pieces, _TOPICS_CAP - len(prefix)) if pieces else None


def _item_blocks(item: PaperItem, *, full: bool = True) -> tuple[dict[str, Any], ...]:
    """The item's section and, when ``full``, its code, topics, snippet and buttons."""
    lines: list[str | None] = [_title_line(item), _meta_line(item)]
    if full:
        lines += [_code_line(item), _topics_line(item), _inline(item.snippet, _SNIPPET_CAP)]
    section = _section("\n".join(line for line in lines if line))
    actions = _actions(item.paper_id) if full else None
    return (section, actions) if actions else (section,)


def _chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Escaped ``text`` (lines kept) in pieces of at most ``limit`` characters.

    Each cut falls at the last line break in reach, else the last space,
    else anywhere between two escaped pieces.
    """
    pieces = _pieces(_clean_lines(text))
    # A chunk starts a new section, so a ">" it starts with needs the guard too.
    room = limit - len(_SOFT_HYPHEN)
    chunks: list[str] = []
    start = 0
    while start < len(pieces):
        end, used = start, 0
        while end < len(pieces):
            size = len(pieces[end]) if pieces[end].isascii() else width(pieces[end])
            if used + size > room:
                break
            used += size
            end += 1
        if end < len(pieces):
            window = pieces[start:end]
            for mark in ("\n", " "):
                if mark in window[1:]:
                    end = start + len(window) - 1 - window[::-1].index(mark)
                    break
        chunk = "".join(pieces[start:end]).strip()
        if chunk.startswith(("&gt;", "\uff1e")):
            chunk = _SOFT_HYPHEN + chunk
        if chunk:
            chunks.append(chunk)
        start = end
    return chunks


# -- packing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """Blocks that go into one message together; items get dividers between them."""

    blocks: tuple[dict[str, Any], ...]
    paper_id: str | None = None


def _pack(parts: Sequence[_Part]) -> list[list[_Part]]:
    """Parts grouped into messages, in order, each group within the limits."""
    room = MESSAGE_BUDGET - _HEAD_ALLOWANCE
    groups: list[list[_Part]] = [[]]
    used = count = 0
    for part in parts:
        group = groups[-1]
        divider = int(bool(group) and group[-1].paper_id is not None and part.paper_id is not None)
        size = sum(width(t) for t in _texts(part.blocks))
        if group and (count + divider + len(part.blocks) > BLOCK_LIMIT - 1 or used + size > room):
            groups.append([])
            used = count = divider = 0
        groups[-1].append(part)
        used += size
        count += divider + len(part.blocks)
    return groups


def _assemble(
    parts: Sequence[_Part],
    *,
    head: Callable[[int, int], list[dict[str, Any]]],
    fallback: Callable[[int, int], str],
) -> list[SlackMessage]:
    """Messages from ``parts``; ``head(k, n)`` and ``fallback(k, n)`` open message k of n."""
    groups = _pack(parts)
    messages = []
    for number, group in enumerate(groups, start=1):
        blocks = head(number, len(groups))
        for index, part in enumerate(group):
            if index and part.paper_id is not None and group[index - 1].paper_id is not None:
                blocks.append(DividerBlock().to_dict())
            blocks.extend(part.blocks)
        message = SlackMessage(
            text=fallback(number, len(groups)),
            blocks=tuple(blocks),
            paper_ids=tuple(p.paper_id for p in group if p.paper_id is not None),
        )
        check_message(message)
        messages.append(message)
    return messages


def _continued(number: int, total: int) -> str:
    return f"… continued ({number}/{total})"


def _numbered(text: str, number: int, total: int) -> str:
    """A fallback line, shortened to leave room for " (k/n)" on split messages."""
    suffix = f" ({number}/{total})" if total > 1 else ""
    return _inline(text, FALLBACK_LIMIT - len(suffix), default="Papers") + suffix


# -- public renderers ---------------------------------------------------------


def render_digest(digest: Digest) -> list[SlackMessage]:
    """A digest: header, items with buttons and dividers between, then the footer.

    One message when it fits, else several; the first opens with the
    digest's header, the others with "… continued (k/n)".
    """
    parts = [_Part(_item_blocks(item), item.paper_id) for item in digest.items]
    if digest.footer is not None:
        parts.append(_Part((_context(_inline(digest.footer, _FOOTER_CAP)),)))

    def head(number: int, total: int) -> list[dict[str, Any]]:
        if number == 1:
            return [_header(_plain(digest.header, HEADER_LIMIT, default="New papers"))]
        return [_header(_continued(number, total))]

    return _assemble(parts, head=head, fallback=lambda k, n: _numbered(digest.header, k, n))


def render_reply(reply: Reply) -> list[SlackMessage]:
    """A command's answer: its text (split into sections as needed), then its items.

    A ``show`` reply's text is a whole abstract and may take several
    sections or messages; later messages open with a "… continued" line.
    Whether to post ephemerally is ``reply.ephemeral``, the adapter's call.
    """
    parts = [_Part((_section(chunk),)) for chunk in _chunks(reply.text)]
    parts += [_Part(_item_blocks(item), item.paper_id) for item in reply.items]
    if not parts:
        parts = [_Part((_section("(empty reply)"),))]
    first_line = next((line for line in reply.text.splitlines() if line.strip()), "")
    if not first_line and reply.items:
        first_line = reply.items[0].title
    return _assemble(parts, head=_reply_head, fallback=lambda k, n: _numbered(first_line, k, n))


def _reply_head(number: int, total: int) -> list[dict[str, Any]]:
    return [] if number == 1 else [_context(_continued(number, total))]


def render_abstract(item: PaperItem, abstract: str) -> list[SlackMessage]:
    """The answer to an "Abstract" button: the paper's title line, then its abstract.

    Line wraps inside a paragraph are joined (feeds wrap abstracts at
    about 80 columns); paragraphs stay apart. The abstract is split into
    sections and messages as needed, never cut short.
    """
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(abstract)]
    text = "\n\n".join(p for p in paragraphs if p) or "(no abstract)"
    parts = [_Part(_item_blocks(item, full=False))]
    parts += [_Part((_section(chunk),)) for chunk in _chunks(text)]
    return _assemble(
        parts, head=_reply_head, fallback=lambda k, n: _numbered(f"Abstract: {item.title}", k, n)
    )


def render_nothing_new(message: NothingNew) -> SlackMessage:
    """The quiet-day line, as one small message."""
    parts = [_Part((_section(_inline(message.text, TEXT_LIMIT)),))]
    [slack_message] = _assemble(
        parts, head=_reply_head, fallback=lambda k, n: _numbered(message.text, k, n)
    )
    return slack_message


def render_message(message: Digest | NothingNew | Reply) -> list[SlackMessage]:
    """Any neutral message as the Slack messages that show it, in posting order."""
    if isinstance(message, Digest):
        return render_digest(message)
    if isinstance(message, NothingNew):
        return [render_nothing_new(message)]
    return render_reply(message)


# -- validation ---------------------------------------------------------------


def _texts(blocks: object) -> Iterator[str]:
    """Every text object's ``text`` in ``blocks``, depth first."""
    if isinstance(blocks, dict):
        for key, value in blocks.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(blocks, (list, tuple)):
        for value in blocks:
            yield from _texts(value)


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
