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
Identity is ``feed_paper_id``'s: arXiv id, else DOI, else link, else title.

Bad input never raises. An entry without a title or anything to identify
it is skipped with its reason, never returned half; so is an entry an XML
error fell in, while the rest of a malformed document is kept. A document
that is not a feed at all (an HTML error page) is an ``error``, not an
empty feed; an empty arXiv feed (weekends, holidays) is just empty.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import feedparser

from bot.ingest.arxiv import read_announcement
from bot.gcpause import paused_gc
from bot.model.links import CODE_HOSTS, PROJECT_HOST_SUFFIXES, Links, extract_links
from bot.model.papers import PaperRecord, normalize_category, paper_id_for, split_arxiv_id

__all__ = [
    "ANNOUNCE_TYPES",
    "FeedEntry",
    "ParsedFeed",
    "SkippedEntry",
    "feed_paper_id",
    "first_element",
    "html_to_text",
    "normalize_doi",
    "parse_feed",
    "split_authors",
]

log = logging.getLogger(__name__)

# Only "new" and "cross" announce a paper to a category; the replacements
# announce a new version of a paper already announced.
ANNOUNCE_TYPES: tuple[str, ...] = ("new", "cross", "replace", "replace-cross")
_ANNOUNCING = frozenset({"new", "cross"})
_ID_LIMIT = 64  # papers.id is VARCHAR(64)

