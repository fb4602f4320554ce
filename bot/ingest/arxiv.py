"""arXiv's announcement feeds read with ElementTree: ``parse_feed``'s fast path.

feedparser reads any feed but slowly for a day of cs.CV, hundreds to
thousands of entries. ``read_announcement`` reads the two shapes
rss.arxiv.org serves (RSS 2.0 and Atom 1.0, see tests/ingest/feeds/arxiv-*-announce.xml)
with the standard library's ElementTree (expat) several times faster (see
docs/benchmarks.md, section "Feed parsing"), and
returns entries as the same dictionaries feedparser would have built for
them (the keys ``bot.ingest.feeds`` reads), so that one function turns both into
records.

It MUST return None, and so hand the document to feedparser, for anything
it does not know to read exactly as feedparser does:

- a document that is not well-formed, not UTF-8 (or plain ASCII), or that
  carries a DOCTYPE or any other ``<!`` declaration: entities are never
  declared, so never expanded, and nothing external is ever fetched;
- a namespace, element or attribute outside arXiv's announcement format, an
  element repeated where arXiv writes it once, an element with children
  where arXiv writes text;
- text feedparser would reinterpret: a title that may be HTML, an author
  string with an e-mail address, a link or id that is not a plain URL;
- arXiv's error feed and the API's error entries, which ``bot.ingest.feeds``
  reports from feedparser's reading.

I/O: none.
"""

from __future__ import annotations

import codecs
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Announcement", "read_announcement"]

ARXIV_NS = "http://arxiv.org/schemas/atom"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NAMESPACES = frozenset({ARXIV_NS, _ATOM_NS, _DC_NS, _CONTENT_NS})

_A = "{" + _ATOM_NS + "}"
_DC_CREATOR = "{" + _DC_NS + "}creator"
_DC_RIGHTS = "{" + _DC_NS + "}rights"
_ARXIV = "{" + ARXIV_NS + "}"

# Channel and feed elements that change nothing in feedparser's reading of the
# entries (no image or textinput state, no second title).
_RSS_CHANNEL = frozenset(
    "link description docs language lastBuildDate managingEditor webMaster pubDate "
    "generator copyright ttl".split()
)
_RSS_SKIP = {"skipDays": "day", "skipHours": "hour"}
_ATOM_FEED = frozenset(_A + tag for tag in ("id", "subtitle", "updated", "rights"))
_LINK_ATTRIBUTES = frozenset({"href", "rel", "type", "title"})
_CATEGORY_ATTRIBUTES = frozenset({"term", "scheme", "label"})

# Links and ids feedparser resolves against the document's base: only URLs
# that resolving returns unchanged, whatever the base.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_OAI_ID = re.compile(r"oai:arXiv\.org:[A-Za-z0-9._/-]+")
# feedparser takes an RSS title for HTML when it has a closing tag or an entity.
_MAYBE_HTML = re.compile(r"</\w+>|&#?\w+;")
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_XML_DECL = re.compile(rb"<\?xml\b[^>]*?\?>")
_XML_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_FEEDPARSER_PI_ENCODING = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")
_XML_MEDIA_TYPES = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_UTF8 = frozenset({"utf-8", "utf8"})
_ASCII_COMPATIBLE = _UTF8 | {
    "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1", "windows-1252", "cp1252",
}  # fmt: skip
_ERROR_FEED = "feed error for query"
_API_ERRORS = "arxiv.org/api/errors"


def _cp1252_table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            pass
    return table


# feedparser reads C1 control characters as the windows-1252 ones they
# usually are (0x93 -> a left double quotation mark).
_CP1252 = _cp1252_table()
_C1 = re.compile("[\x80-\x9f]")


class _Unreadable(Exception):
    """The document is not one this module reads exactly as feedparser does."""


@dataclass(frozen=True)
class Announcement:
    """An announcement feed's title (as written), format and raw entries."""

    title: str
    format: str  # "rss20" or "atom10", as feedparser names them
    entries: list[dict[str, Any]]


def _repaired(text: str) -> str:
    """feedparser's repair of UTF-8 read as Latin-1, then its C1 mapping."""
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return text.translate(_CP1252) if _C1.search(text) else text


def _text(element: ET.Element) -> str:
    """A leaf element's text as feedparser stores it."""
    if len(element):
        raise _Unreadable
    text = (element.text or "").strip()
    return text if text.isascii() else _repaired(text)


