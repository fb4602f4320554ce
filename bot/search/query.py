"""The search query language: what people type after ``/papers search``.

We parse it ourselves and never hand user text to tantivy's query parser, so
no input can reach an operator we did not mean to offer. Parsing is pure (no
I/O): text in, a frozen ``ParsedQuery`` or a ``QueryError`` out, whose message
is one line written for the person who typed the query.

Grammar (OR binds tighter than the implicit AND)::

    query   = clause { clause }                   every clause must match
    clause  = [ "-" | "NOT " ] item               an exclusion
            | item { " OR " item }                any one of the items
    item    = word [ "*" ] | '"' words '"' | url | filter
    url     = scheme "://" rest | "<" url [ "|" label ] ">"    a phrase of rest's words
    filter  = "author:" ( name | '"' name '"' ) | "cat:" category | "has:code"
            | "after:" date | "before:" date      date = YYYY | YYYY-MM | YYYY-MM-DD

Words are case-folded; a word the analyzer splits (``low-dose``, or Chinese
``乳腺癌``, one word a character) is a phrase of its parts, and one with no
letters or digits, or too long for the index (``MAX_WORD_CHARS``), is
dropped. ``AND`` is accepted and ignored. ``after:`` is inclusive,
``before:`` strict. A query of only exclusions or only filters matches every
paper that passes them.
``bot.search.lexer`` splits the text into tokens; this module gives them meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from bot.errors import UserError
from bot.model.papers import CATEGORY_CODES, normalize_category
from bot.search.index import MAX_WORD_CHARS, name_terms, text_terms, too_long
from bot.search.lexer import FILTERS, Token, clean, fold, lex, show, trim, words

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "Author",
    "Category",
    "Clause",
    "DateBound",
    "HasCode",
    "ParsedQuery",
    "Phrase",
    "QueryError",
    "Term",
    "Word",
    "parse_query",
]

MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 32
FILTER_HELP = "Filters are author:, cat:, has:code, after:YYYY-MM-DD, before:YYYY-MM-DD."
EXAMPLE = '"breast MRI" has:code'

_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
# Boost and fuzziness suffixes of other query languages ("mri^2", "mri~1").
_FOREIGN_SUFFIX = re.compile(r"(?:[\^~][\d.]*)+$")
_CATEGORY = re.compile(r"[a-z][a-z\-]*(?:\.[a-z\-]+)?")
_FULL_CATEGORIES = {name.casefold(): name for name in CATEGORY_CODES.values()}


class QueryError(UserError, ValueError):
    """A query we cannot run; ``str()`` is one line saying what to change."""


@dataclass(frozen=True)
class Word:
    """A word to find in title, abstract or authors; ``prefix`` for ``segm*``."""

    text: str
    prefix: bool = False

    def __str__(self) -> str:
        return self.text + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Phrase:
    """Words that must appear together and in this order."""

    text: str

    def __str__(self) -> str:
        return f'"{self.text}"'


@dataclass(frozen=True)
class Author:
    """``author:``: one author's name contains these words, in this order."""

    name: str

    def __str__(self) -> str:
        plain = not any(c in self.name for c in ' ()"')
        return f"author:{self.name}" if plain else f'author:"{self.name}"'


@dataclass(frozen=True)
class Category:
    """``cat:``: an arXiv category, e.g. ``cs.CV``."""

    name: str

    def __str__(self) -> str:
        return f"cat:{self.name}"


@dataclass(frozen=True)
class HasCode:
    """``has:code``: the paper links to its code."""

    def __str__(self) -> str:
        return "has:code"


@dataclass(frozen=True)
class DateBound:
    """``after:`` (on or after ``day``) or ``before:`` (strictly before ``day``)."""

    kind: Literal["after", "before"]
    day: date

    def __str__(self) -> str:
        return f"{self.kind}:{self.day.isoformat()}"


Term = Word | Phrase | Author | Category | HasCode | DateBound
_SCORED = (Word, Phrase)


@dataclass(frozen=True)
class Clause:
    """Alternatives joined by OR; a negated clause excludes what it matches."""

    options: tuple[Term, ...]
    negated: bool = False

    def __str__(self) -> str:
        return ("-" if self.negated else "") + " OR ".join(str(o) for o in self.options)


@dataclass(frozen=True)
class ParsedQuery:
    """All clauses must match. ``str()`` is the canonical form, stable under re-parsing."""

    clauses: tuple[Clause, ...]

    def __str__(self) -> str:
        return " ".join(str(c) for c in self.clauses)

    @property
    def scored(self) -> bool:
        """True when words rank the results; otherwise only filters apply."""
        return any(
            not c.negated and any(isinstance(o, _SCORED) for o in c.options)
            for c in self.clauses
        )


def _term(token: Token) -> Term | None:
    if token.kind == "phrase":
        return _phrase(token.text)
    return _filter(token.name, token.text) if token.kind == "filter" else _word(token.text)


def _phrase(text: str) -> Phrase | None:
    folded = words(text)
    return Phrase(folded) if text_terms(folded) else None


