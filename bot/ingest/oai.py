"""OAI-PMH ``ListRecords`` pages into ``FeedEntry`` values: the harvest's format.

arXiv's OAI-PMH interface serves its whole archive, a thousand records a
page, each page ending in the ``resumptionToken`` that asks for the next.
``parse_oai_page`` reads one page with ElementTree's ``iterparse``, record
by record, dropping each record's elements once it is read, so the tree
never holds more than one record whatever the page's size.

Two of arXiv's metadata formats are read:

- ``arXiv`` (``http://arxiv.org/OAI/arXiv/``): authors as keyname and
  forenames, the first submission's date (``created``); no version number.
- ``arXivRaw`` (``http://arxiv.org/OAI/arXivRaw/``): one author string as the
  feeds write it, and every version with its date, so the record carries
  the latest version and versions never go backwards in the catalog.

Each record becomes the raw entry feedparser would have built for an arXiv
API entry (the keys ``bot.ingest.entries`` reads), and ``read_entry`` makes
it a record: the same identity (``bot.ingest.identity``), author, category
and code-link rules as every feed, so a harvested paper that later comes in
a feed is the same paper. Deleted records (``<header status="deleted">``)
and records of another format are skipped with their reason.

A page that is not OAI-PMH, carries a DOCTYPE or another ``<!``
declaration (entities are never declared here, so never expanded), or
breaks off is refused whole with ``OaiPageError``: its resumption token
comes last, so nothing of it can be kept safely. An OAI error
(``noRecordsMatch``, ``badResumptionToken``...) is a page with ``errors``.

I/O: none.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from bot.ingest.entries import FeedEntry, SkippedEntry, read_entry

__all__ = [
    "ARXIV_FORMAT",
    "ARXIV_RAW_FORMAT",
    "OAI_NS",
    "OaiError",
    "OaiPage",
    "OaiPageError",
    "parse_oai_page",
]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_FORMAT = "http://arxiv.org/OAI/arXiv/"
ARXIV_RAW_FORMAT = "http://arxiv.org/OAI/arXivRaw/"

_O = "{" + OAI_NS + "}"
_ROOT = _O + "OAI-PMH"
_RECORD = _O + "record"
_LIST = _O + "ListRecords"
_TOKEN = _O + "resumptionToken"
_ERROR = _O + "error"
_RESPONSE_DATE = _O + "responseDate"
_HEADER = _O + "header"
_METADATA = _O + "metadata"
_IDENTIFIER = _O + "identifier"
_DATESTAMP = _O + "datestamp"
_A = "{" + ARXIV_FORMAT + "}"
_R = "{" + ARXIV_RAW_FORMAT + "}"
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_OAI_ID = re.compile(r"^oai:arxiv\.org:", re.IGNORECASE)


@dataclass(frozen=True)
class OaiError:
    """An OAI-PMH ``<error>``: its ``code`` (``badResumptionToken``) and the server's text."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class OaiPageError(ValueError):
    """A response that is no readable OAI-PMH page; the message says where and why."""