def _encoding_ok(data: bytes, headers: Mapping[str, str]) -> bool:
    """True when feedparser and expat both read ``data`` as the same characters.

    feedparser follows RFC 3023 (the HTTP charset, the XML declaration, the
    media type's default); expat follows the XML declaration. Both must
    agree on UTF-8, or the document must be ASCII, the same in either.
    """
    if data[:3] == codecs.BOM_UTF8:
        data = data[3:]
    if not data.lstrip()[:1] == b"<" or b"\x00" in data[:4]:
        return False
    head = data[:1024]
    if head.startswith(b"<?") and b"\n" not in head and len(data) > len(head):
        return False  # feedparser looks for the encoding all along the first line
    declared = _XML_DECL.match(head)
    expat = ""
    if declared and (found := _XML_DECL_ENCODING.search(declared[0])):
        expat = found[1].decode("ascii", "replace").lower()
    found = _FEEDPARSER_PI_ENCODING.match(head)
    xml_encoding = found[1].decode("utf-8", "replace").lower() if found else ""
    media_type, _, params = headers.get("content-type", "").partition(";")
    media_type = media_type.strip()
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if media_type in _XML_MEDIA_TYPES or (
        media_type.startswith("application/") and media_type.endswith("+xml")
    ):
        encoding = charset or xml_encoding or "utf-8"
    elif media_type.startswith("text/"):
        encoding = charset or "us-ascii"
    elif headers and "content-type" not in headers:
        encoding = xml_encoding or "iso-8859-1"
    else:
        encoding = xml_encoding or "utf-8"
    allowed = _ASCII_COMPATIBLE if data.isascii() else _UTF8
    return encoding.lower() in allowed and (not expat or expat in allowed)


def _namespaces_ok(declared: list[tuple[str, str]]) -> bool:
    """arXiv's namespace under the prefix "arxiv" and nothing else unexpected.

    feedparser names an element of a namespace it does not know by the
    document's prefix (``arxiv_announce_type``); any other binding of that
    prefix, or an unknown namespace, would change its reading.
    """
    for prefix, uri in declared:
        if uri not in _NAMESPACES or (prefix == "arxiv") != (uri == ARXIV_NS):
            return False
        if not prefix and uri != _ATOM_NS:
            return False
    return True


def _attributes(element: ET.Element, allowed: frozenset[str]) -> dict[str, str]:
    """Attributes as feedparser keeps them (rel and type lowercased); only ``allowed`` ones."""
    attributes = {}
    for name, value in element.attrib.items():
        if name not in allowed:
            raise _Unreadable
        attributes[name] = value.lower() if name in ("rel", "type") else value
    return attributes


def _arxiv_element(raw: dict[str, Any], element: ET.Element, name: str) -> None:
    """An arxiv:* element, stored as feedparser stores an unknown element."""
    key = "arxiv_" + name.lower()
    if key in raw:
        raise _Unreadable
    if element.attrib:
        # feedparser keeps the attributes, not the text; "base" would move its
        # base URI, a namespaced attribute would be named by its prefix.
        attributes = {k.lower(): v for k, v in element.attrib.items()}
        if len(element) or (element.text or "").strip() or "base" in attributes:
            raise _Unreadable
        if any("{" in k for k in attributes):
            raise _Unreadable
        raw[key] = {k: v.lower() if k in ("rel", "type") else v for k, v in attributes.items()}
    else:
        raw[key] = _text(element)


def _authors(raw: dict[str, Any]) -> None:
    """dc:creator, one string for all authors, as ``author`` and ``authors``."""
    text = raw["author"]
    if "@" in text:  # feedparser would cut an e-mail address out of it
        raise _Unreadable
    raw["authors"] = [{"name": text}] if text else [{}]


# Elements written once, as plain text, and where feedparser keeps them.
_RSS_TEXT = {
    "title": "title",
    "link": "link",
    "description": "summary",
    "guid": "id",
    "pubDate": "published",
    _DC_CREATOR: "author",
    _DC_RIGHTS: "rights",
}


def _rss_item(item: ET.Element) -> dict[str, Any]:
    if item.attrib:
        raise _Unreadable
    raw: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    for child in item:
        tag = child.tag
        key = _RSS_TEXT.get(tag)
        if key is not None:
            if key in raw or len(child) or (child.attrib and tag != "guid"):
                raise _Unreadable
            text = (child.text or "").strip()
            raw[key] = text if text.isascii() else _repaired(text)
        elif tag == "category":
            if child.attrib:
                raise _Unreadable
            if term := _text(child):
                tags.append({"term": term})
        elif tag.startswith(_ARXIV):
            _arxiv_element(raw, child, tag[len(_ARXIV) :])
        else:
            raise _Unreadable
        if tag == "guid" and child.attrib != {"isPermaLink": "false"}:
            raise _Unreadable  # a permalink guid is resolved and becomes the link
    if "title" in raw:
        if _MAYBE_HTML.search(raw["title"]):
            raise _Unreadable  # feedparser would guess whether it is HTML
        raw["title_detail"] = {"type": "text/plain"}
    if "link" in raw:
        if not _PLAIN_URL.fullmatch(raw["link"]):
            raise _Unreadable
        raw["links"] = [{"rel": "alternate", "type": "text/html", "href": raw["link"]}]
    if "summary" in raw:
        raw["summary_detail"] = {"type": "text/html"}
    if "author" in raw:
        _authors(raw)
    raw["tags"] = tags
    return raw


