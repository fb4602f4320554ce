"""Block Kit rendering of the neutral messages (``bot.model.messages``) for Slack. No I/O.

``render_digest``, ``render_reply``, ``render_nothing_new`` and
``render_abstract`` turn the core's content into ``SlackMessage`` values:
the ``text`` and ``blocks`` of ``chat.postMessage`` (or of an ephemeral post
or a ``response_url`` answer). ``text`` is the fallback Slack shows in
notifications: the header or first line, escaped. Posting is the adapter's
job.

The contract, on top of the one every renderer follows (``bot.model.messages``):

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
  with its user queries, an abstract) goes through ``adapters.slack.mrkdwn``
  for mrkdwn, or its plain-text twin for header blocks; that module's
  docstring says what escaping guarantees. Every mrkdwn object is
  ``verbatim``. Links are only ones we build, from ``PaperItem.url`` and
  ``CodeLink.url``, and only for a URL ``safe_url`` accepts; any other URL
  is not linked: the label alone is shown.
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

from adapters.slack.mrkdwn import (
    URL_LIMIT,
    chunks,
    clean_line,
    escape,
    fit,
    inline,
    link,
    pieces,
    plain,
    safe_url,
    width,
)
from bot.model.messages import Digest, NothingNew, PaperItem, Reply

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
_URL_CAP = URL_LIMIT
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

# Feeds wrap abstracts inside a paragraph; only a blank line ends one.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


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
        return width(self.text) + sum(width(t) for t in _texts(self.blocks))

    def post_message_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``WebClient.chat_postMessage`` (add ``channel``)."""
        return {
            "text": self.text,
            "blocks": [dict(block) for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


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
    label = inline(item.title, _TITLE_CAP, default="(untitled)")
    return f"*{link(safe_url(item.url, limit=_URL_CAP), label)}*"


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
        label = inline(code.label, _CODE_LABEL_CAP)
        label = label or inline(code.url, _CODE_LABEL_CAP, default="code")
        shown = link(safe_url(code.url, limit=_CODE_URL_CAP), label)
        if links and width(", ".join([*links, shown])) > room:
            break
        links.append(shown)
    rest = len(item.code_links) - len(links)
    return prefix + ", ".join(links) + (f" and {rest} more" if rest else "")


def _topics_line(matched: Sequence[str]) -> str | None:
    topics = [clean_line(t)[: _TOPICS_CAP + 1] for t in matched]
    parts: list[str] = []
    for topic in filter(None, topics):
        parts += ["; "] if parts else []
        parts += pieces(topic)
    prefix = "Matched: "
    return prefix + fit(parts, _TOPICS_CAP - len(prefix)) if parts else None


def _item_blocks(
    item: PaperItem, *, matched: Sequence[str] = (), full: bool = True
) -> tuple[dict[str, Any], ...]:
    """The item's section and, when ``full``, its code, ``matched`` topics, snippet, buttons."""
    lines: list[str | None] = [_title_line(item), _meta_line(item)]
    if full:
        lines += [_code_line(item), _topics_line(matched), inline(item.snippet, _SNIPPET_CAP)]
    section = _section("\n".join(line for line in lines if line))
    actions = _actions(item.paper_id) if full else None
    return (section, actions) if actions else (section,)


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
    return inline(text, FALLBACK_LIMIT - len(suffix), default="Papers") + suffix


# -- public renderers ---------------------------------------------------------


def render_digest(digest: Digest) -> list[SlackMessage]:
    """A digest: header, items with buttons and dividers between, then the footer.

    One message when it fits, else several; the first opens with the
    digest's header, the others with "… continued (k/n)".
    """
    parts = [
        _Part(_item_blocks(item, matched=matched), item.paper_id)
        for item, matched in digest.entries()
    ]
    if digest.footer is not None:
        parts.append(_Part((_context(inline(digest.footer, _FOOTER_CAP)),)))

    def head(number: int, total: int) -> list[dict[str, Any]]:
        if number == 1:
            return [_header(plain(digest.header, HEADER_LIMIT, default="New papers"))]
        return [_header(_continued(number, total))]

    return _assemble(parts, head=head, fallback=lambda k, n: _numbered(digest.header, k, n))


def render_reply(reply: Reply) -> list[SlackMessage]:
    """A command's answer: its text (split into sections as needed), then its items.

    A ``show`` reply's text is a whole abstract and may take several
    sections or messages; later messages open with a "… continued" line.
    Whether to post ephemerally is ``reply.ephemeral``, the adapter's call.
    """
    parts = [_Part((_section(chunk),)) for chunk in chunks(reply.text, TEXT_LIMIT)]
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
    parts += [_Part((_section(chunk),)) for chunk in chunks(text, TEXT_LIMIT)]
    return _assemble(
        parts, head=_reply_head, fallback=lambda k, n: _numbered(f"Abstract: {item.title}", k, n)
    )


def render_nothing_new(message: NothingNew) -> SlackMessage:
    """The quiet-day line, as one small message."""
    parts = [_Part((_section(inline(message.text, TEXT_LIMIT)),))]
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
