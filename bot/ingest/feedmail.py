"""feedparser's search for an e-mail address in an author string, made linear. No I/O.

When a feed gives an author as one string (RSS ``<author>``, ``<dc:creator>``,
``<managingEditor>``, ``<webMaster>``, ``<itunes:owner>``), feedparser
(``_FeedParserMixin._sync_author_detail``, feedparser 6.0) cuts an e-mail
address out of it with ``re.search`` and a pattern whose local part,
``[a-zA-Z0-9_\\-.+]+@``, is tried from every position of a run of such
characters, each try scanning to the run's end: quadratic in the longest
word. One 100,000-character word as an author took ~34 s to read, stalling
the whole ingest (issue 14).

``install`` replaces that method, once, with a copy that finds the same
address (the same match, the same groups) in time linear in the string:
an address starts where a maximal run of local-part characters begins and
that run ends at ``@``, and whether the rest matches does not depend on
where in the run it started, so only the start of each run that ends at an
``@`` is tried, and a string without ``@`` is not searched at all.
Everything else the method does is feedparser's, unchanged.

It MUST leave feedparser alone when the method it replaces is not the one
copied here (another feedparser version): ``install`` returns False then,
and a test says so.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import feedparser.mixin

__all__ = ["find_email", "install"]

log = logging.getLogger(__name__)

# feedparser 6.0's pattern, character for character.
_EMAIL_PATTERN = (
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|"""
    r"""(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_EMAIL = re.compile(_EMAIL_PATTERN)
# Maximal runs: each found once, the search going on from its end.
_LOCAL_RUN = re.compile(r"[a-zA-Z0-9_\-.+]+")

_MIXIN = feedparser.mixin._FeedParserMixin
_ORIGINAL = _MIXIN.__dict__.get("_sync_author_detail")


def find_email(author: str) -> re.Match[str] | None:
    """``re.search(feedparser's e-mail pattern, author)``, in linear time."""
    at = author.find("@")
    if at < 0:
        return None
    # No run that ends at the first "@" starts before the last space ahead of it.
    for run in _LOCAL_RUN.finditer(author, max(0, author.rfind(" ", 0, at))):
        end = run.end()
        if end < len(author) and author[end] == "@":
            found = _EMAIL.match(author, run.start())
            if found is not None:
                return found
    return None


def _sync_author_detail(self: Any, key: str = "author") -> None:
    """feedparser 6.0's method, with ``find_email`` for its ``re.search``."""
    context = self._get_context()
    detail = context.get("%ss" % key, [feedparser.mixin.FeedParserDict()])[-1]
    if detail:
        name = detail.get("name")
        email = detail.get("email")
        if name and email:
            context[key] = "%s (%s)" % (name, email)
        elif name:
            context[key] = name
        elif email:
            context[key] = email
    else:
        author, email = context.get(key), None
        if not author:
            return
        emailmatch = find_email(author)
        if emailmatch:
            email = emailmatch.group(0)
            author = author.replace(email, "")
            author = author.replace("()", "")
            author = author.replace("<>", "")
            author = author.replace("&lt;&gt;", "")
            author = author.strip()
            if author and (author[0] == "("):
                author = author[1:]
            if author and (author[-1] == ")"):
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault("%s_detail" % key, detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email


def _is_the_copied_method(method: Any) -> bool:
    """True when ``method`` is feedparser 6.0's, the one ``_sync_author_detail`` copies."""
    code = getattr(method, "__code__", None)
    return code is not None and _EMAIL_PATTERN in code.co_consts


def install() -> bool:
    """Put the linear method in feedparser's place; True when it is there."""
    if _MIXIN.__dict__.get("_sync_author_detail") is _sync_author_detail:
        return True
    if not _is_the_copied_method(_ORIGINAL):
        log.warning(
            "feedparser's _sync_author_detail is not the one bot.ingest.feedmail copies; "
            "left as it is (an author string with a very long word reads in quadratic time)"
        )
        return False
    _MIXIN._sync_author_detail = _sync_author_detail
    return True
