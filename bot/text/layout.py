"""What every chat renderer lays out the same way, in any markup. No I/O.

Slack and Discord show a paper the same way under its title: ``authors ·
date · category``, its code links or "Code announced (no link yet)", the
topics it matched, its snippet. ``meta_line``, ``code_line`` and
``topics_line`` write those lines, each within a cap; the adapter hands in
its escaping (a ``FitLine`` such as ``adapters.slack.mrkdwn.inline``, or a
``pieces`` function) and its links, so no platform's markup is known here.
``continued`` opens each message after the first of a split digest or
reply, and ``by_kind`` sends a neutral message to the renderer for its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from bot.model.messages import CodeLink, Digest, NothingNew, PaperItem, Reply
from bot.text.fitting import clean_line, fit, width

__all__ = ["FitLine", "by_kind", "code_line", "continued", "meta_line", "topics_line"]

Shown = TypeVar("Shown")

# Room kept on a code line for " and 99999 more", whatever is left out.
_MORE_ROOM = 20


class FitLine(Protocol):
    """One line of untrusted text, escaped, at most ``limit`` characters (``default`` if empty)."""

    def __call__(self, text: str, limit: int, *, default: str = "") -> str: ...


def meta_line(
    item: PaperItem, inline: FitLine, *, authors_cap: int, date_cap: int, category_cap: int
) -> str:
    """``authors · date · category``, each escaped by ``inline`` within its cap."""
    authors = inline(item.authors, authors_cap, default="unknown authors")
    date = inline(item.date, date_cap, default="undated")
    category = inline(item.category, category_cap, default="uncategorized")
    return f"{authors} · {date} · {category}"


def code_line(item: PaperItem, shown: Callable[[CodeLink], str], *, cap: int) -> str | None:
    """``Code: <link>, <link> and N more`` within ``cap``, as ``shown`` writes each link.

    "Code announced (no link yet)" for code announced without a link, None
    for no code. The first link is kept however long: the caps ``shown``
    writes it within are the caller's, to keep the line within ``cap``.
    """
    if not item.code_links:
        return "Code announced (no link yet)" if item.code_announced else None
    prefix = "Code: "
    room = cap - len(prefix) - _MORE_ROOM
    links: list[str] = []
    for code in item.code_links:
        link = shown(code)
        if links and width(", ".join([*links, link])) > room:
            break
        links.append(link)
    rest = len(item.code_links) - len(links)
    return prefix + ", ".join(links) + (f" and {rest} more" if rest else "")


def topics_line(
    matched: Sequence[str], pieces: Callable[[str], list[str]], *, cap: int
) -> str | None:
    """``Matched: a; b; c``, escaped by ``pieces`` and shortened within ``cap``; None for none."""
    parts: list[str] = []
    for topic in filter(None, (clean_line(t)[: cap + 1] for t in matched)):
        parts += ["; "] if parts else []
        parts += pieces(topic)
    prefix = "Matched: "
    return prefix + fit(parts, cap - len(prefix)) if parts else None


def continued(number: int, total: int) -> str:
    """The line that opens message ``number`` of ``total`` after the first."""
    return f"… continued ({number}/{total})"


def by_kind(
    message: Digest | NothingNew | Reply,
    *,
    digest: Callable[[Digest], Shown],
    nothing_new: Callable[[NothingNew], Shown],
    reply: Callable[[Reply], Shown],
) -> Shown:
    """``message`` as the renderer for its kind shows it.

    The kinds are decided here once: a new kind of message, added here with
    its keyword, makes every renderer name what shows it.
    """
    if isinstance(message, Digest):
        return digest(message)
    if isinstance(message, NothingNew):
        return nothing_new(message)
    return reply(message)
