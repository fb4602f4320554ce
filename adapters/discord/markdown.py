"""Discord markdown text safety: escaping untrusted text, safe links, lengths. No I/O.

``adapters.discord.render`` lays out messages; this module turns the
untrusted strings that go into them (title, authors, date, category,
topics, snippet, code label, header and footer, a reply's text, an
abstract) into text that shows exactly what it says and does nothing
else. ``escape``, ``inline`` and ``chunks`` give markdown, for where
Discord renders it (content, embed title, description); ``plain`` is
their twin for footers and author names, which render none. The
contract:

- Mentions. A zero-width space after every ``@`` and ``<`` means
  ``@everyone``, ``@here``, ``<@1>``, ``<@&2>``, ``<#3>``, ``</cmd:4>``,
  ``<t:5>`` and custom emoji all show as plain text (the renderer also
  sends ``AllowedMentions.none()``).
- Markdown. ``\\ * _ ~ ` | [ ]`` get a backslash everywhere and
  ``> # -`` at a line start (quote, heading, ``-#`` subtext, list): no
  bold, spoiler, code block or ``[text](url)``.
  ``discord.utils.escape_markdown`` is not used: it puts one backslash
  before a whole ``[..](..)``, leaving its inside live, and leaves ``]``;
  ``escape_mentions`` misses ``<#..>``, ``</..>`` and ids of odd length.
- Unfurling. With ``content=True``, for message content, the only place
  Discord unfurls links into previews, ``://`` and ``discord.gg``-style
  invites also get a zero-width space.
- Plain text (``plain``: footers, which render no markdown) gets only the
  zero-width spaces.
- Control characters and bidirectional overrides become spaces, lone
  surrogates U+FFFD, so nothing can reorder or hide text.

Text is only ever shortened (with "…") or split between escaped pieces,
never between a character and its backslash or zero-width space; a chunk
that starts with a line-start marker gets its backslash. The cleaning,
shortening and splitting are ``bot.text.fitting``'s, which counts lengths
in UTF-16 code units, never fewer than ``len``.

Links are ``[label](url)`` (``link``), the label made by ``link_label``
with its brackets as full-width look-alikes, and only to a URL
``safe_url`` passes; otherwise the label alone shows.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.text import fitting
from bot.text.fitting import clean_lines, escaped_pieces

__all__ = [
    "URL_LIMIT",
    "chunks",
    "escape",
    "inline",
    "link",
    "link_label",
    "pieces",
    "plain",
    "safe_url",
]

# The longest URL that ``safe_url`` links unless told otherwise.
URL_LIMIT = 512

_ZWSP = "\u200b"  # what discord.utils.escape_mentions puts after "@"
_MARKERS = frozenset("\\*_~`|[]")
_LINE_MARKERS = frozenset(">#-")  # quote, heading and "-#" subtext, list
_LABEL_BRACKETS = str.maketrans("[]", "\uff3b\uff3d")  # full-width look-alikes

# Content only: where a link would be autolinked and unfurled, or an invite carded.
_UNFURL = re.compile(r":(?=//)|\bdiscord(?:app)?(?=\.(?:gg|com|io|me|li)\b)", re.IGNORECASE)
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#!$&*+,;=%]+", re.IGNORECASE)
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_SMALLEST_CHUNK = 3


def _plain_piece(char: str, line_start: bool) -> str:
    return char + _ZWSP if char in "@<" else char


def _markdown_piece(char: str, line_start: bool) -> str:
    if char in "@<":
        return char + _ZWSP
    if char in _MARKERS or (line_start and char in _LINE_MARKERS):
        return "\\" + char
    return char


def pieces(text: str, *, markdown: bool = True, content: bool = False) -> list[str]:
    """One escaped piece per character of ``text`` (already cleaned).

    A piece keeps a character and its backslash or zero-width space
    together, so text is only ever shortened or split between pieces.
    """
    result = escaped_pieces(text, _markdown_piece if markdown else _plain_piece)
    if content:
        for match in _UNFURL.finditer(text):
            result[match.end() - 1] += _ZWSP
    return result


def _plain_pieces(text: str) -> list[str]:
    return pieces(text, markdown=False)


def _content_pieces(text: str) -> list[str]:
    return pieces(text, content=True)


def escape(text: str, *, content: bool = False) -> str:
    """``text`` as Discord markdown that shows exactly ``text`` and does nothing else.

    Lines are kept; the rest follows the module contract. ``content=True``
    is for message content, where links and invites would also unfold.
    """
    return "".join(pieces(clean_lines(text), content=content))


def inline(text: str, limit: int, *, default: str = "", content: bool = False) -> str:
    """One line of untrusted ``text`` as markdown, at most ``limit`` characters."""
    return fitting.fit_line(text, limit, _content_pieces if content else pieces, default=default)


def plain(text: str, limit: int) -> str:
    """One line of untrusted ``text`` for a footer or author name (no markdown there)."""
    return fitting.fit_line(text, limit, _plain_pieces)


def _guard_marker(chunk: str) -> str:
    # A chunk starts a line wherever it goes, so its first marker needs a backslash too.
    return "\\" + chunk if chunk[:1] in _LINE_MARKERS else chunk


def chunks(text: str, limit: int, *, content: bool = False) -> list[str]:
    """Escaped ``text`` (lines kept) in pieces of at most ``limit`` characters.

    Each cut falls at the last line break in reach, else the last space,
    else anywhere between two escaped pieces. ``limit`` must be at least 3:
    a piece can take two characters, and a chunk keeps one for a backslash.
    """
    if limit < _SMALLEST_CHUNK:
        raise ValueError(f"chunks need a limit of at least {_SMALLEST_CHUNK}, got {limit}")
    parts = pieces(clean_lines(text), content=content)
    return fitting.chunks(parts, limit, guard=_guard_marker, guard_width=1)


def safe_url(url: str | None, *, limit: int = URL_LIMIT) -> str | None:
    """``url`` stripped, when it may be an embed ``url`` or a ``[label](url)`` target; else None.

    Only ``http(s)`` URLs with a dotted host name and none but the
    characters ``A-Z a-z 0-9 - . _ ~ : / ? # ! $ & * + , ; = %``, at most
    ``limit`` characters, are linked: no space or control character can end
    the link early, no ``)`` or ``]`` can close the markdown around it, and
    no ``@`` can put a look-alike host in front of the real one.
    """
    if not url:
        return None
    url = url.strip()
    if len(url) > limit or not _SAFE_URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a malformed port
    except ValueError:
        return None
    return url if host and _HOST.fullmatch(host) else None


def link_label(text: str, limit: int) -> str:
    """One line of untrusted ``text`` as a ``[label](url)`` label, at most ``limit`` characters.

    Its ``[`` and ``]`` become full-width look-alikes before escaping: a
    bracket, even escaped, ends Discord's link label early.
    """
    return inline(text.translate(_LABEL_BRACKETS), limit)


def link(url: str | None, label: str) -> str:
    """``[label](url)`` for a safe URL (from ``safe_url``), else the label alone.

    ``label`` is escaped text from ``link_label``.
    """
    return f"[{label}]({url})" if url else label
