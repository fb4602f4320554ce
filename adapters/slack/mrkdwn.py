"""Slack mrkdwn text safety: escaping untrusted text, safe links, lengths. No I/O.

``adapters.slack.render`` lays out messages; this module turns the untrusted
strings that go into them (title, authors, date, category, topics, snippet,
code-link label, the header and footer built from them, a reply's text with
its user queries, an abstract) into text that shows exactly what it says
and does nothing else. ``escape``, ``inline`` and ``chunks`` give mrkdwn;
``plain`` is their twin for plain_text objects (header blocks). The
contract:

- ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;``: with no raw
  ``<``, untrusted text cannot write ``<!channel>``, ``<@U123>``,
  ``<#C123>`` or a disguised ``<https://evil|arxiv.org>`` link;
- mrkdwn markers have no escape in Slack, so ``*``, ``_``, ``~`` and
  backticks (and their full-width forms) become look-alike characters,
  and a ``>`` that starts a line (a block quote) gets an invisible soft
  hyphen in front (plain_text headers need neither);
- ``@`` is followed by an invisible word joiner, and the renderer makes
  every mrkdwn object ``verbatim``, so a bare ``@channel`` or ``#general``
  is never turned into a mention or a channel link;
- control characters and bidirectional overrides become spaces and lone
  surrogates U+FFFD, so nothing can reorder or hide text.

Text is only ever shortened (with "…") or split between escaped pieces,
never inside an entity or between a mark and its guard. Lengths are
counted by ``width``, in UTF-16 code units, as Slack counts them.

Links are ``<url|label>`` (``link``), with any ``|`` in the label made a
look-alike, and only for an ``http(s)`` URL with a host and no whitespace,
``|``, ``<``, ``>`` or control characters (``safe_url``). Any other URL is
not linked: the label alone is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = [
    "URL_LIMIT",
    "chunks",
    "clean_line",
    "escape",
    "fit",
    "inline",
    "link",
    "pieces",
    "plain",
    "safe_url",
    "width",
]

# The longest URL, once escaped, that ``safe_url`` links unless told otherwise.
URL_LIMIT = 800

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
# embeddings, overrides and isolates (as in bot.text.terminal).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SAFE_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


def width(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as limits are counted here."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean_line(text: str) -> str:
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


def pieces(text: str, *, mrkdwn: bool = True) -> list[str]:
    """One escaped piece per character of ``text`` (already cleaned).

    Pieces keep an entity, or a mark and the invisible character guarding
    it, together, so text is only ever shortened or split between pieces.
    """
    result: list[str] = []
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
        result.append(piece)
        if char == "\n":
            line_start = True
        elif not char.isspace():
            line_start = False
    return result


def fit(parts: Sequence[str], limit: int) -> str:
    """Escaped pieces ``parts`` joined, shortened with "…" to at most ``limit`` characters."""
    if width("".join(parts)) <= limit:
        return "".join(parts)
    kept: list[str] = []
    used = 0
    for piece in parts:
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
    return "".join(pieces(_clean_lines(text)))


def inline(text: str, limit: int, *, default: str = "") -> str:
    """One line of untrusted ``text`` as mrkdwn, at most ``limit`` characters."""
    # Every character takes at least one: past limit + 1 nothing can change the result.
    return fit(pieces((clean_line(text) or default)[: limit + 1]), limit)


def plain(text: str, limit: int, *, default: str) -> str:
    """One line of untrusted ``text`` for a plain_text object (no mrkdwn there)."""
    return fit(pieces((clean_line(text) or default)[: limit + 1], mrkdwn=False), limit)


def chunks(text: str, limit: int) -> list[str]:
    """Escaped ``text`` (lines kept) in pieces of at most ``limit`` characters.

    Each cut falls at the last line break in reach, else the last space,
    else anywhere between two escaped pieces. ``limit`` must be at least 8:
    an escaped piece can take six characters (``&amp;`` and a joiner), and a
    chunk keeps one for the quote guard.
    """
    if limit < 8:
        raise ValueError(f"chunks need a limit of at least 8, got {limit}")
    parts = pieces(_clean_lines(text))
    # A chunk starts a new section, so a ">" it starts with needs the guard too.
    room = limit - len(_SOFT_HYPHEN)
    result: list[str] = []
    start = 0
    while start < len(parts):
        end, used = start, 0
        while end < len(parts):
            size = len(parts[end]) if parts[end].isascii() else width(parts[end])
            if used + size > room:
                break
            used += size
            end += 1
        if end < len(parts):
            window = parts[start:end]
            for mark in ("\n", " "):
                if mark in window[1:]:
                    end = start + len(window) - 1 - window[::-1].index(mark)
                    break
        chunk = "".join(parts[start:end]).strip()
        if chunk.startswith(("&gt;", "\uff1e")):
            chunk = _SOFT_HYPHEN + chunk
        if chunk:
            result.append(chunk)
        start = end
    return result


def safe_url(url: str | None, *, limit: int = URL_LIMIT) -> str | None:
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


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for a safe URL (from ``safe_url``), else the label alone.

    A ``|`` in the label becomes a look-alike: Slack splits a link at a pipe,
    and a title must not get to choose where.
    """
    return f"<{url}|{label.replace('|', _PIPE)}>" if url else label