@dataclass(frozen=True, kw_only=True)
class OaiPage:
    """What one ``ListRecords`` response held.

    ``token`` is the resumption token that asks for the next page; None or
    empty when this page ends the list. ``list_size`` and ``cursor`` are the
    token's ``completeListSize`` and ``cursor`` when the server gives them
    (they drive the progress bar's ETA). ``latest_datestamp`` is the latest
    record datestamp on the page (``YYYY-MM-DD`` or a full UTC time, as the
    server's granularity writes it).
    """

    entries: tuple[FeedEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    token: str | None = None
    list_size: int | None = None
    cursor: int | None = None
    expires: str | None = None
    response_date: str | None = None
    latest_datestamp: str | None = None
    errors: tuple[OaiError, ...] = ()

    @property
    def seen(self) -> int:
        """Records on the page, kept or skipped."""
        return len(self.entries) + len(self.skipped)

    @property
    def last(self) -> bool:
        """True when no page follows this one."""
        return not self.token

    def error(self, code: str) -> OaiError | None:
        return next((e for e in self.errors if e.code == code), None)


def _text(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def _arxiv_format(metadata: ET.Element, raw: dict[str, Any], identifier: str) -> None:
    """arXiv's own format: authors as keyname and forenames, no version."""
    names = []
    for author in metadata.iter(_A + "author"):
        parts = [_text(author.find(_A + tag)) for tag in ("forenames", "keyname", "suffix")]
        name = " ".join(p for p in parts if p)
        if name:
            names.append(name)
    raw["authors"] = [{"name": n} for n in names]
    raw["id"] = "oai:arXiv.org:" + (_text(metadata.find(_A + "id")) or identifier)
    raw["published"] = _text(metadata.find(_A + "created"))
    _common(metadata, raw, _A)


def _arxiv_raw_format(metadata: ET.Element, raw: dict[str, Any], identifier: str) -> None:
    """arXivRaw: one author string, and each version with its date."""
    raw["author"] = _text(metadata.find(_R + "authors"))
    raw["authors"] = [{"name": raw["author"]}]
    versions = []
    for version in metadata.iter(_R + "version"):
        label = version.get("version", "")
        if label[:1] in ("v", "V") and label[1:].isdigit():
            versions.append((int(label[1:]), _text(version.find(_R + "date"))))
    arxiv_id = _text(metadata.find(_R + "id")) or identifier
    latest = max(versions)[0] if versions else None
    raw["id"] = f"oai:arXiv.org:{arxiv_id}" + (f"v{latest}" if latest else "")
    if versions:
        raw["published"] = min(versions)[1]
    _common(metadata, raw, _R)


def _common(metadata: ET.Element, raw: dict[str, Any], ns: str) -> None:
    raw["title"] = _text(metadata.find(ns + "title"))
    raw["summary"] = _text(metadata.find(ns + "abstract"))
    categories = _text(metadata.find(ns + "categories")).split()
    raw["tags"] = [{"term": c} for c in categories]
    if categories:  # arXiv lists the primary category first
        raw["arxiv_primary_category"] = {"term": categories[0]}
    for tag, key in (("comments", "arxiv_comment"), ("journal-ref", "arxiv_journal_ref"),
                     ("doi", "arxiv_doi")):
        if value := _text(metadata.find(ns + tag)):
            raw[key] = value
    arxiv_id = _OAI_ID.sub("", str(raw["id"]))
    raw["link"] = f"https://arxiv.org/abs/{arxiv_id}"


_FORMATS = {"arXiv": _arxiv_format, "arXivRaw": _arxiv_raw_format}
_FORMAT_TAGS = {_A + "arXiv": "arXiv", _R + "arXivRaw": "arXivRaw"}


def _record(record: ET.Element, position: int, source: str) -> FeedEntry | SkippedEntry:
    header = record.find(_HEADER)
    identifier = _text(header.find(_IDENTIFIER)) if header is not None else ""
    short = _OAI_ID.sub("", identifier)
    if header is None or not identifier:
        return SkippedEntry(position, "a record without a header identifier; skipped")
    if header.get("status") == "deleted":
        return SkippedEntry(position, "deleted at the source; skipped", identifier)
    metadata = record.find(_METADATA)
    inner = metadata[0] if metadata is not None and len(metadata) else None
    if inner is None:
        return SkippedEntry(position, "no metadata; skipped", identifier)
    name = _FORMAT_TAGS.get(inner.tag)
    if name is None:
        return SkippedEntry(position, f"metadata {inner.tag!r} is not a format read here "
                            "(harvest with metadataPrefix arXiv or arXivRaw); skipped",
                            identifier)
    raw: dict[str, Any] = {}
    _FORMATS[name](inner, raw, short)
    return read_entry(raw, position, source)


def _where(exc: ET.ParseError) -> str:
    line, column = getattr(exc, "position", (0, 0))
    return f"line {line}, column {column}"


def parse_oai_page(data: bytes, *, source: str) -> OaiPage:
    """The records, errors and resumption token of one OAI-PMH response.

    ``source`` is the harvest's base URL, stored as each paper's source.
    Raises ``OaiPageError`` for a response that is not a whole OAI-PMH page.
    """
    if not data.strip():
        raise OaiPageError("the response is empty")
    if _DECLARATION.search(data):
        raise OaiPageError("the response carries a DOCTYPE or an entity declaration, "
                           "which no OAI-PMH page needs; refused")
    entries: list[FeedEntry] = []
    skipped: list[SkippedEntry] = []
    errors: list[OaiError] = []
    token: str | None = None
    list_size = cursor = None
    expires = response_date = latest = None
    position = 0
    # End events only (a start event for every element costs time), so the
    # root is checked when its first child ends, and once more at the end.
    reader = ET.iterparse(io.BytesIO(data), events=("end",))
    checked = False
    try:
        for _, element in reader:
            tag = element.tag
            if not checked:
                checked = True
                if not tag.startswith(_O):
                    raise OaiPageError(f"the response is not OAI-PMH: it begins with "
                                       f"{tag!r}, not an element of {OAI_NS}")
            if tag == _RECORD:
                position += 1
                found = _record(element, position, source)
                if isinstance(found, FeedEntry):
                    entries.append(found)
                else:
                    skipped.append(found)
                stamp = _text(element.find(f"{_HEADER}/{_DATESTAMP}"))
                if stamp and (latest is None or stamp > latest):
                    latest = stamp
                # What makes memory flat: the record, read, leaves only an
                # empty element behind (a few dozen bytes a record).
                element.clear()
            elif tag == _TOKEN:
                token = (element.text or "").strip() or None
                list_size = _int(element.get("completeListSize"))
                cursor = _int(element.get("cursor"))
                expires = element.get("expirationDate")
            elif tag == _ERROR:
                errors.append(OaiError(element.get("code", "unknown"), _text(element)))
            elif tag == _RESPONSE_DATE:
                response_date = _text(element)
    except ET.ParseError as exc:
        raise OaiPageError(
            f"malformed XML at {_where(exc)} after {position:,} records ({exc})"
        ) from None
    root = reader.root  # type: ignore[attr-defined]
    if root is None or root.tag != _ROOT:
        raise OaiPageError(f"the response is not OAI-PMH: its root element is "
                           f"{getattr(root, 'tag', None)!r}, not OAI-PMH in {OAI_NS}")
    return OaiPage(
        entries=tuple(entries),
        skipped=tuple(skipped),
        token=token,
        list_size=list_size,
        cursor=cursor,
        expires=expires,
        response_date=response_date,
        latest_datestamp=latest,
        errors=tuple(errors),
    )
