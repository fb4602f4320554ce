"""Code-repository and project-page links found in free text. No I/O.

Abstracts end sentences with URLs ("Code is available at
https://github.com/o/r."), so a URL is cut from the text, cleaned of the
punctuation that belongs to the sentence, and kept only when it points at a
repository on a known code host. Which hosts count, and which of their paths
are site pages rather than repositories, is the ``CODE_HOSTS`` table: a new
host is a new row, not new code.

Links are found with or without a scheme (``github.com/o/r`` is read as
``https://github.com/o/r``) and inside LaTeX (``\\url{...}``, ``\\_``). A
GitLab repository may sit in nested groups (``group/sub/project``); its URL
is cut where GitLab's own pages begin (``/-/tree/main``), and its label keeps
the whole path. A ``*.github.io`` site is the paper's project page, not its
code: ``extract_links`` returns it apart, in ``Links.project``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "CODE_HOSTS",
    "PROJECT_HOST_SUFFIXES",
    "CodeHost",
    "Links",
    "extract_code_urls",
    "extract_links",
    "is_code_url",
    "is_project_url",
    "repo_label",
]


@dataclass(frozen=True)
class CodeHost:
    """How one code host lays out repository URLs.

    ``kinds`` are leading path segments that come before ``owner/repo``
    (Hugging Face's ``spaces/owner/repo``); ``reserved`` are first segments
    that are the site's own pages (``github.com/features``), never an owner.
    On a ``nested`` host the repository path may have more than two segments
    (GitLab's ``group/subgroup/project``) and runs until the first of
    ``routes``, the host's pages inside a repository (``-`` in ``/-/tree``).
    """

    name: str
    kinds: frozenset[str] = frozenset()
    reserved: frozenset[str] = frozenset()
    nested: bool = False
    routes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Links:
    """What ``extract_links`` found: repositories, and project pages apart."""

    code: tuple[str, ...] = ()
    project: tuple[str, ...] = ()


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
        name="GitLab",
        reserved=frozenset({"dashboard", "explore", "help", "users"}),
        nested=True,
        # "-" starts every current project page; the rest are the older
        # project routes that GitLab forbids as group or project names.
        routes=frozenset(
            {"-", "blame", "blob", "commit", "commits", "raw", "refs", "tree", "wikis"}
        ),
    ),
    "huggingface.co": _HUGGING_FACE,
    "hf.co": _HUGGING_FACE,
    "bitbucket.org": CodeHost(name="Bitbucket"),
}

# Hosts whose sites are project pages: "user.github.io/project".
PROJECT_HOST_SUFFIXES: tuple[str, ...] = (".github.io", ".gitlab.io")

_URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]]+"
_BARE_HOSTS = "|".join(re.escape(host) for host in sorted(CODE_HOSTS))
_BARE_PAGES = "|".join(r"[a-z0-9-]+" + re.escape(s) for s in PROJECT_HOST_SUFFIXES)
# A URL with a scheme; or a code host or project page written without one,
# and not inside a longer name ("gist.github.com", "git@github.com").
# Stop at whitespace and at characters that never occur unescaped in a URL but
# do surround one in prose, HTML or LaTeX.
_URL = re.compile(
    rf"(?:https?://|(?<![\w.@/-])(?=(?:www\.)?(?:{_BARE_HOSTS})/|(?:{_BARE_PAGES})\b)){_URL_CHARS}",
    re.IGNORECASE,
)
_HAS_SCHEME = re.compile(r"https?://", re.IGNORECASE)
# LaTeX escapes that authors type inside URLs: "github.com/a/my\_repo".
_LATEX_ESCAPE = re.compile(r"\\([_%#&~])")

# Sentence punctuation that sticks to the end of a URL. ")" is handled apart,
# because a URL may legitimately contain balanced parentheses.
_TRAILING = frozenset(".,;:!?]}>'\"\u201d\u2019\u00bb\u2026\u3002\uff0c")

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HOST_LABEL = re.compile(r"[a-z0-9][a-z0-9-]*")  # a user or group name, no subdomain


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


def _repository(url: str) -> tuple[str, tuple[str, ...]] | None:
    """``(url, path)`` when ``url`` is a repository on a known code host.

    ``path`` is ``(owner, repo)``, or ``(group, ..., project)`` on a nested
    host, whose URL comes back cut before its first route segment.
    """
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
    if not code_host.nested:
        path = tuple(segments[:2])
    else:
        cut = next((i for i, s in enumerate(segments) if s in code_host.routes), len(segments))
        path = tuple(segments[:cut])
        if len(path) < 2:
            return None
        if cut < len(segments):
            url = f"{parts.scheme}://{parts.netloc}/{'/'.join(path)}"
    if not all(_SEGMENT.fullmatch(segment) for segment in path):
        return None
    return url, path


def is_code_url(url: str) -> bool:
    """True when ``url`` (already cleaned) points at a repository on a code host."""
    return _repository(url) is not None


def is_project_url(url: str) -> bool:
    """True when ``url`` is a project page: a site on ``*.github.io`` or ``*.gitlab.io``."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return any(
        host.endswith(suffix) and _HOST_LABEL.fullmatch(host.removesuffix(suffix))
        for suffix in PROJECT_HOST_SUFFIXES
    )


def extract_links(text: str) -> Links:
    """Repositories and project pages in ``text``, cleaned, in order, each once."""
    code: dict[str, None] = {}  # ordered sets
    project: dict[str, None] = {}
    for match in _URL.finditer(_LATEX_ESCAPE.sub(r"\1", text)):
        url = match.group(0)
        if not _HAS_SCHEME.match(url):
            url = "https://" + url
        url = _clean(url)
        repository = _repository(url)
        if repository is not None:
            code.setdefault(repository[0])
        elif is_project_url(url):
            project.setdefault(url)
    return Links(code=tuple(code), project=tuple(project))


def extract_code_urls(text: str) -> tuple[str, ...]:
    """Repository URLs in ``text``, cleaned, in order of appearance, each once."""
    return extract_links(text).code


def repo_label(url: str) -> str:
    """``owner/repo`` for display; else the URL without its scheme.

    ``https://github.com/LLYXC/MOME/tree/main`` -> ``LLYXC/MOME``;
    ``https://gitlab.com/g/sub/p/-/tree/main`` -> ``g/sub/p``;
    ``https://example.org/tool/`` -> ``example.org/tool``.
    """
    url = _clean(url.strip())
    repository = _repository(url)
    if repository is not None:
        return "/".join(repository[1])
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.netloc:
        return url
    return (parts.netloc + parts.path).rstrip("/")