def _word(text: str) -> Word | None:
    core, tail = trim(fold(text))
    while (unboosted := _FOREIGN_SUFFIX.sub("", core)) != core:
        core, tail = trim(unboosted)
    if not tail.startswith("*"):
        # Punctuation, emoji, a stop word or an overlong word: nothing the index holds.
        return Word(core) if text_terms(core) else None
    terms = name_terms(core)
    if not terms:
        return None
    if len(terms) > 1:
        raise QueryError(
            f'"{show(text)}": a * prefix works on a single word, e.g. segm*. '
            "Quote the rest as a phrase."
        )
    if len(terms[0]) < 2:
        raise QueryError(
            f'"{show(text)}" is too short for a prefix: '
            "use 2 or more letters before the *, e.g. segm*."
        )
    return Word(core, prefix=True)


def _filter(name: str, value: str) -> Term:
    if name not in FILTERS:
        if name == "arxiv" and value:  # an id pasted as arXiv prints it: show finds the paper
            raise QueryError(f"Search does not take arXiv ids; to see that paper, use show: "
                             f"show {show(value)}")
        raise QueryError(f'Unknown filter "{show(name)}:". {FILTER_HELP}')
    if not value.strip():
        raise QueryError(f'"{name}:" needs a value, e.g. {FILTERS[name]}.')
    if name == "author":
        folded = words(value.replace("(", " ").replace(")", " "))
        if not name_terms(folded):
            raise QueryError(f'author: needs a name, e.g. {FILTERS["author"]}.')
        return Author(folded)
    if name == "cat":
        return Category(_category(value.strip()))
    if name == "has":
        if fold(value).strip() != "code":
            raise QueryError(f'Unknown has: value "{show(value)}". The only one is has:code.')
        return HasCode()
    kind: Literal["after", "before"] = "after" if name == "after" else "before"
    return DateBound(kind, _date(kind, value.strip()))


def _category(value: str) -> str:
    short = normalize_category(value.upper())
    if short != value.upper():
        return short
    folded = fold(value)
    if folded in _FULL_CATEGORIES:
        return _FULL_CATEGORIES[folded]
    if _CATEGORY.fullmatch(folded):
        return folded  # a category we have no table entry for; the index stores it lowercased
    raise QueryError(
        f'Unknown category "{show(value)}". '
        "Use an arXiv name like cat:cs.CV or a short code like cat:CV."
    )


def _date(kind: str, value: str) -> date:
    match = _DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day = match.groups()
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise QueryError(
            f'"{kind}:{show(value)}" is not a date. '
            f"Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. {kind}:2024-01-01."
        ) from None


def _group(tokens: list[Token]) -> list[Clause]:
    # Every term is built before any is grouped, so a bad term is reported
    # ahead of a misplaced OR anywhere in the query.
    terms = [None if t.kind == "operator" else _term(t) for t in tokens]
    clauses: list[Clause] = []
    negate_next = join_next = last_kept = False
    for token, term in zip(tokens, terms):
        if token.kind == "operator":
            if token.text == "NOT":
                negate_next = True
            elif token.text == "OR":
                join_next = last_kept  # an OR beside nothing searchable is ignored
            continue
        negated, negate_next = token.negated or negate_next, False
        if term is None:
            join_next = last_kept = False
            continue
        if join_next:
            last = clauses[-1]
            if negated or last.negated:
                raise QueryError(
                    "An exclusion can't be part of an OR. Exclude separately, "
                    "e.g. breast OR prostate -mouse."
                )
            if term not in last.options:
                clauses[-1] = Clause(last.options + (term,))
        else:
            clauses.append(Clause((term,), negated))
        join_next, last_kept = False, True
    unique: list[Clause] = []
    for clause in clauses:
        if clause not in unique:
            unique.append(clause)
    return unique


def parse_query(text: str) -> ParsedQuery:
    """Parse ``text``; raises ``QueryError`` (never anything else) for what we cannot run."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"That query is {len(text):,} characters long; the limit is {MAX_QUERY_CHARS}. "
            "Shorten it and try again."
        )
    cleaned = clean(text)
    if not cleaned.strip():
        raise QueryError(f"Type something to search for, e.g. {EXAMPLE}")
    tokens = lex(cleaned)
    clauses = _group(tokens)
    if not clauses:
        overlong = [t.text for t in tokens if t.kind in ("word", "phrase") and too_long(t.text)]
        if overlong:
            raise QueryError(
                f'"{show(overlong[0])}" is longer than any word the index holds (up to '
                f"{MAX_WORD_CHARS} characters in any script): search for other words of the paper."
            )
        raise QueryError(
            "There is nothing to search for in that query: use letters or digits, and "
            f'more than common words like "the", e.g. {EXAMPLE}'
        )
    terms = sum(len(c.options) for c in clauses)
    if terms > MAX_QUERY_TERMS:
        raise QueryError(
            f"That query has {terms} terms; the limit is {MAX_QUERY_TERMS}. "
            "Remove some words or filters and try again."
        )
    return ParsedQuery(tuple(clauses))
