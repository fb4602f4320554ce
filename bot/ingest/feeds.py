"""Feed documents into ``PaperRecord`` values: the parsing half of ingestion.

I/O: none. The fetcher hands over the bytes it downloaded and the response
headers that say how to read them (``Content-Type`` for the charset,
``Content-Location`` as the base of relative links). feedparser gets the
bytes as a stream, so nothing here is ever taken for a URL or a file name.
arXiv's announcement feeds, the big ones, are read several times faster
(see docs/benchmarks.md, section "Feed parsing") by
``bot.ingest.arxiv`` into the same raw entries feedparser would give;
anything it cannot read exactly as feedparser does goes to feedparser.

Formats: arXiv's announcement feeds (rss.arxiv.org, RSS and Atom, with
``arXiv:2402.12345v2 Announce Type: new`` before the abstract), arXiv API
pages (export.arxiv.org/api), and any RSS 1.0/2.0 or Atom 1.0 feed.
Each entry is read by ``bot.ingest.entries``; its id is
``bot.ingest.identity``'s rule: arXiv id, else DOI, else link, else title.

Bad input never raises. An entry without a title or anything to identify
it is skipped with its reason, never returned half; so is an entry an XML
error fell in, while the rest of a malformed document is kept. A document
that is not a feed at all (an HTML error page) is an ``error``, not an
empty feed; an empty arXiv feed (weekends, holidays) is just empty.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import feedparser

from bot.gcpause import paused_gc
from bot.ingest import feedmail
from bot.ingest.arxiv import read_announcement
from bot.ingest.entries import DATE_KEYS, FeedEntry, SkippedEntry, read_entry, written_date
from bot.ingest.markup import collapse, html_title, starts_as_html
from bot.model.papers import PaperRecord

__all__ = [
    "ParsedFeed",
    "parse_feed",
]

log = logging.getLogger(__name__)

# feedparser's author e-mail search is quadratic in a word's length (issue 14).
feedmail.install()

# Served as text/html, or a charset header that the XML overrides: the
# document itself is fine.
_BENIGN_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
_ENTRY_NAMES = frozenset({"item", "entry"})
_ENTRY_TAG = re.compile(
    r"<(?P<close>/?)(?:[\w.-]+:)?(?:item|entry)\b[^<>]*?(?P<empty>/?)>", re.IGNORECASE
)


@dataclass(frozen=True, kw_only=True)
class ParsedFeed:
    """What one feed document yielded.

    ``malformed`` is feedparser's complaint (``bozo``) when the XML was not
    clean; ``entries`` then hold what parsed cleanly. ``error`` says why the
    document gave nothing to store: it is no feed at all (``not_a_feed``),
    or a feed that reports an error (arXiv's error feed, an API error entry).
    """

    source: str
    title: str = ""  # the feed's own title
    format: str = ""  # feedparser's version: "rss20", "rss10", "atom10", ...
    entries: tuple[FeedEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    malformed: str | None = None
    not_a_feed: bool = False
    error: str | None = None

    @property
    def records(self) -> tuple[PaperRecord, ...]:
        return tuple(entry.record for entry in self.entries)

    @property
    def seen(self) -> int:
        """Entries in the document, kept or skipped."""
        return len(self.entries) + len(self.skipped)

    @property
    def ok(self) -> bool:
        """False when the document should mark its feed failing."""
        return self.error is None

    def summary(self) -> str:
        """``feed=cs.CV seen=5 parsed=4 skipped=1``, then any trouble."""
        line = f"feed={self.source} seen={self.seen} parsed={len(self.entries)}"
        line += f" skipped={len(self.skipped)}" + (" malformed" if self.malformed else "")
        return line + (f" error={self.error!r}" if self.error else "")


@dataclass(frozen=True)
class _Break:
    """Where a strict XML reading of a document stops, and what it read before.

    ``line`` and ``column`` are the document's own (1-based line, 0-based
    column); ``at`` is the offset in its text. ``complete`` entries were
    read to their end before it; ``inside`` says whether it fell in the next.
    """

    line: int
    column: int
    at: int
    message: str
    complete: int
    inside: bool


def _find_break(text: str) -> _Break | None:
    """The first XML error in ``text``, read as feedparser's strict parser would; None if none.

    feedparser reports its error on the document it rewrote first (its
    DOCTYPE dropped, its XML declaration replaced), so its line numbers can
    point a line or more before the break. This reads the text as it came.
    No namespaces: an undeclared prefix breaks no entry. A reference to an
    entity feedparser drops (an external one, or one only an external DTD
    declares) breaks the document, as for feedparser; none is ever fetched,
    and expat bounds the expansion of the others.
    """
    parser = expat.ParserCreate(encoding="utf-8")  # the text's own encoding, re-encoded
    depth = complete = 0

    def undefined(*_: object) -> int:
        raise _UndefinedEntity

    def start(name: str, attributes: object) -> None:
        nonlocal depth
        if depth or name.rpartition(":")[2].lower() in _ENTRY_NAMES:
            depth += 1

    def end(name: str) -> None:
        nonlocal depth, complete
        if depth:
            depth -= 1
            complete += depth == 0

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.ExternalEntityRefHandler = undefined
    parser.SkippedEntityHandler = undefined
    data = text.encode("utf-8", "replace")
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        line, column, index = exc.lineno, exc.offset, parser.ErrorByteIndex
        message = expat.ErrorString(exc.code)
    except _UndefinedEntity:
        line, column = parser.CurrentLineNumber, parser.CurrentColumnNumber
        index, message = parser.CurrentByteIndex, "undefined entity"
    else:
        return None
    at = len(data[:index].decode("utf-8", "replace"))
    return _Break(line, column, at, message, complete, depth > 0)


class _UndefinedEntity(Exception):
    """A reference to an entity feedparser would not know, met by ``_find_break``."""


def _entry_spans(text: str) -> list[tuple[int, int | None]]:
    """Where each entry of ``text`` starts and ends, by its tags; no end when left open."""
    spans: list[tuple[int, int | None]] = []
    opened: int | None = None
    for match in _ENTRY_TAG.finditer(text):
        if match["close"] or match["empty"]:
            start = match.start() if match["empty"] else opened
            if start is not None:
                spans.append((start, match.end()))
            opened = None if match["close"] else opened
        else:
            if opened is not None:
                spans.append((opened, None))
            opened = match.start()
    return spans + ([(opened, None)] if opened is not None else [])


def _damaged(text: str, at: _Break, count: int) -> set[int]:
    """Positions of the entries the XML error touched: the one it is in, any it left open.

    The entries read to their end before the error are whole. feedparser
    re-reads a broken document leniently and returns what it could after
    the error too, even an entry cut off half-way: one the error fell in or
    left open is damaged; when the document's entries do not line up with
    feedparser's, every entry from the error on is.
    """
    damaged = {at.complete + 1} if at.inside else set()
    spans = _entry_spans(text)
    if len(spans) != count:
        return damaged | set(range(at.complete + 1, count + 1))
    return damaged | {
        i
        for i, (s, e) in enumerate(spans, start=1)
        if i > at.complete and (e is None or s <= at.at <= e)
    }


def _text_of(data: bytes, encoding: str) -> str | None:
    """``data`` as text in the encoding feedparser found; None when it has no such codec."""
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return None


def _not_a_feed(data: bytes, content_type: str) -> str:
    """Why ``data`` is no feed, in words for the person reading ``feeds list``."""
    if not data.strip():
        return "the response was empty, not a feed"
    if starts_as_html(data[:1024]) or content_type.startswith("text/html"):
        title = html_title(data[:65536])
        named = f" ({title!r})" if title else ""
        return f"the server sent an HTML page{named}, not an RSS or Atom feed"
    return "the document is not an RSS or Atom feed (no feed title, version or entries)"


def parse_feed(data: bytes, *, source: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse one fetched feed document; ``source`` labels the feed and its records.

    ``headers`` are the HTTP response headers as feedparser takes them
    (``Content-Type``, ``Content-Location``, ...), names in any case.

    arXiv's announcement feeds are read by ``bot.ingest.arxiv``, every
    other document by feedparser (``_parse_with_feedparser``); both
    readings give the same result for an announcement feed, and anything
    out of the ordinary in one sends it to feedparser.
    """
    with paused_gc():  # a few hundred thousand objects, no cycles: see bot.gcpause
        return _parse(data, source=source, headers=headers)


