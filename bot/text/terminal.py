"""Plain-text rendering of the neutral messages, for terminals.

The CLI and the console adapter print digests and replies with these. Like
every renderer (``bot.model.messages``), they treat each string as untrusted: a
terminal has no mentions to ping, but control characters in a title could
move the cursor, clear the screen or hide text, and bidirectional overrides
could disguise it, so ``plain`` replaces them all. No I/O here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bot.model.messages import (
    SUGGESTED_HEADING,
    Digest,
    NothingNew,
    PaperItem,
    Reply,
    first_sentence,
)
from bot.text.fitting import blank_controls, unwrap
from bot.text.layout import by_kind

__all__ = ["format_digest", "format_items", "format_message", "format_reply", "plain"]


def plain(text: str) -> str:
    """``text`` on one line with nothing a terminal would act on."""
    # Tab and newline too: one line stays one line.
    return blank_controls(text)


def format_items(
    items: Sequence[PaperItem], matched: Sequence[tuple[str, ...]] | None = None
) -> list[str]:
    """Numbered items; ``matched[i]`` are the topics ``items[i]`` matched (a digest's)."""
    lines = []
    topics = matched if matched is not None else [()] * len(items)
    for number, (item, item_topics) in enumerate(zip(items, topics, strict=True), start=1):
        lines += _card(item, lead=f"{number}. ", matched=item_topics)
        lines.append("")
    return lines


def _card(
    item: PaperItem, *, lead: str = "", matched: Sequence[str] = (), because: str | None = None
) -> list[str]:
    pad = " " * len(lead)
    lines = [f"{lead}{plain(item.title)}"]
    meta = f"{plain(item.authors)} · {item.date} · {plain(item.category)} · {plain(item.paper_id)}"
    lines.append(pad + meta)
    if item.code_links:
        links = ", ".join(f"{plain(c.label)} {plain(c.url)}" for c in item.code_links)
        lines.append(f"{pad}code: {links}")
    elif item.code_announced:
        lines.append(f"{pad}code: announced (no link yet)")
    if item.url:
        lines.append(f"{pad}{plain(item.url)}")
    if matched:
        lines.append(f"{pad}matched: {'; '.join(plain(t) for t in matched)}")
    if because:
        lines.append(f"{pad}{plain(because)}")
    if item.snippet:
        lines.append(f"{pad}{plain(item.snippet)}")
    return lines


def format_digest(digest: Digest) -> str:
    matches = len(digest.items) - len(digest.suggested)
    lines = [plain(digest.header), "",
             *format_items(digest.items[:matches], digest.matched_topics[:matches])]
    if digest.suggested:
        lines += [SUGGESTED_HEADING, ""]
        for number, item in enumerate(digest.items[matches:], start=matches + 1):
            lines += _card(item, lead=f"{number}. ", because=digest.reason_for(item.paper_id))
            lines.append("")
    if digest.footer:
        lines.append(plain(digest.footer))
    return "\n".join(lines).rstrip()


def format_reply(reply: Reply) -> str:
    abstract = _abstract_of(reply)
    if abstract is not None:
        # The paper first, as search lists it, then its abstract once: the
        # card's snippet is the abstract's first sentence, so it goes.
        card = _card(dataclasses.replace(reply.items[0], snippet=""))
        paragraphs = [plain(paragraph) for paragraph in abstract.split("\n\n")]
        return "\n".join(card) + "\n\n" + "\n\n".join(paragraphs)
    # A reply's text is ours and may span lines; each line is made safe alone.
    lines = [plain(line) for line in reply.text.splitlines()]
    if reply.items:
        lines += ["", *format_items(reply.items)]
    return "\n".join(lines).rstrip()


def _abstract_of(reply: Reply) -> str | None:
    """The abstract, unwrapped, when ``reply`` shows one paper with it (``/papers show``).

    Such a reply's text is the abstract of its one item, whose snippet is
    that abstract's first sentence.
    """
    if len(reply.items) != 1 or not reply.items[0].snippet:
        return None
    if first_sentence(reply.text) != reply.items[0].snippet:
        return None
    return unwrap(reply.text)


def format_message(message: Digest | NothingNew | Reply) -> str:
    return by_kind(message, digest=format_digest, nothing_new=_quiet_day, reply=format_reply)


def _quiet_day(message: NothingNew) -> str:
    return plain(message.text)
