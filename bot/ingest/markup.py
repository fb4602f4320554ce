"""Feed text as plain text, and telling an HTML page from a feed.

A feed's titles and summaries may be HTML (escaped once, or twice), or
plain text with TeX, and a seed file's lines whatever a page held; the
catalog keeps plain text on one line, and ``clean_text`` is the one
function that makes it, for every format. A
server's error page is HTML too: ``first_element``, ``starts_as_html`` and
``html_page`` recognise one by its first bytes, for the fetcher (which
refuses it) and the parser (which says why a document is no feed). No I/O.

Named ``markup``, not ``html``, so that it never reads as the standard
library's ``html`` package it uses.
"""

from __future__ import annotations

import re
from html import unescape
from html.entities import html5

__all__ = [
    "ASCII_SPACES",
    "clean_text",
    "collapse",
    "decode_entities",
    "first_element",
    "html_page",
    "html_title",
    "starts_as_html",
    "strip_markup",
]

# HTML's elements: a tag counts as markup only when it names one and is
# written as a tag is, so TeX's "$a<b$ and $c>d$" or "<x, y>" stays text.
_ELEMENTS = frozenset(
    "a abbr acronym address area article aside audio b base bdi bdo big blink blockquote body "
    "br button canvas caption center cite code col colgroup data datalist dd del details dfn "
    "dialog dir div dl dt em embed fieldset figcaption figure font footer form frame frameset "
    "h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li "
    "link main map mark marquee math menu meta meter nav nobr noembed noframes noscript object "
    "ol optgroup option output p param picture plaintext pre progress q rp rt ruby s samp "
    "script search section select slot small source span strike strong style sub summary sup "
    "svg table tbody td template textarea tfoot th thead time title tr track tt u ul var video "
    "wbr xmp".split()
)
# Elements that break a line: a space where they stand (inline ones leave
# nothing: H<sub>2</sub>O is H2O).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
# Elements whose content is no text: it goes with them.
_HIDDEN_TAGS = frozenset({"script", "style", "template"})
# A start or end tag. Quoted values hold no "<", so that no attempt reads
# past the next one, and a text full of "<" costs one pass.
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9]*)"
    r"(?:\s+[^\s\"'<>/=]+(?:\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'|[^\s\"'=<>`]+))?)*\s*/?>"
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Control characters, DEL and the BOM: gone, once C1 controls have become
# the windows-1252 characters they almost always are (as feedparser reads
# them). Whitespace controls become spaces with the rest of the whitespace.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x9f\ufeff]")
_CP1252 = {
    code: char
    for code in range(0x80, 0xA0)
    if (char := bytes([code]).decode("cp1252", "ignore"))
}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|rdf)\b")

# The whitespace characters of ASCII, doubled spaces for the space.
ASCII_SPACES = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def collapse(text: str) -> str:
    """``text`` on one line: whitespace runs become one space, none at the ends."""
    # Most long text is collapsed already, and checking costs a fraction of
    # splitting an abstract into words. Outside ASCII, every whitespace
    # character but the space is unprintable.
    if len(text) > 200 and text[0] != " " and text[-1] != " ":
        if text.isascii():
            if not any(space in text for space in ASCII_SPACES):
                return text
        elif text.isprintable() and "  " not in text:
            return text
    return " ".join(text.split())


def _entity(match: re.Match[str]) -> str:
    ref = match[0]
    # html.unescape would also read "&notit;" as "¬it;": names count whole.
    return unescape(ref) if ref[1] == "#" else html5.get(ref[1:], ref)


def decode_entities(text: str) -> str:
    """``text`` with its character references decoded, once: ``&amp;lt;`` -> ``&lt;``.

    Only references ended by ``;`` count, so ``AT&T`` or ``&copy 2024`` stay.
    """
    return _ENTITY.sub(_entity, text) if "&" in text else text


