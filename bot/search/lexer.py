"""Scanning a search query's text into tokens, before any meaning is given to them.

The lexer owns the character level of the query language: which characters
survive (``clean``), how text is case-folded (``fold``), and how the cleaned
text splits into ``Token``\\ s: operators (``OR``, ``AND``, ``NOT``), words,
quoted phrases and ``name:value`` filters, each word, phrase or filter marked
negated when a ``-`` precedes it. It never raises: what a token means, and
whether it is acceptable, is for the parser in ``bot.search.query``.

Lexical rules: ``(`` and ``)`` separate like spaces; a lone ``-`` or ``+`` is
dropped; typographic quotes are quotes; an unclosed quote runs to the end; a
filter's value may be quoted (``author:"Luyang Luo"``); ``foo:`` with no value
is a filter only when ``foo`` is a filter we offer, otherwise it is a word.
Operators are recognised only in capitals and never after a ``-``.
A URL (``https://...``, any ``scheme://``) is never a filter: it is a phrase
of what follows its scheme, up to a space or a quote, parentheses and all;
Slack's form of a pasted link, ``<url|label>`` or ``<url>``, is its URL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = ["FILTERS", "Token", "clean", "fold", "lex", "lstrip", "show", "trim", "words"]

# The filters the language offers, each with an example for the error messages.
FILTERS = {
    "author": 'author:luo or author:"Luyang Luo"',
    "cat": "cat:cs.CV or cat:CV",
    "has": "has:code",
    "after": "after:2024-01-01",
    "before": "before:2025-01-01",
}

# Typographic quotes arrive from phones and macOS; they mean a phrase too.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"'})
_FILTER = re.compile(r"([^\W\d_]+):(.*)", re.DOTALL)
_OPERATORS = ("OR", "AND", "NOT")
# A scheme (RFC 3986) and "://"; a leading "<" is Slack's link form.
_URL = re.compile(r"(<?)[a-z][a-z0-9+.\-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class Token:
    """One token of a query.

    ``text`` is the operator's name, the word as typed, the inside of the
    quotes of a phrase, or a filter's value (case-folded unless it was quoted).
    ``name`` is a filter's case-folded name; empty for the other kinds.
    """

    kind: Literal["operator", "word", "phrase", "filter"]
    text: str
    negated: bool = False
    name: str = ""


def fold(text: str) -> str:
    """Case-folded and NFKC-normalised, as the index stores text."""
    # Case-fold until stable: a few characters only settle after two rounds.
    for _ in range(3):
        folded = unicodedata.normalize("NFKC", text.casefold())
        if folded == text:
            break
        text = folded
    return text


def clean(text: str) -> str:
    """``text`` with only characters the lexer may see, all on one line."""
    # Lone surrogates cannot cross into tantivy, invisible format characters
    # would split or hide words, and every line break becomes a space so that
    # an echoed fragment keeps an error message on one line.
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cs", "Cf"))
    text = unicodedata.normalize("NFKC", kept).translate(_QUOTES)
    return "".join(" " if c.isspace() or unicodedata.category(c) == "Cc" else c for c in text)


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNM"


def trim(text: str) -> tuple[str, str]:
    """Outer punctuation off: (core, what followed it)."""
    start, end = 0, len(text)
    while start < end and not _is_word_char(text[start]):
        start += 1
    while end > start and not _is_word_char(text[end - 1]):
        end -= 1
    return text[start:end], text[end:]


def lstrip(text: str) -> str:
    """Leading punctuation off."""
    start = 0
    while start < len(text) and not _is_word_char(text[start]):
        start += 1
    return text[start:]


def words(text: str) -> str:
    """The folded words of ``text``, outer punctuation off, one space apart."""
    return " ".join(w for w in (trim(p)[0] for p in fold(text).split()) if w)


def show(text: str) -> str:
    """``text`` short enough to quote back in an error message."""
    return text if len(text) <= 40 else text[:39] + "…"


def _quoted(text: str, quote: int) -> tuple[str, int]:
    """The text inside the quote at ``quote``, and where scanning resumes."""
    end = text.find('"', quote + 1)
    end = len(text) if end < 0 else end  # an unclosed quote runs to the end
    return text[quote + 1 : end], end + 1


def _url(text: str, start: int) -> tuple[str, int] | None:
    """The URL at ``start`` without its scheme, and where scanning resumes; None if none is."""
    match = _URL.match(text, start)
    if match is None:
        return None
    end = -1
    if match.group(1):
        end = text.find(">", start)
    if end >= 0:
        # <url|label>: the label is what Slack showed, the URL what was pasted.
        url = text[match.end() : end].split("|", 1)[0].replace('"', " ")
        return url, end + 1
    end = match.end()
    while end < len(text) and text[end] not in ' "':
        end += 1
    return text[match.end() : end], end


def lex(text: str) -> list[Token]:
    """The tokens of ``text``, which ``clean`` has already been applied to."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " " or text[i] in "()":
            i += 1
            continue
        start = i
        while i < n and text[i] in "+-":
            i += 1
        negated = "-" in text[start:i]
        if i >= n or text[i] == " " or text[i] in "()":
            continue  # a lone "-" or "+"
        if text[i] == '"':
            inside, i = _quoted(text, i)
            tokens.append(Token("phrase", inside, negated))
            continue
        url = _url(text, i)
        if url is not None:
            # The scheme goes: the same page is linked as http:// and https://.
            address, i = url
            tokens.append(Token("phrase", address, negated))
            continue
        j = i
        while j < n and text[j] != " " and text[j] not in '()"':
            j += 1
        bare = text[i:j]
        if not negated and bare in _OPERATORS:
            tokens.append(Token("operator", bare))
            i = j
            continue
        # Leading punctuation is dropped from words, so ":cat:x" is a filter too.
        match = _FILTER.fullmatch(lstrip(fold(bare)))
        if match and j < n and text[j] == '"' and not match.group(2):
            value, i = _quoted(text, j)
            tokens.append(Token("filter", value, negated, match.group(1)))
        elif match and (match.group(2) or match.group(1) in FILTERS):
            tokens.append(Token("filter", match.group(2), negated, match.group(1)))
            i = j
        else:
            tokens.append(Token("word", bare, negated))
            i = j
    return tokens
