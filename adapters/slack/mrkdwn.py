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
never inside an entity or between a mark and its guard: the cleaning,
shortening and splitting are ``bot.text.fitting``'s, which counts lengths
in UTF-16 code units, as Slack does.

Links are ``<url|label>`` (``link``), with any ``|`` in the label made a
look-alike, and only for an ``http(s)`` URL with a host and no whitespace,
``|``, ``<``, ``>`` or control characters (``safe_url``). Any other URL is
not linked: the label alone is shown.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.text import fitting
from bot.text.fitting import clean_lines, escaped_pieces, has_unsafe, width

__all__ = ["URL_LIMIT", "chunks", "escape", "inline", "link", "pieces", "plain", "safe_url"]

# The longest URL, once escaped, that ``safe_url`` links unless told otherwise.
URL_LIMIT = 800

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
_SAFE_URL = re.compile(r"https?://[^\s|<>]+", re.IGNORECASE)
_SMALLEST_CHUNK = 8


def _plain_piece(char: str, line_start: bool) -> str:
    # plain_text never mentions anyone; the joiner there is belt and braces.
    return "@" + _WORD_JOINER if char == "@" else _ENTITIES.get(char, char)


def _mrkdwn_piece(char: str, line_start: bool) -> str:
    if char == "@":
        return "@" + _WORD_JOINER
    piece = _LOOKALIKES.get(char) or _ENTITIES.get(char, char)
    return _SOFT_HYPHEN + piece if line_start and char in _QUOTE_MARKS else piece


def pieces(text: str, *, mrkdwn: bool = True) -> list[str]:
    """One escaped piece per character of ``text`` (already cleaned).

    Pieces keep an entity, or a mark and the invisible character guarding
    it, together, so text is only ever shortened or split between pieces.
    """
    return escaped_pieces(text, _mrkdwn_piece if mrkdwn else _plain_piece)


def _plain_pieces(text: str) -> list[str]:
    return pieces(text, mrkdwn=False)


def escape(text: str) -> str:
    """``text`` as mrkdwn that shows exactly ``text`` and does nothing else.

    Lines are kept; everything else follows the module contract: entities
    for ``&<>``, look-alikes for ``*_~```, a guarded leading ``>``, a word
    joiner after ``@``, no control or bidirectional characters.
    """
    return "".join(pieces(clean_lines(text)))


def inline(text: str, limit: int, *, default: str = "") -> str:
    """One line of untrusted ``text`` as mrkdwn, at most ``limit`` characters."""
    return fitting.fit_line(text, limit, pieces, default=default)


def plain(text: str, limit: int, *, default: str) -> str:
    """One line of untrusted ``text`` for a plain_text object (no mrkdwn there)."""
    return fitting.fit_line(text, limit, _plain_pieces, default=default)


def _guard_quote(chunk: str) -> str:
    # A chunk starts a new section, so a ">" it starts with needs the guard too.
    return _SOFT_HYPHEN + chunk if chunk.startswith(("&gt;", "\uff1e")) else chunk


def chunks(text: str, limit: int) -> list[str]:
    """Escaped ``text`` (lines kept) in pieces of at most ``limit`` characters.

    Each cut falls at the last line break in reach, else the last space,
    else anywhere between two escaped pieces. ``limit`` must be at least 8:
    an escaped piece can take six characters (``&amp;`` and a joiner), and a
    chunk keeps one for the quote guard.
    """
    if limit < _SMALLEST_CHUNK:
        raise ValueError(f"chunks need a limit of at least {_SMALLEST_CHUNK}, got {limit}")
    parts = pieces(clean_lines(text))
    return fitting.chunks(parts, limit, guard=_guard_quote, guard_width=len(_SOFT_HYPHEN))


def safe_url(url: str | None, *, limit: int = URL_LIMIT) -> str | None:
    """``url`` ready to go between ``<`` and ``|``, or None when it must not be linked.

    Only ``http(s)`` URLs with a host and no whitespace, ``|``, ``<``, ``>``
    or control characters, at most ``limit`` characters once ``&`` is
    escaped, are linked.
    """
    if not url:
        return None
    url = url.strip()
    if not _SAFE_URL.fullmatch(url) or has_unsafe(url):
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