def _parse(data: bytes, *, source: str, headers: Mapping[str, str] | None) -> ParsedFeed:
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    try:
        announcement = read_announcement(data, lowered)
    except Exception:  # a slip in the fast reader must not lose the feed
        log.exception("feed %s: the arXiv reader failed; reading it with feedparser", source)
        announcement = None
    if announcement is None or not all(
        written_date(str(raw[key]))  # feedparser's own date reading is not at hand
        for raw in announcement.entries
        for key in DATE_KEYS
        if raw.get(key)
    ):
        return _parse_with_feedparser(data, source=source, headers=lowered)
    base = {"source": source, "title": collapse(announcement.title), "format": announcement.format}
    return _read_entries(base, announcement.entries, {})


def _parse_with_feedparser(
    data: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """``parse_feed`` by feedparser alone, whatever the document."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    # The sanitizer and the URI resolver rewrite whatever looks like markup,
    # and arXiv's "$a<b$ and $c>d$" does. Both are off: titles and summaries
    # leave here as plain text (bot.ingest.markup.clean_text), safer than sanitized HTML.
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=lowered, sanitize_html=False, resolve_relative_uris=False
    )
    feed = parsed.get("feed") or {}
    base: dict[str, Any] = {
        "source": source,
        "title": collapse(str(feed.get("title") or "")),
        "format": str(parsed.get("version") or ""),
    }
    raw_entries = list(parsed.get("entries") or ())
    damaged: dict[int, str] = {}
    bozo = parsed.get("bozo_exception")
    if parsed.get("bozo") and bozo is not None and not isinstance(bozo, _BENIGN_BOZO):
        text = _text_of(data, str(parsed.get("encoding") or "utf-8"))
        found = _find_break(text) if text is not None else None
        if found is not None:
            line = found.line
            base["malformed"] = f"not well-formed XML at line {line}, column {found.column}: "
            base["malformed"] += found.message
            reason = f"the XML error at line {line} damaged it; skipped"
            damaged = dict.fromkeys(_damaged(text or "", found, len(raw_entries)), reason)
        elif hasattr(bozo, "getLineNumber"):  # a namespace error: every entry is whole
            # feedparser puts an XML declaration line before a document without one.
            shift = 0 if (text or "").lstrip("\ufeff").startswith("<?xml") else 1
            line, column = max(1, (bozo.getLineNumber() or 1) - shift), bozo.getColumnNumber() or 0
            base["malformed"] = f"not well-formed XML at line {line}, column {column}: "
            base["malformed"] += bozo.getMessage()
        else:
            base["malformed"] = f"{type(bozo).__name__}: {bozo}"

    if not raw_entries and not base["title"] and not base["format"]:
        content_type = lowered.get("content-type", "").strip().lower()
        return ParsedFeed(**base, not_a_feed=True, error=_not_a_feed(data, content_type))
    if base["title"].lower().startswith("feed error for query"):
        detail = collapse(str(feed.get("subtitle") or ""))
        return ParsedFeed(**base, error=f"arXiv answered with an error: {base['title']} {detail}")
    for raw in raw_entries:
        if "arxiv.org/api/errors" in str(raw.get("id") or ""):
            detail = collapse(str(raw.get("summary") or raw.get("title") or ""))
            return ParsedFeed(**base, error=f"the arXiv API answered with an error: {detail}")
    return _read_entries(base, raw_entries, damaged)


def _read_entries(
    base: dict[str, Any], raw_entries: Iterable[Any], damaged: Mapping[int, str]
) -> ParsedFeed:
    """The feed with its entries read; ``damaged`` maps positions to skip to why."""
    source = base["source"]
    entries: list[FeedEntry] = []
    skipped: list[SkippedEntry] = []
    for position, raw in enumerate(raw_entries, start=1):
        result: FeedEntry | SkippedEntry
        if position in damaged:
            entry_id = collapse(str(raw.get("id") or ""))
            result = SkippedEntry(position, damaged[position], entry_id)
        else:
            try:
                result = read_entry(raw, position, source)
            except Exception as exc:  # one strange entry must not sink the feed
                log.exception("feed %s: entry %d could not be read", source, position)
                result = SkippedEntry(position, f"unreadable ({type(exc).__name__}); skipped")
        if isinstance(result, FeedEntry):
            entries.append(result)
        else:
            skipped.append(result)
    parsed_feed = ParsedFeed(**base, entries=tuple(entries), skipped=tuple(skipped))
    log.debug("%s", parsed_feed.summary())
    return parsed_feed
