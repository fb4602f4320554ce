"""Code-repository links found in free text such as abstracts. No I/O.

Abstracts end sentences with URLs ("Code is available at
https://github.com/o/r."), so a URL is cut from the text, cleaned of the
punctuation that belongs to the sentence, and kept only when it points at a
repository on a known code host. Which hosts count, and which of their paths
are site pages rather than repositories, is the ``CODE_HOSTS`` table: a new
host is a new row, not new code.

Known limits, left for later: GitLab subgroups (``group/sub/project`` is
labelled ``group/sub``), links written without ``https://``, and LaTeX
``\\url{...}`` beyond what the URL pattern already stops at (``{``, ``}``,
``\\``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["CODE_HOSTS", "CodeHost", "extract_code_urls", "is_code_url", "repo_label"]


@dataclass(frozen=True)
class CodeHost:
    """How one code host lays out repository URLs.

    ``kinds`` are leading path segments that come before ``owner/repo``
    (Hugging Face's ``spaces/owner/repo``); ``reserved`` are first segments
    that are the site's own pages (``github.com/features``), never an owner.
    """

    name: str
    kinds: frozenset[str] = frozenset()
    reserved: frozenset[str] = frozenset()


_HUGGING_FACE = CodeHost(
    name="Hugging Face",
    kinds=frozenset({"spaces", "datasets", "models"}),
    reserved=frozenset(
        {"blog", "collections", "docs", "join", "learn", "login", "papers", "pricing", "tasks"}
    ),
)

# Keys are lowercase host names without a leading "www.".
CODE_HOSTS: dict[str, CodeHost] = {
    "github.com": CodeHost(
        name="GitHub",
        reserved=frozenset(
            {
                "about", "collections", "explore", "features", "join", "login",
                "marketplace", "notifications", "orgs", "pricing", "search",
                "settings", "sponsors", "topics", "trending",
            }
        ),
    ),
    "gitlab.com": CodeHost(
        name="GitLab", reserved=frozenset({"dashboard", "explore", "help", "users"})
    ),
    "huggingface.co": _HUGGING_FACE,
    "hf.co": _HUGGING_FACE,
    "bitbucket.org": CodeHost(name="Bitbucket"),
}

# Stop at whitespace and at characters that never occur unescaped in a URL but
# do surround one in prose, HTML or LaTeX.
_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)

# Sentence punctuation that sticks to the end of a URL. ")" is handled apart,
# because a URL may legitimately contain balanced parentheses.
_TRAILING = frozenset(".,;:!?]}>'\"\u201d\u2019\u00bb\u2026\u3002\uff0c")

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _clean(url: str) -> str:
    """Drop trailing punctuation, an unbalanced ")", a ".git" and a final "/"."""
    while url:
        if url[-1] in _TRAILING:
            url = url[:-1]
        elif url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        elif url.lower().endswith(".git"):
            url = url[:-4]
        elif url.endswith("/"):
            url = url[:-1]
        else:
            break
    return url


def _owner_repo(url: str) -> tuple[str, str] | None:
    """``(owner, repo)`` when ``url`` is a repository on a known code host."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    code_host = CODE_HOSTS.get(host)
    if code_host is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[0].lower() in code_host.kinds:
        segments = segments[1:]
    if len(segments) < 2 or segments[0].lower() in code_host.reserved:
        return None
    owner, repo = segments[0], segments[1]
    if not (_SEGMENT.fullmatch(owner) and _SEGMENT.fullmatch(repo)):
        return None
    return owner, repo


def is_code_url(url: str) -> bool:
    """True when ``url`` (already cleaned) points at a repository on a code host."""
    return _owner_repo(url) is not None


def extract_code_urls(text: str) -> tuple[str, ...]:
    """Repository URLs in ``text``, cleaned, in order of appearance, each once."""
    found: dict[str, None] = {}  # an ordered set
    for match in _URL.finditer(text):
        url = _clean(match.group(0))
        if is_code_url(url):
            found.setdefault(url)
    return tuple(found)


def repo_label(url: str) -> str:
    """``owner/repo`` for display; else the URL without its scheme.

    ``https://github.com/LLYXC/MOME/tree/main`` -> ``LLYXC/MOME``;
    ``https://example.org/tool/`` -> ``example.org/tool``.
    """
    url = _clean(url.strip())
    owner_repo = _owner_repo(url)
    if owner_repo is not None:
        return "/".join(owner_repo)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.netloc:
        return url
    return (parts.netloc + parts.path).rstrip("/")
