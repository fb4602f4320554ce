"""What a paper is, independent of where it came from or where it is stored.

``PaperRecord`` is the neutral value that seed files and feeds produce and
the catalog stores, and category names are normalized here so that every
source and the query language read them alike. Which ``id`` a paper gets is
the sources' decision: ``bot.ingest.identity``. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "CATEGORY_CODES",
    "SEED_SOURCE",
    "PaperRecord",
    "is_seed_source",
    "normalize_category",
]

# Short codes used by listings such as the seed files, mapped to arXiv names.
CATEGORY_CODES: dict[str, str] = {
    "AI": "cs.AI",
    "CL": "cs.CL",
    "CR": "cs.CR",
    "CV": "cs.CV",
    "CY": "cs.CY",
    "DB": "cs.DB",
    "DC": "cs.DC",
    "DS": "cs.DS",
    "GR": "cs.GR",
    "HC": "cs.HC",
    "IR": "cs.IR",
    "IT": "cs.IT",
    "LG": "cs.LG",
    "MA": "cs.MA",
    "MM": "cs.MM",
    "NE": "cs.NE",
    "RO": "cs.RO",
    "SD": "cs.SD",
    "SE": "cs.SE",
    "AS": "eess.AS",
    "IV": "eess.IV",
    "SP": "eess.SP",
    "SY": "eess.SY",
    "ML": "stat.ML",
    "QM": "q-bio.QM",
    "NC": "q-bio.NC",
    "MP": "physics.med-ph",
}


def normalize_category(code: str) -> str:
    """``CV`` -> ``cs.CV``; full arXiv names and unknown codes are kept as given."""
    code = code.strip()
    return CATEGORY_CODES.get(code, code)


# The source of a paper read from a seed file (``seed:NAME.txt``). Seed files
# are a demo catalog: searchable everywhere, news only in console channels.
SEED_SOURCE = "seed:"


def is_seed_source(source: str) -> bool:
    return source.startswith(SEED_SOURCE)


@dataclass(frozen=True, kw_only=True)
class PaperRecord:
    """One paper as a source describes it; ``id`` is its catalog key."""

    id: str
    title: str
    authors: tuple[str, ...] = ()
    authors_truncated: bool = False
    abstract: str = ""
    categories: tuple[str, ...] = ()
    published: date | None = None
    url: str | None = None
    code_urls: tuple[str, ...] = ()
    has_code: bool = False
    source: str = ""
    # The arXiv version this record describes (2 for 2402.12345v2), if any.
    version: int | None = None
    doi: str | None = None
    journal_ref: str | None = None
    # The paper's project page (e.g. a *.github.io site), not its code.
    project_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape (``search --json``, ``show --json``, export)."""
        return {
            "id": self.id,
            "title": self.title,
            "authors": list(self.authors),
            "authors_truncated": self.authors_truncated,
            "published": self.published.isoformat() if self.published else None,
            "categories": list(self.categories),
            "url": self.url,
            "code_urls": list(self.code_urls),
            "has_code": self.has_code,
            "abstract": self.abstract,
            "source": self.source,
            "version": self.version,
            "doi": self.doi,
            "journal_ref": self.journal_ref,
            "project_url": self.project_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PaperRecord:
        published = data.get("published")
        return cls(
            id=str(data["id"]),
            title=str(data["title"]),
            authors=tuple(data.get("authors") or ()),
            authors_truncated=bool(data.get("authors_truncated", False)),
            abstract=str(data.get("abstract") or ""),
            categories=tuple(data.get("categories") or ()),
            published=date.fromisoformat(published) if published else None,
            url=data.get("url"),
            code_urls=tuple(data.get("code_urls") or ()),
            has_code=bool(data.get("has_code", False)),
            source=str(data.get("source") or ""),
            version=int(data["version"]) if data.get("version") is not None else None,
            doi=data.get("doi") or None,
            journal_ref=data.get("journal_ref") or None,
            project_url=data.get("project_url") or None,
        )
