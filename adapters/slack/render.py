"""Block Kit rendering of the neutral messages (``bot.model.messages``) for Slack. No I/O.

``render_digest``, ``render_reply``, ``render_nothing_new`` and
``render_abstract`` turn the core's content into ``SlackMessage`` values:
the ``text`` and ``blocks`` of ``chat.postMessage`` (or of an ephemeral post
or a ``response_url`` answer). ``text`` is the fallback Slack shows in
notifications: the header or first line, escaped. Posting is the adapter's
job.

The contract, on top of the one every renderer follows (``bot.model.messages``):

- Every message MUST be one Slack accepts: ``adapters.slack.message``
  says what that means (blocks, text lengths, a message budget, in UTF-16
  code units) and every ``render_*`` function runs its ``check_message``
  before returning.
- A digest's suggested papers (``Digest.suggested``, its last items) come
  under a ``SUGGESTED_HEADING`` header block, once, packed with the first
  of them so it opens the message they begin in; each shows its reason
  as a context block under its section, in place of matched topics.
- A long digest or reply continues in further messages; a ``PaperItem``
  (its section, its reason and its buttons) is never split between two.
  Continuation messages start with "… continued (2/3)". A field too long
  on its own is shortened with "…" to a per-field cap chosen so that one
  item's section always fits ``TEXT_LIMIT``; long free text (a
  10,000-character abstract) is split into several sections, at a line
  break or space where it can.
- Every untrusted string (title, authors, date, category, topics, snippet,
  code-link label, a suggestion's reason, the header and footer built from
  them, a reply's text with its user queries, an abstract) goes through
  ``adapters.slack.mrkdwn`` for mrkdwn, or its plain-text twin for header
  blocks; that module's docstring says what escaping guarantees. Every
  mrkdwn object is ``verbatim``. Links are only ones we build, from
  ``PaperItem.url`` and ``CodeLink.url``, and only for a URL ``safe_url``
  accepts; any other URL is not linked: the label alone is shown.
- Messages never ask Slack to parse mentions: ``post_message_kwargs`` sets
  neither ``link_names`` nor ``parse`` and turns unfurling off, so a paper
  URL does not unfold a preview of someone else's page into the channel.
- Button values are the paper id exactly as the core gave it (they come
  back in the interaction payload and are never displayed), under action
  ids ``ABSTRACT_ACTION_ID``, ``MORE_LIKE_ACTION_ID``, ``RELEVANT_ACTION_ID``,
  ``NOT_FOR_US_ACTION_ID`` and ``SAVE_ACTION_ID`` (``BUTTON_VERBS``: the
  command each stands for), all five in one actions block under the paper
  (Slack takes 25 elements a block). A paper id that is empty or longer
  than a button value can hold gets no buttons.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from adapters.slack.message import (
    BLOCK_LIMIT,
    BUTTON_VALUE_LIMIT,
    FALLBACK_LIMIT,
    HEADER_LIMIT,
    MESSAGE_BUDGET,
    TEXT_LIMIT,
    SlackMessage,
    check_message,
    texts,
)
from adapters.slack.mrkdwn import URL_LIMIT, chunks, inline, link, pieces, plain, safe_url
from bot.model.messages import SUGGESTED_HEADING, CodeLink, Digest, NothingNew, PaperItem, Reply
from bot.text.fitting import pack, unwrap, width
from bot.text.layout import by_kind, code_line, continued, meta_line, topics_line

__all__ = [
    "ABSTRACT_ACTION_ID",
    "BUTTON_VERBS",
    "MORE_LIKE_ACTION_ID",
    "NOT_FOR_US_ACTION_ID",
    "RELEVANT_ACTION_ID",
    "SAVE_ACTION_ID",
    "render_abstract",
    "render_digest",
    "render_message",
    "render_nothing_new",
    "render_reply",
    # From adapters.slack.message: what every renderer returns.
    "SlackMessage",
]

log = logging.getLogger(__name__)

ABSTRACT_ACTION_ID = "paper_abstract"
MORE_LIKE_ACTION_ID = "paper_more_like"
RELEVANT_ACTION_ID = "paper_relevant"
NOT_FOR_US_ACTION_ID = "paper_not_for_us"
SAVE_ACTION_ID = "paper_save"
# What each button asks the core, as the command it stands for, in the
# order the buttons show.
BUTTON_VERBS = {ABSTRACT_ACTION_ID: "show", MORE_LIKE_ACTION_ID: "like",
                RELEVANT_ACTION_ID: "more", NOT_FOR_US_ACTION_ID: "less",
                SAVE_ACTION_ID: "save"}

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
_REASON_CAP = 500

# Every message keeps this much room for its first block (a header or a
# "continued" line) and its fallback text, so parts can be packed first and
# the "k/n" numbering written afterwards.
_HEAD_ALLOWANCE = HEADER_LIMIT + FALLBACK_LIMIT


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
            _button("👍 Relevant", RELEVANT_ACTION_ID, paper_id),
            _button("👎 Not for us", NOT_FOR_US_ACTION_ID, paper_id),
            # Last: the votes stay a pair, and saving is for the reading list, not the taste.
            _button("Save", SAVE_ACTION_ID, paper_id),
        ]
    ).to_dict()


def _title_line(item: PaperItem) -> str:
    label = inline(item.title, _TITLE_CAP, default="(untitled)")
    return f"*{link(safe_url(item.url, limit=_URL_CAP), label)}*"


def _code_link(code: CodeLink) -> str:
    label = inline(code.label, _CODE_LABEL_CAP)
    label = label or inline(code.url, _CODE_LABEL_CAP, default="code")
    return link(safe_url(code.url, limit=_CODE_URL_CAP), label)


def _item_blocks(
    item: PaperItem, *, matched: Sequence[str] = (), full: bool = True, because: str | None = None
) -> tuple[dict[str, Any], ...]:
    """The item's section and, when ``full``, its code, ``matched`` topics, snippet, buttons.

    ``because`` is why the taste suggests it: a context block under the
    section, before the buttons.
    """
    meta = meta_line(
        item, inline, authors_cap=_AUTHORS_CAP, date_cap=_DATE_CAP, category_cap=_CATEGORY_CAP
    )
    lines: list[str | None] = [_title_line(item), meta]
    if full:
        lines += [
            code_line(item, _code_link, cap=_CODE_LINE_CAP),
            topics_line(matched, pieces, cap=_TOPICS_CAP),
            inline(item.snippet, _SNIPPET_CAP),
        ]
    blocks = [_section("\n".join(line for line in lines if line))]
    # A reason of control characters alone escapes to nothing: no empty block.
    reason = inline(because, _REASON_CAP) if full and because else ""
    if reason:
        blocks.append(_context(reason))
    actions = _actions(item.paper_id) if full else None
    return (*blocks, actions) if actions else tuple(blocks)


# -- packing ------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """Blocks that go into one message together; items get dividers between them."""

    blocks: tuple[dict[str, Any], ...]
    paper_id: str | None = None


def _divided(previous: _Part | None, part: _Part) -> bool:
    """Whether a divider goes between ``previous`` and ``part``: only between two items."""
    return previous is not None and previous.paper_id is not None and part.paper_id is not None


def _cost(previous: _Part | None, part: _Part) -> tuple[int, int]:
    """The blocks (with a divider before it) and characters ``part`` adds after ``previous``."""
    return _divided(previous, part) + len(part.blocks), sum(width(t) for t in texts(part.blocks))


def _pack(parts: Sequence[_Part]) -> list[list[_Part]]:
    """Parts grouped into messages, in order, each group within the limits."""
    # Each message keeps a block and the head allowance for the head it opens with.
    limits = (BLOCK_LIMIT - 1, MESSAGE_BUDGET - _HEAD_ALLOWANCE)
    return pack(parts, _cost, limits) or [[]]


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
        for previous, part in zip([None, *group], group):
            if _divided(previous, part):
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


def _numbered(text: str, number: int, total: int) -> str:
    """A fallback line, shortened to leave room for " (k/n)" on split messages."""
    suffix = f" ({number}/{total})" if total > 1 else ""
    return inline(text, FALLBACK_LIMIT - len(suffix), default="Papers") + suffix


# -- public renderers ---------------------------------------------------------


def render_digest(digest: Digest) -> list[SlackMessage]:
    """A digest: header, items with buttons and dividers between, then the footer.

    One message when it fits, else several; the first opens with the
    digest's header, the others with "… continued (k/n)". The suggested
    items, last, follow a ``SUGGESTED_HEADING`` header, each with its reason.
    """
    first_suggested = max(len(digest.items) - len(digest.suggested), 0)
    parts = []
    for number, (item, matched) in enumerate(digest.entries()):
        if number < first_suggested:
            parts.append(_Part(_item_blocks(item, matched=matched), item.paper_id))
            continue
        blocks = _item_blocks(item, because=digest.reason_for(item.paper_id))
        if number == first_suggested:
            # In the item's part, so the heading never ends a message without it.
            heading = plain(SUGGESTED_HEADING, HEADER_LIMIT, default=SUGGESTED_HEADING)
            blocks = (_header(heading), *blocks)
        parts.append(_Part(blocks, item.paper_id))
    if digest.footer is not None:
        parts.append(_Part((_context(inline(digest.footer, _FOOTER_CAP)),)))

    def head(number: int, total: int) -> list[dict[str, Any]]:
        if number == 1:
            return [_header(plain(digest.header, HEADER_LIMIT, default="New papers"))]
        return [_header(continued(number, total))]

    return _assemble(parts, head=head, fallback=lambda k, n: _numbered(digest.header, k, n))


def render_reply(reply: Reply, *, at_most: int | None = None) -> list[SlackMessage]:
    """A command's answer: its text (split into sections as needed), then its items.

    A ``show`` reply's text is a whole abstract and may take several
    sections or messages; later messages open with a "… continued" line.
    With ``at_most``, the messages a response_url can still take, a text
    too long for them is cut where a section ends, and a line after it says
    so, linking the first item's page (the paper's, which has it all).
    Whether to post ephemerally is ``reply.ephemeral``, the adapter's call.
    """
    sections = [_Part((_section(chunk),)) for chunk in chunks(reply.text, TEXT_LIMIT)]
    items = [_Part(_item_blocks(item), item.paper_id) for item in reply.items]
    first_line = next((line for line in reply.text.splitlines() if line.strip()), "")
    if not first_line and reply.items:
        first_line = reply.items[0].title

    def assemble(parts: list[_Part]) -> list[SlackMessage]:
        return _assemble(parts or [_Part((_section("(empty reply)"),))], head=_reply_head,
                         fallback=lambda k, n: _numbered(first_line, k, n))

    messages = assemble(sections + items)
    if at_most is None or len(messages) <= at_most:
        return messages
    cut = _Part((_context(_cut_line(reply)),))
    # The most sections that fit with the line and the items: more sections never take
    # fewer messages, so a binary search finds it.
    low, high = 0, len(sections)
    while low < high:
        middle = (low + high + 1) // 2
        if len(assemble([*sections[:middle], cut, *items])) <= at_most:
            low = middle
        else:
            high = middle - 1
    kept = [*sections[:low], cut]
    while items and len(assemble(kept + items)) > at_most:
        items.pop()  # only when the items alone take more than at_most
    return assemble(kept + items)


def _cut_line(reply: Reply) -> str:
    """What closes a reply cut short: that it was, and where the rest is."""
    page = reply.items[0].url if reply.items else None
    url = safe_url(page, limit=_URL_CAP)
    if page is None or url is None:
        return "… cut to fit in Slack."
    label = inline(page.strip().split("://", 1)[-1], _CODE_LABEL_CAP)
    return f"… cut to fit in Slack; read it all on the paper's page: {link(url, label)}"


def _reply_head(number: int, total: int) -> list[dict[str, Any]]:
    return [] if number == 1 else [_context(continued(number, total))]


def render_abstract(item: PaperItem, abstract: str) -> list[SlackMessage]:
    """The answer to an "Abstract" button: the paper's title line, then its abstract.

    The abstract's paragraphs are unwrapped (``bot.text.fitting.unwrap``)
    and split into sections and messages as needed, never cut short.
    """
    text = unwrap(abstract) or "(no abstract)"
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
    return by_kind(message, digest=render_digest, nothing_new=_quiet_day, reply=render_reply)


def _quiet_day(message: NothingNew) -> list[SlackMessage]:
    return [render_nothing_new(message)]
