"""Paper identity: which catalog key a paper gets, whatever source names it.

One rule for every source (``paper_id_for``): the arXiv id without its
version, else the DOI, else the link, else the title. A seed file has only
titles; a feed entry may have all four. Stored catalogs depend on these
keys, so the same inputs MUST keep giving the same ids.

The rule lives in ingest, not in ``bot.model``: ``PaperRecord`` takes its
``id`` as given, and only the sources decide it. No I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "ID_LIMIT",
    "arxiv_doi_id",
    "arxiv_ref",
    "normalize_doi",
    "normalize_title",
    "paper_id_for",
    "split_arxiv_id",
    "untracked",
    "url_key",
]

ID_LIMIT = 64  # papers.id is VARCHAR(64)

_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.\-]*/\d{7})(?:v(?P<version>\d+))?$",
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


def arxiv_ref(value: str) -> tuple[str, int | None] | None:
    """The arXiv id and version a feed's guid or link names (``oai:arXiv.org:``,
    ``arxiv:``, an abs or pdf URL), or None."""
    match = _ARXIV_REF.match(value.strip())
    return split_arxiv_id(match["id"]) if match else None


def arxiv_doi_id(doi: str) -> tuple[str, int | None] | None:
    """The arXiv id behind one of arXiv's own DOIs (``10.48550/arxiv.2402.12345``), or None."""
    own = _ARXIV_DOI.match(doi)
    return split_arxiv_id(own["id"]) if own else None


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


def untracked(url: str) -> str:
    """``url`` without the query parameters that only count clicks (``utm_*``)."""
    if "utm_" not in url:
        return url.strip()
    parts = urlsplit(url.strip())
    if "utm_" not in parts.query:
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def url_key(url: str) -> str:
    """One spelling per page: https, no "www.", no fragment, no tracking query."""
    parts = urlsplit(untracked(url))
    host = (parts.hostname or "").lower().removeprefix("www.")
    host += f":{parts.port}" if parts.port else ""
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "rss"]  # bioRxiv's "?rss=1"
    return urlunsplit(("https", host, parts.path.rstrip("/"), urlencode(query), ""))


def _hashed(prefix: str, text: str) -> str:
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def paper_id_for(
    *, title: str, arxiv_id: str | None = None, doi: str | None = None, url: str | None = None
) -> str:
    """The stable catalog key: arXiv id, else DOI, else link, else title.

    - An arXiv id gives the id without its version (``2402.12345``); one
      that is not an arXiv id raises ``ValueError``.
    - A DOI gives ``doi:10.1101/2024.01.01.573000`` (lowercase; one too long
      for the column gives ``d`` and 16 hex digits of its SHA-256).
    - A link gives ``u`` and 16 hex digits of the SHA-256 of ``url_key(url)``.
    - A title gives ``t`` and 16 hex digits of the SHA-256 of the normalized
      title, so the same title from any source maps to one paper.
    """
    if arxiv_id:
        parsed = split_arxiv_id(arxiv_id)
        if parsed is None:
            raise ValueError(f"not an arXiv id: {arxiv_id!r}")
        return parsed[0]
    if doi:
        key = f"doi:{doi.lower()}"
        return key if len(key) <= ID_LIMIT else _hashed("d", key)
    if url:
        return _hashed("u", url_key(url))
    return _hashed("t", normalize_title(title))