def strip_markup(text: str) -> str:
    """``text`` without HTML's tags and comments, script, style and template content dropped.

    A tag counts only when it names an HTML element and is written as a tag
    is; block elements leave a space. An element left open (``<script>``
    and no ``</script>``) loses its tag alone, an unclosed comment nothing.
    One pass: a text full of ``<`` costs no more than its length.
    """
    if "<" not in text:
        return text
    parts: list[str] = []
    at = search = 0
    lowered = text.lower()
    # Where the next end of a comment or a hidden element is, -1 for none:
    # each is looked for once past where it was last found.
    closes: dict[str, int] = {}

    def close(mark: str, start: int) -> int:
        found = closes.get(mark, 0)
        if 0 <= found < start:
            found = closes[mark] = lowered.find(mark, start)
        return found

    while (start := text.find("<", search)) >= 0:
        if text.startswith("<!--", start):
            end = close("-->", start + 4)
            if end < 0:
                search = start + 4  # text: no comment ends
            else:
                parts += [text[at:start], " "]
                at = search = end + 3
            continue
        tag = _TAG.match(text, start)
        name = tag[2].lower() if tag else ""
        if tag is None or name not in _ELEMENTS:
            search = start + 1
            continue
        parts += [text[at:start], " " if name in _BLOCK_TAGS else ""]
        at = search = tag.end()
        if name in _HIDDEN_TAGS and not tag[1] and (end := close("</" + name, at)) >= 0:
            end = text.find(">", end)
            at = search = len(text) if end < 0 else end + 1
    parts.append(text[at:])
    return "".join(parts)


def clean_text(text: str) -> str:
    """Plain text on one line, the same whatever wrote ``text``: a feed (RSS, Atom,
    arXiv's feeds and API, HTML or not) or a seed file. The one cleaner of the
    text ingestion stores: titles, abstracts, comments, author lists.

    - Markup goes (``strip_markup``): tags of HTML's elements and comments,
      and script, style and template elements with their content.
    - Entities are decoded once (``decode_entities``), after the markup
      went: ``&lt;b&gt;`` is text. A text that decoding turns into HTML was
      HTML escaped twice, as some feeds send it: it is read as HTML once more.
    - Control characters go (C1 ones read as windows-1252's characters, as
      feedparser reads them), and whitespace runs become one space.
    """
    if "<" in text or "&" in text:
        stripped = strip_markup(text)
        text = decode_entities(stripped)
        # Only a "<" that decoding made can start a tag left to read.
        if text.count("<") > stripped.count("<") and (html := strip_markup(text)) != text:
            text = strip_markup(decode_entities(html))
    text = collapse(text)
    # Printable text, the usual, holds no control character: a cheaper test.
    if not text.isprintable() and _CONTROLS.search(text):
        text = collapse(_CONTROLS.sub(lambda m: _CP1252.get(ord(m[0]), ""), text))
    return text


def first_element(head: bytes) -> bytes:
    """``head`` from its first tag on, past a BOM, an XML declaration and
    comments, lowercased, 64 bytes at most: enough to tell a feed from an
    HTML page.

    A scan, not a regular expression: nested optional comment patterns
    backtrack exponentially on a body made of many comments.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        end = text.find(b"?>")
        text = text[end + 2 :].lstrip() if end >= 0 else b""
    while text.startswith(b"<!--"):
        end = text.find(b"-->", 4)
        text = text[end + 3 :].lstrip() if end >= 0 else b""
    return text[:64].lower()


def starts_as_html(head: bytes) -> bool:
    """Whether the first element, past an XML declaration and comments, is HTML's."""
    start = first_element(head)
    return start.startswith(b"<html") or (
        start.startswith(b"<!doctype") and start[9:].lstrip().startswith(b"html")
    )


def html_title(data: bytes) -> str:
    """The page's ``<title>`` as plain text, 80 characters at most; "" when it has none.

    A scan, not a regular expression: a lazy pattern rescans the rest of the
    page from every ``<title`` that is never closed.
    """
    lowered = data.lower()
    start = lowered.find(b"<title")
    start = lowered.find(b">", start) + 1 if start >= 0 else 0
    end = lowered.find(b"</title>", start) if start else -1
    if end < 0:
        return ""
    return clean_text(data[start:end].decode("utf-8", "replace"))[:80]


def html_page(body: bytes, content_type: str) -> str | None:
    """What ``body`` is when it is an HTML page and no feed, in words; else None.

    ``content_type`` is the media type alone, lowercase. Some servers label
    real feeds text/html; a feed's root element tells them apart.
    """
    head = body[:4096]
    html = starts_as_html(head)
    if not html and content_type in _HTML_TYPES:
        xml = head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<?xml")
        html = not xml and not _FEED_ROOT.match(first_element(head))
    if not html:
        return None
    title = html_title(body[:65536])
    got = content_type or "an HTML page"
    if content_type not in _HTML_TYPES:
        got = f"an HTML page served as {content_type}" if content_type else "an HTML page"
    return got + (f" ({title!r})" if title else "")
