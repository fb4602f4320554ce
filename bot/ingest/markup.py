"""Feed text as plain text, and telling an HTML page from a feed.

A feed's titles and summaries may be HTML (escaped once, or twice); the
catalog keeps plain text on one line (``html_to_text``, ``collapse``). A
server's error page is HTML too: ``first_element``, ``starts_as_html`` and
``html_page`` recognise one by its first bytes, for the fetcher (which
refuses it) and the parser (which says why a document is no feed). No I/O.

Named ``markup``, not ``html``, so that it never reads as the standard
library's ``html`` package it uses.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

__all__ = [
    "ASCII_SPACES",
    "collapse",
    "content_text",
    "first_element",
    "html_page",
    "html_title",
    "html_to_text",
    "starts_as_html",
]

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_HIDDEN_TAGS = frozenset({"script", "style", "template"})
# Markup still there after one pass: the feed escaped its HTML twice.
_LEFTOVER_MARKUP = re.compile(
    r"</?(?:a|b|br|div|em|h[1-6]|i|img|li|ol|p|span|strong|sub|sup|table|td|tr|u|ul)\b[^<>]*>"
    r"|&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);",
    re.IGNORECASE,
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:rss|feed|rdf)\b")

# The whitespace characters of ASCII, doubled spaces for the space.
ASCII_SPACES = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in _HIDDEN_TAGS
        self.parts.append(" " if tag in _BLOCK_TAGS else "")

    def handle_endtag(self, tag: str) -> None:
        self.hidden = max(0, self.hidden - (tag in _HIDDEN_TAGS))
        self.parts.append(" " if tag in _BLOCK_TAGS else "")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


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


def html_to_text(html: str) -> str:
    """Plain text on one line: tags dropped, entities decoded, whitespace collapsed.

    Script and style contents go; block elements become spaces and inline
    ones nothing (``H<sub>2</sub>O`` -> ``H2O``).
    """
    text = html
    for _ in range(2):
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = collapse("".join(extractor.parts))
        if not _LEFTOVER_MARKUP.search(text):
            break
    return text


def content_text(detail: Any, value: str) -> str:
    """A title or summary as plain text, read as HTML only when the feed says so."""
    kind = (detail or {}).get("type", "text/plain")
    return html_to_text(value) if kind in _HTML_TYPES else collapse(value)


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
    return html_to_text(data[start:end].decode("utf-8", "replace"))[:80]


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
