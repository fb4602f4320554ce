"""One feed entry into a ``FeedEntry``: its text, dates, links, DOI and arXiv id.

``read_entry`` takes one raw entry as feedparser gives it (or as
``bot.ingest.arxiv`` builds it, the same shape) and returns the record it
describes, or a ``SkippedEntry`` saying why it has none. Which id the record
gets is ``bot.ingest.identity``'s rule, how its author string is split
``bot.ingest.authors``'s. No I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from bot.ingest.authors import authors_of
from bot.ingest.identity import arxiv_doi_id, arxiv_ref, normalize_doi, paper_id_for, untracked
from bot.ingest.markup import clean_text, collapse
from bot.model.links import CODE_HOSTS, PROJECT_HOST_SUFFIXES, Links, extract_links
from bot.model.papers import PaperRecord, normalize_category

__all__ = [
    "ANNOUNCE_TYPES",
    "DATE_KEYS",
    "FeedEntry",
    "SkippedEntry",
    "read_entry",
    "written_date",
]

# Only "new" and "cross" announce a paper to a category; the replacements
# announce a new version of a paper already announced.
ANNOUNCE_TYPES: tuple[str, ...] = ("new", "cross", "replace", "replace-cross")
_ANNOUNCING = frozenset({"new", "cross"})

_ANNOUNCE = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\.?\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_DOI_HOSTS = frozenset({"doi.org", "dx.doi.org"})
_HTTP = re.compile(r"\s*https?://")


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


def _author_names(raw: Any) -> list[str]:
    """The entry's author strings, cleaned: its authors' names, else its one author string.

    Cleaned before they are split: feedparser leaves the entities of a
    malformed document undecoded, and the ";" of "&lt;" must split nothing.
    """
    names = [a.get("name") or "" for a in raw.get("authors") or () if isinstance(a, dict)]
    names = [n for n in names if n.strip() and "@" not in n] or [raw.get("author") or ""]
    return [clean_text(str(name)) for name in names]


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


DATE_KEYS = ("published", "updated", "created", "prism_publicationdate")


@functools.lru_cache(maxsize=64)  # a feed's entries mostly share one date
def written_date(value: str) -> date | None:
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
    for key in DATE_KEYS:
        if written := written_date(str(raw.get(key) or "").strip()):
            return written
        if parsed := raw.get(f"{key}_parsed"):  # feedparser's reading, in UTC
            return datetime(*parsed[:3]).date()
    return None


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


def read_entry(raw: Any, position: int, source: str) -> FeedEntry | SkippedEntry:
    """The entry at ``position`` (1-based) of feed ``source``, or why it is skipped."""
    entry_id = collapse(str(raw.get("id") or ""))
    # One cleaner for every format, whatever type the feed gives its text
    # (bot.ingest.markup.clean_text): the same title reads the same from
    # every route, a seed file's included.
    title = clean_text(str(raw.get("title") or ""))
    if not title:
        return SkippedEntry(position, "no title; skipped", entry_id)

    summary = raw.get("summary")
    if not summary and raw.get("content"):
        summary = raw["content"][0].get("value")
    summary = str(summary or "")
    announce = str(raw.get("arxiv_announce_type") or "").strip().lower() or None
    if prefix := _ANNOUNCE.match(summary):
        abstract = clean_text(summary[prefix.end() :])
        announce = announce or prefix["type"].lower()
    else:
        abstract = clean_text(summary)

    link = _http(raw.get("link"))
    link = untracked(link) if link else None
    # Only the entry's own names: a "related" link may point at another paper.
    arxiv: list[tuple[str, int | None]] = []
    for ref in (prefix["id"] if prefix else "", entry_id, link or ""):
        if ref and (found := arxiv_ref(ref)) is not None:
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
    if not arxiv and doi and (own := arxiv_doi_id(doi)) is not None:
        arxiv = [own]
    if announce and not arxiv:
        return SkippedEntry(
            position, "no arXiv id in an arXiv announcement; skipped", entry_id, title
        )
    if not arxiv and not doi and not link and not entry_id:
        return SkippedEntry(position, "no id, link or DOI; skipped", entry_id, title)

    comment = clean_text(str(raw.get("arxiv_comment") or "")) or None
    journal_ref = raw.get("arxiv_journal_ref") or raw.get("arxiv_journal_reference")
    journal_ref = clean_text(str(journal_ref or "")) or None
    pdf_url = _first(
        _http(link_.get("href"))
        for link_ in raw.get("links") or ()
        if link_.get("type") == "application/pdf" or link_.get("title") == "pdf"
    )
    links = _links("\n".join(filter(None, [abstract, comment])))
    authors, truncated = authors_of(_author_names(raw))
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
        id=paper_id_for(title=title, arxiv_id=arxiv_id, doi=doi, url=link or _http(entry_id)),
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

