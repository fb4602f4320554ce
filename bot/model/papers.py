"""What a paper is, independent of where it came from or where it is stored.

``PaperRecord`` is the neutral value that seed files and feeds produce and
the catalog stores; the identity and normalization rules live here so that
every source applies the same ones. No I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "CATEGORY_CODES",
    "PaperRecord",
    "normalize_category",
    "normalize_title",
    "paper_id_for",
    "split_arxiv_id",
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

_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})(?:v(?P<version>\d+))?$",
    re.IGNORECASE,
)


def normalize_category(code: str) -> str:
    """``CV`` -> ``cs.CV``; full arXiv names and unknown codes are kept as given."""
    code = code.strip()
    return CATEGORY_CODES.get(code, code)


def normalize_title(title: str) -> str:
    """Lowercase, accents and punctuation removed, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", title)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = re.findall(r"\w+", stripped.casefold())
    return " ".join(words)


def split_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """``arXiv:2402.12345v2`` -> (``2402.12345``, 2); None when not an arXiv id."""
    match = _ARXIV_ID.match(text.strip())
    if not match:
        return None
    version = match.group("version")
    return match.group("id").lower(), int(version) if version else None


def paper_id_for(*, title: str, arxiv_id: str | None = None) -> str:
    """The stable catalog key: the arXiv id without version, else a title hash.

    A title-derived id is ``t`` and 16 hex digits of the SHA-256 of the
    normalized title, so the same title from any source maps to one paper.
    """
    if arxiv_id:
        parsed = split_arxiv_id(arxiv_id)
        if parsed is None:
            raise ValueError(f"not an arXiv id: {arxiv_id!r}")
        return parsed[0]
    digest = hashlib.sha256(normalize_title(title).encode("utf-8")).hexdigest()
    return "t" + digest[:16]


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
