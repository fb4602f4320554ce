"""The platform-neutral message model: content, not markup. No I/O.

The core answers with these frozen values; each adapter's ``render.py``
turns them into Block Kit, Discord embeds or terminal text. This module is a
leaf (it imports only ``bot.model.papers`` and ``bot.model.links``), so anyone may use it.

The contract every renderer follows:

- Every string field here is plain, untrusted text held exactly as it came
  (titles, abstracts, author names, topics, user queries). A renderer MUST
  escape each one for its platform, so that none can mention a user, ping
  ``@everyone``/``<!channel>``, or break formatting. Nothing here is escaped,
  so that no renderer has to undo another platform's escaping.
- A renderer MUST respect its platform's limits (text lengths, blocks or
  embeds per message) and MAY split a digest into several messages, but MUST
  NOT cut a ``PaperItem`` in half: an item that does not fit starts the next
  message. A field that alone exceeds a limit MAY be shortened with "…".
- A renderer MAY drop optional parts (snippet, code links, matched topics)
  when space is short; it SHOULD keep title, link and authors.
- A paper's ``PaperItem`` says what the paper is, the same wherever it is
  shown, so one value may be shared by many messages. What is particular to
  one message sits beside the items: a digest's ``matched_topics``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from bot.model.address import ChannelAddress, MessageRef
from bot.model.links import repo_label
from bot.model.papers import PaperRecord

__all__ = [
    "AUTHOR_LIMIT",
    "SNIPPET_LIMIT",
    "CodeLink",
    "Digest",
    "IncomingCommand",
    "NothingNew",
    "PaperNote",
    "SUGGESTED_HEADING",
    "PaperItem",
    "Reply",
    "first_sentence",
    "paper_item",
    "short_authors",
]

AUTHOR_LIMIT = 3
SNIPPET_LIMIT = 300
_ELLIPSIS = "…"

# A sentence ends at ., ? or ! followed by whitespace and a capital or digit.
_BOUNDARY = re.compile(r"[.?!](?=\s+[A-Z0-9])")

# Abbreviations whose period is not a sentence end even before a capital
# ("e.g. MRI", "et al. Show", "Fig. 3"). "etc." is left out on purpose: it
# ends sentences at least as often as it sits inside one.
_ABBREVIATION = re.compile(
    r"(?:^|[\s(\[])(?:e\.g|i\.e|et\s+al|figs?|eqs?|refs?|secs?|vs|cf|approx|resp|dr|prof)\.$",
    re.IGNORECASE,
)


@dataclass(frozen=True, kw_only=True)
class CodeLink:
    """A link to a paper's code; ``label`` is ``owner/repo`` for display."""

    label: str
    url: str


@dataclass(frozen=True, kw_only=True)
class PaperItem:
    """One paper as a message shows it; every string is plain untrusted text.

    ``url`` is None when the paper has no landing page. ``code_announced``
    is True when the paper says code exists but gave no link yet; a renderer
    SHOULD then say "code announced" rather than show nothing. ``snippet`` is
    at most ``SNIPPET_LIMIT`` characters, possibly empty.
    """

    paper_id: str
    title: str
    url: str | None
    authors: str
    date: str
    category: str
    code_links: tuple[CodeLink, ...]
    code_announced: bool
    snippet: str


@dataclass(frozen=True, kw_only=True)
class Digest:
    """A channel's daily digest: the items to post and how many were left out.

    ``matched_topics[i]`` are the channel's topics that ``items[i]`` matched,
    in the order of ``topics``; it has one entry per item (given empty, each
    item matched none that is worth showing). The topics sit here, not in
    the items, because the same paper matches different topics in different
    channels while its item is the same. ``more`` counts matching papers not
    shown (over the channel's cap); ``more_query`` is the search that lists
    them, None when there is none. A renderer MUST show ``header``, then the
    items in order, then ``footer`` when it is not None; it SHOULD show each
    item's matched topics with it.

    ``maybe_posted`` are items' paper ids an earlier post to the channel may
    have shown: it took them and ended (the process died) before the
    platform's answer was recorded. It began after ``maybe_posted_after``.
    An adapter that can read back what it posted MAY look for them there,
    report the ones it finds through ``on_part`` and post the rest
    (``without``); else it posts them all, as for any digest.

    ``suggested`` are (paper id, reason) for the last items, which match no
    topic: the channel's taste (``bot.digest.taste``) suggests them. A
    renderer SHOULD put them under the heading ``SUGGESTED_HEADING`` with
    their reason (``reason_for``).
    """

    channel: ChannelAddress
    topics: tuple[str, ...]
    date: str
    items: tuple[PaperItem, ...]
    matched_topics: tuple[tuple[str, ...], ...] = ()
    more: int = 0
    more_query: str | None = None
    maybe_posted: tuple[str, ...] = ()
    maybe_posted_after: datetime | None = None
    suggested: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.matched_topics:
            object.__setattr__(self, "matched_topics", ((),) * len(self.items))
        elif len(self.matched_topics) != len(self.items):
            raise ValueError(
                f"a digest of {len(self.items)} items needs as many matched_topics "
                f"entries, got {len(self.matched_topics)}"
            )

    def without(self, paper_ids: set[str]) -> Digest:
        """This digest less the items of ``paper_ids`` (found already posted)."""
        kept = [(item, topics) for item, topics in self.entries() if item.paper_id not in paper_ids]
        return replace(
            self,
            items=tuple(item for item, _ in kept),
            matched_topics=tuple(topics for _, topics in kept),
            maybe_posted=tuple(i for i in self.maybe_posted if i not in paper_ids),
            suggested=tuple(s for s in self.suggested if s[0] not in paper_ids),
        )

    def reason_for(self, paper_id: str) -> str | None:
        """Why the taste suggests ``paper_id``; None for a topic match."""
        return next((reason for i, reason in self.suggested if i == paper_id), None)

    def entries(self) -> Iterator[tuple[PaperItem, tuple[str, ...]]]:
        """Each item with the topics it matched, in order."""
        return zip(self.items, self.matched_topics, strict=True)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def header(self) -> str:
        """``3 new papers for breast mri, "low dose" ct · 2026-11-28``."""
        noun = "paper" if self.count == 1 else "papers"
        # Without topics the channel is the only thing the digest is "for".
        subject = ", ".join(self.topics) or self.channel
        return f"{self.count} new {noun} for {subject} · {self.date}"

    @property
    def footer(self) -> str | None:
        """``12 more matched: /papers search <query>``; None when nothing was left out."""
        if self.more <= 0:
            return None
        text = f"{self.more} more matched"
        if self.more_query is None:
            return text
        return f"{text}: /papers search {self.more_query}"