def _read_rss(root: ET.Element) -> Announcement:
    if root.attrib != {"version": "2.0"} or len(root) != 1:
        raise _Unreadable
    channel = root[0]
    if channel.tag != "channel" or channel.attrib:
        raise _Unreadable
    title: str | None = None
    entries = []
    for child in channel:
        tag = child.tag
        if tag == "item":
            entries.append(_rss_item(child))
        elif tag == "title" and title is None and not child.attrib:
            title = _text(child)
        elif tag in _RSS_CHANNEL and not child.attrib:
            _text(child)
        elif tag == _A + "link" and not len(child):
            _attributes(child, _LINK_ATTRIBUTES)
        elif tag in _RSS_SKIP and not child.attrib:
            if any(c.tag != _RSS_SKIP[tag] or c.attrib or len(c) for c in child):
                raise _Unreadable
        else:
            raise _Unreadable
    return Announcement(title or "", "rss20", entries)


_ATOM_TEXT = {
    _A + "id": "id",
    _A + "title": "title",
    _A + "summary": "summary",
    _A + "updated": "updated",
    _A + "published": "published",
    _DC_CREATOR: "author",
    _DC_RIGHTS: "rights",
}
_HTML_TYPES = frozenset({"text/html", "html", "application/xhtml+xml", "xhtml"})


def _atom_link(element: ET.Element) -> dict[str, str]:
    """An entry's link, as feedparser completes it; the href a plain URL."""
    attributes = _attributes(element, _LINK_ATTRIBUTES)
    if len(element) or not _PLAIN_URL.fullmatch(attributes.get("href", "")):
        raise _Unreadable
    rel = attributes.setdefault("rel", "alternate")
    attributes.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
    return attributes


def _atom_entry(entry: ET.Element) -> dict[str, Any]:
    if entry.attrib:
        raise _Unreadable
    raw: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    links: list[dict[str, str]] = []
    for child in entry:
        tag = child.tag
        key = _ATOM_TEXT.get(tag)
        if key is not None:
            if key in raw or len(child) or child.attrib:
                raise _Unreadable
            text = (child.text or "").strip()
            raw[key] = text if text.isascii() else _repaired(text)
        elif tag == _A + "category":
            attributes = child.attrib
            term = attributes.get("term")
            if not term or len(child) or (child.text or "").strip():
                raise _Unreadable
            if not attributes.keys() <= _CATEGORY_ATTRIBUTES:
                raise _Unreadable
            tags.append({"term": term})
        elif tag == _A + "link":
            links.append(_atom_link(child))
        elif tag.startswith(_ARXIV):
            _arxiv_element(raw, child, tag[len(_ARXIV) :])
        else:
            raise _Unreadable
    if "id" in raw:
        if not (_OAI_ID.fullmatch(raw["id"]) or _PLAIN_URL.fullmatch(raw["id"])):
            raise _Unreadable  # feedparser resolves it as a URL
        raw["link"] = raw["id"]  # an Atom id doubles as the link ...
    for link in links:
        if link["rel"] == "alternate" and link["type"] in _HTML_TYPES:
            raw["link"] = link["href"]  # ... until an alternate HTML link, the last one
    if "title" in raw:
        raw["title_detail"] = {"type": "text/plain"}
    if "summary" in raw:
        raw["summary_detail"] = {"type": "text/plain"}
    if "author" in raw:
        _authors(raw)
    raw["tags"] = tags
    raw["links"] = links
    return raw


def _read_atom(root: ET.Element) -> Announcement:
    if set(root.attrib) - {_XML_LANG}:
        raise _Unreadable
    title: str | None = None
    entries = []
    for child in root:
        tag = child.tag
        if tag == _A + "entry":
            entries.append(_atom_entry(child))
        elif tag == _A + "title" and title is None and not child.attrib:
            title = _text(child)
        elif tag in _ATOM_FEED and not child.attrib:
            _text(child)
        elif tag == _A + "link":
            if len(child):
                raise _Unreadable
            _attributes(child, _LINK_ATTRIBUTES)
        else:
            raise _Unreadable
    return Announcement(title or "", "atom10", entries)


def read_announcement(data: bytes, headers: Mapping[str, str]) -> Announcement | None:
    """The entries of an arXiv announcement feed; None for any other document.

    ``headers`` are the response headers with lowercase names, as
    ``bot.ingest.feeds.parse_feed`` hands them to feedparser. None never means the
    document is bad, only that feedparser must read it.
    """
    if ARXIV_NS.encode() not in data[:8192] or _DECLARATION.search(data):
        return None
    if not _encoding_ok(data, headers):
        return None
    location = headers.get("content-location", "")
    if location and not _PLAIN_URL.fullmatch(location):
        return None  # the base of every link feedparser resolves
    # iterparse reports the namespace declarations and keeps the root.
    reader = ET.iterparse(io.BytesIO(data), events=("start-ns",))
    try:
        declared: list[tuple[str, str]] = [value for _, value in reader]
    except ET.ParseError:
        return None
    root = reader.root  # type: ignore[attr-defined]
    if root is None or not _namespaces_ok(declared):
        return None
    try:
        if root.tag == "rss":
            announcement = _read_rss(root)
        elif root.tag == _A + "feed":
            announcement = _read_atom(root)
        else:
            return None
    except _Unreadable:
        return None
    if " ".join(announcement.title.split()).lower().startswith(_ERROR_FEED):
        return None
    if any(_API_ERRORS in str(raw.get("id") or "") for raw in announcement.entries):
        return None
    return announcement