_ANNOUNCE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\.?\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_ARXIV_REF = re.compile(
    r"^(?:oai:arxiv\.org:|arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)"
    r"(?P<id>[^\s?#]+?)(?:\.pdf)?/?$",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(?P<id>.+)$")  # arXiv's own DataCite DOIs
_DOI = re.compile(r"10\.\d{4,9}/\S+")
_DOI_PREFIX = re.compile(
    r"^(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s*|info:doi/|urn:doi:)", re.IGNORECASE
)
_DOI_HOSTS = frozenset({"doi.org", "dx.doi.org"})
_HTTP = re.compile(r"\s*https?://")
# Served as text/html, or a charset header that the XML overrides: the
# document itself is fine.
_BENIGN_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
_ENTRY_TAG = re.compile(
    r"<(?P<close>/?)(?:[\w.-]+:)?(?:item|entry)\b[^<>]*?(?P<empty>/?)>", re.IGNORECASE
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class FeedEntry:
    """An entry that became a record, with what ``PaperRecord`` has no field for.

    ``record.extra`` repeats the values present, under the keys ``doi``,
    ``journal_ref``, ``comment``, ``pdf_url`` and ``project_urls``.
    """

    record: PaperRecord
    position: int  # 1-based, in document order
    entry_id: str  # the feed's own id or guid; "" when it has none
    announce: str | None = None  # arXiv's announcement type; None elsewhere
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None  # arxiv:comment
    pdf_url: str | None = None
    project_urls: tuple[str, ...] = ()

    @property
    def is_replacement(self) -> bool:
        """A new version of an announced paper: update it in place, announce nothing.

        A type arXiv may add later counts too: an unknown kind of update must
        never show an old paper as news.
        """
        return self.announce is not None and self.announce not in _ANNOUNCING


@dataclass(frozen=True)
class SkippedEntry:
    """An entry left out, and why: ``entry 3 (id 'x'): no title; skipped``."""

    position: int
    reason: str
    entry_id: str = ""
    title: str = ""

    def __str__(self) -> str:
        name = f"id {self.entry_id!r}" if self.entry_id else f"title {self.title[:60]!r}"
        named = f" ({name})" if self.entry_id or self.title else ""
        return f"entry {self.position}{named}: {self.reason}"


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


# -- text ---------------------------------------------------------------------

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


# The whitespace characters of ASCII, doubled spaces for the space.
_ASCII_SPACES = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def _collapse(text: str) -> str:
    # Most long text is collapsed already, and checking costs a fraction of
    # splitting an abstract into words. Outside ASCII, every whitespace
    # character but the space is unprintable.
    if len(text) > 200 and text[0] != " " and text[-1] != " ":
        if text.isascii():
            if not any(space in text for space in _ASCII_SPACES):
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
        text = _collapse("".join(extractor.parts))
        if not _LEFTOVER_MARKUP.search(text):
            break
    return text


def _content_text(detail: Any, value: str) -> str:
    """A title or summary as plain text, read as HTML only when the feed says so."""
    kind = (detail or {}).get("type", "text/plain")
    return (
        html_to_text(value) if kind in ("text/html", "application/xhtml+xml") else _collapse(value)
    )


# -- authors ------------------------------------------------------------------

_TEX_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}  # fmt: skip
_TEX_LETTERS = {
    "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
    "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}  # fmt: skip
# A mark over a letter: \'e, \'{e}, {\'e}, \"{\i}, \c{c}, \v s ...
_TEX_ACCENT = re.compile(
    r"\\(?:(?P<sym>[`'^\"~=.])\s*|(?P<word>[uvHckr])(?:\s+|(?=\{)))"
    r"(?:\{\s*(?P<a>\\[ij]|[A-Za-z])\s*\}|(?P<b>\\[ij]|[A-Za-z]))"
)
# ... and letters of their own: {\o}, \ss{}, \L.
_TEX_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])(?:\{\})?")
_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_INITIALS = re.compile(r"(?:[^\W\d_]{1,2}\.[\s-]*)+")
_ET_AL = re.compile(r"(?:^|[\s,;]+)(?:et\.?\s*al\.?|and\s+others)\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+(?:and|&)\s+")
_AND_WORD = re.compile(r"(?:^|[\s,])and\s")  # where _AND or _LEADING_AND could match
_LEADING_AND = re.compile(r"^(?:and|&)\s+")
_AFFILIATION = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def _tex_to_unicode(text: str) -> str:
    """``M\\'elodie`` -> ``Mélodie``, ``{\\O}stergaard`` -> ``Østergaard``."""
    if "\\" not in text:
        return text

    def accent(match: re.Match[str]) -> str:
        letter = match["a"] or match["b"]
        return letter[-1] + _TEX_MARKS[match["sym"] or match["word"]]  # \'\i is an í

    text = _TEX_LETTER.sub(lambda m: _TEX_LETTERS[m[1]], _TEX_ACCENT.sub(accent, text))
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def _split_top(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside parentheses and brackets (affiliations)."""
    if "(" not in text and "[" not in text:
        return text.split(separator)  # nothing opens a group: no need to count
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth = max(0, depth + (char in "([") - (char in ")]"))
        if char == separator and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
    return [*pieces, text[start:]]


def _clean_name(name: str) -> str:
    # The tests before each pattern only spare it the names it cannot match.
    if "(" in name or "[" in name:
        while _AFFILIATION.search(name):  # nested ones too: "(Dept. (CS), MIT)"
            name = _AFFILIATION.sub(" ", name)
    name = _collapse(name)
    if name.startswith(("and", "&")):
        name = _LEADING_AND.sub("", name)
    return name.strip(" ,;")


def _split_and(name: str) -> list[str]:
    return _AND.split(name) if "and" in name or "&" in name else [name]


def _is_initials(piece: str) -> bool:
    return bool(_INITIALS.fullmatch(piece)) and piece[0].isupper()


def split_authors(text: str) -> tuple[tuple[str, ...], bool]:
    """``(names, truncated)`` from one string that lists authors.

    - LaTeX accents become letters (``M\\'elodie`` -> ``Mélodie``).
    - The list is split at ``;`` if it has one, else at ``,``, never inside
      parentheses or brackets, then at a standalone ``and`` or ``&``.
      Affiliations in parentheses go: ``Xiaojun Bi (Minzu University,
      Beijing)`` -> ``Xiaojun Bi``.
    - A final ``et al.`` or ``and others`` goes and sets ``truncated``.
    - A piece that is only a suffix (``Jr.``, ``III``) joins the name before.
    - ``Last, First`` is turned round only where the list says so: each
      piece of a ``;`` list that has one comma; a ``,`` list whose every
      second piece is initials (bioRxiv's ``Smith, J., Jones, A. B.``); a
      list of exactly ``Surname, Given Names``. Otherwise each comma
      separates two authors, as in arXiv's ``Alice Smith, Bob Jones``.
    """
    text = _tex_to_unicode(text)
    # Only a list that ends in "al", "al." or "others" can end in "et al." (casefold()
    # reads "ſ" as IGNORECASE does).
    tail = text.rstrip()[-6:].casefold()
    et_al = _ET_AL.search(text) if tail.endswith(("al", "al.", "others")) else None
    if et_al:  # the one match there can be: it runs to the end
        text = text[: et_al.start()] + text[et_al.end() :]
    if any(mark in text for mark in "([;&") or ("and" in text and _AND_WORD.search(text)):
        separator = ";" if ";" in text and ";" in _AFFILIATION.sub("", text) else ","
        pieces = [
            part
            for raw in _split_top(text, separator)
            for part in map(_clean_name, _split_and(_clean_name(raw)))
            if part
        ]
    else:  # arXiv's "A B, C D": cleaning the names would change only their spacing
        separator = ","
        pieces = [name for name in map(_collapse, text.split(",")) if name]
    names: list[str] = []
    for piece in pieces:
        if names and piece.lower() in _SUFFIXES:
            names[-1] += " " + piece
        else:
            names.append(piece)
    if separator == ";":
        names = [_one_author(name) for name in names]
    elif len(names) % 2 == 0 and names and all(map(_is_initials, names[1::2])):
        names = [f"{given} {family}" for family, given in zip(names[::2], names[1::2], strict=True)]
    elif len(names) == 2 and " " not in names[0] and not _is_initials(names[0]):
        names = [f"{names[1]} {names[0]}"]
    return tuple(names), et_al is not None


def _one_author(name: str) -> str:
    """One author's name given on its own; ``Last, First`` turned round."""
    parts = [p for p in map(_clean_name, _split_top(_tex_to_unicode(name), ",")) if p]
    if len(parts) == 2 and parts[1].lower() not in _SUFFIXES:
        return f"{parts[1]} {parts[0]}"
    return " ".join(parts)


def _authors(raw: Any) -> tuple[tuple[str, ...], bool]:
    names = [a.get("name") or "" for a in raw.get("authors") or () if isinstance(a, dict)]
    names = [n for n in names if n.strip() and "@" not in n] or [raw.get("author") or ""]
    if len(names) == 1:  # one string for them all: arXiv's dc:creator, bioRxiv's
        return split_authors(names[0])
    authors = [a for a in map(_one_author, names) if a]
    truncated = bool(authors) and not _ET_AL.sub("", authors[-1])
    return tuple(authors[:-1] if truncated else authors), truncated


# -- identity -----------------------------------------------------------------


def normalize_doi(value: str) -> str | None:
    """``https://doi.org/10.1101/X``, ``doi:10.1101/X`` or ``10.1101/X`` -> ``10.1101/x``.

    DOIs are case-insensitive, so the result is lowercase. None when
    ``value`` is not a DOI; a DOI inside a longer URL is not taken (bioRxiv's
    ``/content/10.1101/Xv1`` carries a version that is not part of it).
    """
    if "10." not in value and "%" not in value:
        return None  # no "10." even once unquoted
    value = _DOI_PREFIX.sub("", unquote(value.strip()))
    if not _DOI.fullmatch(value):
        return None
    while value[-1] in ".,;" or (value.endswith(")") and value.count("(") < value.count(")")):
        value = value[:-1]
    return value.lower() if _DOI.fullmatch(value) else None


def _untracked(url: str) -> str:
    """``url`` without the query parameters that only count clicks (``utm_*``)."""
    if "utm_" not in url:
        return url.strip()
    parts = urlsplit(url.strip())
    if "utm_" not in parts.query:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _url_key(url: str) -> str:
    """One spelling per page: https, no "www.", no fragment, no tracking query."""
    parts = urlsplit(_untracked(url))
    host = (parts.hostname or "").lower().removeprefix("www.")
    host += f":{parts.port}" if parts.port else ""
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "rss"]  # bioRxiv's "?rss=1"
    return urlunsplit(("https", host, parts.path.rstrip("/"), urlencode(query), ""))


def _hashed(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def feed_paper_id(
    *, title: str, arxiv_id: str | None = None, doi: str | None = None, url: str | None = None
) -> str:
    """The catalog key of a feed entry: arXiv id, else DOI, else link, else title.

    A DOI gives ``doi:10.1101/2024.01.01.573000`` (lowercase; one too long
    for the column gives ``d`` and 16 hex digits of its SHA-256); a link
    gives ``u`` and 16 hex digits of the SHA-256 of its normalized form; the
    arXiv id and the title are ``paper_id_for``'s.
    """
    if arxiv_id:
        return paper_id_for(title=title, arxiv_id=arxiv_id)
    if doi:
        key = f"doi:{doi.lower()}"
        return key if len(key) <= _ID_LIMIT else _hashed("d", key)
    if url:
        return _hashed("u", _url_key(url))
    return paper_id_for(title=title)


def _arxiv_ref(value: str) -> tuple[str, int | None] | None:
    match = _ARXIV_REF.match(value.strip())
    return split_arxiv_id(match["id"]) if match else None


def _http(value: Any) -> str | None:
    ok = isinstance(value, str) and _HTTP.match(value)
    return value.strip() if ok else None


def _doi_links(raw: Any) -> list[str]:
    """doi.org links that name this work: the alternate link, or one titled "doi".

    A "related" doi.org link may name another work (a commented paper).
    """
    return [
        str(link["href"])
        for link in raw.get("links") or ()
        if "doi.org" in str(link.get("href") or "").lower()
        and (urlsplit(str(link.get("href") or "")).hostname or "").lower() in _DOI_HOSTS
        and (link.get("rel", "alternate") == "alternate" or link.get("title") == "doi")
    ]


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


_DATE_KEYS = ("published", "updated", "created", "prism_publicationdate")


@functools.lru_cache(maxsize=64)  # a feed's entries mostly share one date
def _written_date(value: str) -> date | None:
    """An ISO 8601 or RFC 822 date as written, in its own time zone."""
    if re.match(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def _entry_date(raw: Any) -> date | None:
    """The entry's date as its feed wrote it, in the feed's own time zone."""
    for key in _DATE_KEYS:
        if written := _written_date(str(raw.get(key) or "").strip()):
            return written
        if parsed := raw.get(f"{key}_parsed"):  # feedparser's reading, in UTC
            return datetime(*parsed[:3]).date()
    return None


# -- entries ------------------------------------------------------------------

# What every link extract_links finds contains, whatever its case: a scheme's
# "://", a code host's name or a project-page suffix.
_LINK_MARKS = ("://", *CODE_HOSTS, *PROJECT_HOST_SUFFIXES)
_NON_SPACE = re.compile(r"\S*")
# The characters that IGNORECASE matches to an ASCII letter but lower() does
# not lower to it (or lowers to two characters).
_CASE_FOLDS = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))


def _links(text: str) -> Links:
    """``extract_links(text)``, sooner: only the words that can hold a link go to it.

    Its pattern is slow over a whole abstract (see docs/benchmarks.md, section
    "Feed parsing", Reading), and most abstracts name no link. A link never
    spans whitespace and always contains one of ``_LINK_MARKS``, whatever its
    case, so the words around the marks, in order, give the same links.
    """
    folded = text
    if not text.isascii():
        for char, letter in _CASE_FOLDS:
            folded = folded.replace(char, letter)
    folded = folded.lower()
    if len(folded) != len(text):
        return extract_links(text)
    marks: list[int] = []
    for mark in _LINK_MARKS:  # str.find beats a pattern of alternatives
        at = folded.find(mark)
        while at >= 0:
            marks.append(at)
            at = folded.find(mark, at + 1)
    if not marks:
        return Links()
    backwards = folded[::-1]
    words: dict[int, int] = {}  # start -> end, in the text's order
    for at in sorted(marks):
        before = _NON_SPACE.match(backwards, len(folded) - at)
        after = _NON_SPACE.match(folded, at)
        if before and after:  # always: \S* matches at any position
            words[at - (before.end() - before.start())] = after.end()
    return extract_links(" ".join(text[start:end] for start, end in words.items()))


def _entry(raw: Any, position: int, source: str) -> FeedEntry | SkippedEntry:
    entry_id = _collapse(str(raw.get("id") or ""))
    title = _content_text(raw.get("title_detail"), str(raw.get("title") or ""))
    if not title:
        return SkippedEntry(position, "no title; skipped", entry_id)

    summary, detail = raw.get("summary"), raw.get("summary_detail")
    if not summary and raw.get("content"):
        summary, detail = raw["content"][0].get("value"), raw["content"][0]
    summary = str(summary or "")
    announce = str(raw.get("arxiv_announce_type") or "").strip().lower() or None
    if prefix := _ANNOUNCE.match(summary):
        # arXiv's abstracts are plain text with TeX ("$a<b$") even where RSS
        # calls them HTML: read as HTML they would lose their math.
        abstract = _collapse(summary[prefix.end() :])
        announce = announce or prefix["type"].lower()
    else:
        abstract = _content_text(detail, summary)

    link = _http(raw.get("link"))
    link = _untracked(link) if link else None
    # Only the entry's own names: a "related" link may point at another paper.
    arxiv: list[tuple[str, int | None]] = []
    for ref in (prefix["id"] if prefix else "", entry_id, link or ""):
        if ref and (found := _arxiv_ref(ref)) is not None:
            arxiv.append(found)
            if found[1] and found[0] == arxiv[0][0]:
                break  # the id and its version: the names after it change neither
    doi = _first(
        normalize_doi(str(value))
        for value in (
            *str(raw.get("arxiv_doi") or "").split()[:1],  # more DOIs may follow a space
            raw.get("prism_doi"),
            raw.get("dc_identifier"),
            entry_id,
            *_doi_links(raw),
        )
        if value
    )
    if not arxiv and doi and (own := _ARXIV_DOI.match(doi)):
        arxiv = [r for r in [split_arxiv_id(own["id"])] if r is not None]
    if announce and not arxiv:
        return SkippedEntry(
            position, "no arXiv id in an arXiv announcement; skipped", entry_id, title
        )
    if not arxiv and not doi and not link and not entry_id:
        return SkippedEntry(position, "no id, link or DOI; skipped", entry_id, title)

    comment = _collapse(str(raw.get("arxiv_comment") or "")) or None
    journal_ref = raw.get("arxiv_journal_ref") or raw.get("arxiv_journal_reference")
    journal_ref = _collapse(str(journal_ref or "")) or None
    pdf_url = _first(
        _http(link_.get("href"))
        for link_ in raw.get("links") or ()
        if link_.get("type") == "application/pdf" or link_.get("title") == "pdf"
    )
    links = _links("\n".join(filter(None, [abstract, comment])))
    authors, truncated = _authors(raw)
    categories: dict[str, None] = {}  # an ordered set, arXiv's primary category first
    primary = raw.get("arxiv_primary_category") or {}
    for term in [primary.get("term"), *(t.get("term") for t in raw.get("tags") or ())]:
        if term and term.strip():
            categories.setdefault(normalize_category(term))

    arxiv_id = arxiv[0][0] if arxiv else None
    # The guid or the announcement line carries the version; the link does not.
    version = next((v for a, v in arxiv if a == arxiv_id and v), None)
    if arxiv_id:
        url: str | None = f"https://arxiv.org/abs/{arxiv_id}"  # one spelling for every feed
    else:
        url = link or _http(entry_id) or (f"https://doi.org/{doi}" if doi else None)
    extra = {"doi": doi, "journal_ref": journal_ref, "comment": comment, "pdf_url": pdf_url}
    record = PaperRecord(
        id=feed_paper_id(title=title, arxiv_id=arxiv_id, doi=doi, url=link or _http(entry_id)),
        title=title,
        authors=authors,
        authors_truncated=truncated,
        abstract=abstract,
        categories=tuple(categories),
        published=_entry_date(raw),
        url=url,
        code_urls=links.code,
        has_code=bool(links.code),
        source=source,
        version=version,
        extra={k: v for k, v in [*extra.items(), ("project_urls", links.project)] if v},
    )
    return FeedEntry(
        record=record,
        position=position,
        entry_id=entry_id,
        announce=announce if arxiv_id else None,
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
        pdf_url=pdf_url,
        project_urls=links.project,
    )


# -- documents ----------------------------------------------------------------


def _damaged(text: str, line: int, column: int, count: int) -> set[int] | None:
    """Positions of the entries an XML error touched: the one it is in, any left open.

    feedparser re-reads a broken document leniently and returns what it
    could, even an entry cut off half-way. None when the document's entries
    do not line up with feedparser's.
    """
    starts = [0]
    for text_line in text.split("\n"):
        starts.append(starts[-1] + len(text_line) + 1)
    error_at = starts[max(0, min(line, len(starts)) - 1)] + column
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
    spans += [(opened, None)] if opened is not None else []
    if len(spans) != count:
        return None
    return {i for i, (s, e) in enumerate(spans, start=1) if e is None or s <= error_at <= e}


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


def _starts_as_html(head: bytes) -> bool:
    """Whether the first element, past an XML declaration and comments, is HTML's."""
    start = first_element(head)
    return start.startswith(b"<html") or (
        start.startswith(b"<!doctype") and start[9:].lstrip().startswith(b"html")
    )


def _not_a_feed(data: bytes, content_type: str) -> str:
    """Why ``data`` is no feed, in words for the person reading ``feeds list``."""
    if not data.strip():
        return "the response was empty, not a feed"
    if _starts_as_html(data[:1024]) or content_type.startswith("text/html"):
        found = _HTML_TITLE.search(data[:65536])
        title = html_to_text(found[1].decode("utf-8", "replace"))[:80] if found else ""
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
        _written_date(str(raw[key]))  # feedparser's own date reading is not at hand
        for raw in announcement.entries
        for key in _DATE_KEYS
        if raw.get(key)
    ):
        return _parse_with_feedparser(data, source=source, headers=lowered)
    base = {"source": source, "title": _collapse(announcement.title), "format": announcement.format}
    return _read_entries(base, announcement.entries, {})


def _parse_with_feedparser(
    data: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """``parse_feed`` by feedparser alone, whatever the document."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    # The sanitizer and the URI resolver rewrite whatever looks like markup,
    # and arXiv's "$a<b$ and $c>d$" does. Both are off: titles and summaries
    # leave here as plain text (html_to_text), safer than sanitized HTML.
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=lowered, sanitize_html=False, resolve_relative_uris=False
    )
    feed = parsed.get("feed") or {}
    base: dict[str, Any] = {
        "source": source,
        "title": _collapse(str(feed.get("title") or "")),
        "format": str(parsed.get("version") or ""),
    }
    raw_entries = list(parsed.get("entries") or ())
    damaged: dict[int, str] = {}
    bozo = parsed.get("bozo_exception")
    if parsed.get("bozo") and bozo is not None and not isinstance(bozo, _BENIGN_BOZO):
        if hasattr(bozo, "getLineNumber"):
            text = data.decode(str(parsed.get("encoding") or "utf-8"), "replace")
            # feedparser puts an XML declaration line before a document without one.
            shift = 0 if text.lstrip("\ufeff").startswith("<?xml") else 1
            line, column = max(1, (bozo.getLineNumber() or 1) - shift), bozo.getColumnNumber() or 0
            base["malformed"] = f"not well-formed XML at line {line}, column {column}: "
            base["malformed"] += bozo.getMessage()
            reason = f"the XML error at line {line} damaged it; skipped"
            damaged = dict.fromkeys(_damaged(text, line, column, len(raw_entries)) or (), reason)
        else:
            base["malformed"] = f"{type(bozo).__name__}: {bozo}"

    if not raw_entries and not base["title"] and not base["format"]:
        content_type = lowered.get("content-type", "").strip().lower()
        return ParsedFeed(**base, not_a_feed=True, error=_not_a_feed(data, content_type))
    if base["title"].lower().startswith("feed error for query"):
        detail = _collapse(str(feed.get("subtitle") or ""))
        return ParsedFeed(**base, error=f"arXiv answered with an error: {base['title']} {detail}")
    for raw in raw_entries:
        if "arxiv.org/api/errors" in str(raw.get("id") or ""):
            detail = _collapse(str(raw.get("summary") or raw.get("title") or ""))
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
            entry_id = _collapse(str(raw.get("id") or ""))
            result = SkippedEntry(position, damaged[position], entry_id)
        else:
            try:
                result = _entry(raw, position, source)
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