# The heading over a digest's suggested papers (``Digest.suggested``).
SUGGESTED_HEADING = "You may also like"


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A command's answer: text lines, then optional paper items.

    ``ephemeral`` replies are shown only to the person who asked, where the
    platform can; a renderer MAY post them publicly where it cannot.
    """

    text: str
    ephemeral: bool = True
    items: tuple[PaperItem, ...] = ()


@dataclass(frozen=True, kw_only=True)
class NothingNew:
    """The daily line for a channel that opted into hearing about quiet days."""

    channel: ChannelAddress
    date: str

    @property
    def text(self) -> str:
        return f"Nothing new today for {self.channel}."


@dataclass(frozen=True, kw_only=True)
class PaperNote:
    """Later news of a paper a channel was sent, for the thread of the message that carried it.

    ``thread`` is that message. ``version`` is the paper's new arXiv version
    (None: no new version, only code released), first seen on ``day`` (as
    the channel reads dates: ``4 Dec``); ``changed`` names what the version
    changed (``title``, ``abstract``, ``authors``); ``code`` are the code
    links that appeared on a paper that had none. ``title`` is the paper's
    title now: plain untrusted text, as everywhere here. ``lines`` are the
    note's own words (no untrusted text but the code labels, which a
    renderer escapes as it escapes titles).
    """

    channel: ChannelAddress
    paper_id: str
    title: str
    url: str | None
    thread: MessageRef
    version: int | None
    day: str
    changed: tuple[str, ...] = ()
    code: tuple[CodeLink, ...] = ()

    @property
    def lines(self) -> tuple[str, ...]:
        """``v3 posted 4 Dec: title changed, now with code`` and ``Code released: owner/repo``."""
        lines = []
        if self.version is not None:
            what = [f"{name} changed" for name in self.changed]
            if self.code:
                what.append("now with code")
            lines.append(f"v{self.version} posted {self.day}" + (f": {', '.join(what)}" if what else ""))
        if self.code:
            lines.append("Code released: " + ", ".join(link.label for link in self.code))
        return tuple(lines)


def short_authors(record: PaperRecord, *, limit: int = AUTHOR_LIMIT) -> str:
    """The first ``limit`` names, plus " et al." when there are more or the list was cut."""
    names = record.authors[:limit]
    more = len(record.authors) > limit or record.authors_truncated
    text = ", ".join(names) if names else "unknown authors"
    return text + (" et al." if more else "")


def first_sentence(text: str, *, limit: int = SNIPPET_LIMIT) -> str:
    """The first sentence of ``text``, whitespace collapsed, at most ``limit`` characters.

    A sentence longer than ``limit`` is cut on a word boundary and ends in "…".
    """
    text = " ".join(text.split())
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if not _ABBREVIATION.search(text[:end]):
            text = text[:end]
            break
    if len(text) <= limit:
        return text
    cut = text[: limit - len(_ELLIPSIS)]
    # Keep whole words unless one word alone fills the limit.
    if text[len(cut)] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + _ELLIPSIS


def paper_item(record: PaperRecord) -> PaperItem:
    """The message view of ``record``."""
    return PaperItem(
        paper_id=record.id,
        title=record.title,
        url=record.url,
        authors=short_authors(record),
        date=record.published.isoformat() if record.published else "undated",
        category=record.categories[0] if record.categories else "uncategorized",
        code_links=tuple(
            CodeLink(label=repo_label(url), url=url) for url in record.code_urls
        ),
        code_announced=record.has_code and not record.code_urls,
        snippet=first_sentence(record.abstract),
    )


@dataclass(frozen=True, kw_only=True)
class IncomingCommand:
    """What a person typed after ``/papers``, and where."""

    platform: str
    workspace_id: str
    channel_id: str
    user_id: str
    text: str
    # How the platform names that person, for lists people read ("" when unknown).
    user_name: str = ""

    @property
    def address(self) -> ChannelAddress:
        return ChannelAddress(self.platform, self.workspace_id, self.channel_id)
