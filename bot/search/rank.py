"""Run a parsed query against the search index and rank the papers it finds.

Queries are built only from ``tantivy.Query`` constructors over terms that
went through the index's own analyzers (``bot.search.index.text_terms`` and
``name_terms``), so stemming, case and accent folding match what was
indexed and no user text ever reaches tantivy's query parser.

Ranking: BM25 over title (boosted), abstract and authors. Filters never
change scores. Near-equal scores are broken by recency, then by id, so the
order is stable. A query with no words to rank by (only filters or
exclusions) lists the newest papers first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import tantivy
from sqlalchemy.orm import Session

from bot.model.papers import PaperRecord
from bot.search.index import (
    SearchIndex,
    day_number,
    name_terms,
    text_phrase,
    text_terms,
    text_words,
)
from bot.search.query import (
    Author,
    Category,
    Clause,
    DateBound,
    HasCode,
    ParsedQuery,
    Phrase,
    QueryError,
    Term,
    Word,
    parse_query,
)
from bot.store.catalog import get_papers

__all__ = [
    "MAX_LIMIT",
    "SearchHit",
    "SearchResults",
    "compile_query",
    "match_all",
    "more_like",
    "search",
    "search_ids",
]

log = logging.getLogger(__name__)

MAX_LIMIT = 100
# A title word says more about a paper than the same word in its abstract.
FIELD_BOOSTS: tuple[tuple[str, float], ...] = (("title", 3.0), ("abstract", 1.0), ("authors", 1.0))
# How many index terms one prefix may stand for, per field: the most common
# ones, so "segm*" means segment/segmentation rather than a rare typo.
PREFIX_EXPANSIONS = 50
# Scores equal to this many decimals are a tie, and the newer paper wins.
SCORE_DECIMALS = 4

_Must, _Should, _MustNot = tantivy.Occur.Must, tantivy.Occur.Should, tantivy.Occur.MustNot
_Searcher = tantivy.Searcher | None


@dataclass(frozen=True)
class SearchHit:
    """One paper found; ``score`` is BM25 (0.0 when only filters applied)."""

    paper: PaperRecord
    score: float


@dataclass(frozen=True)
class SearchResults:
    """The hits in rank order, with the query as parsed (``str()`` is canonical)."""

    query: ParsedQuery
    hits: tuple[SearchHit, ...]


def _any_of(queries: Sequence[tantivy.Query]) -> tantivy.Query:
    if not queries:
        return tantivy.Query.empty_query()
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(_Should, q) for q in queries])


def _terms_query(
    schema: tantivy.Schema, field: str, terms: Sequence[str | tuple[int, str]]
) -> tantivy.Query:
    """A term, or a phrase of terms (given as words or as (position, word) pairs)."""
    # tantivy refuses a phrase of fewer than two terms (it panics).
    if not terms:
        return tantivy.Query.empty_query()
    if len(terms) == 1:
        term = terms[0]
        return tantivy.Query.term_query(schema, field, term if isinstance(term, str) else term[1])
    return tantivy.Query.phrase_query(schema, field, list(terms))


def _boosted(query: tantivy.Query, boost: float) -> tantivy.Query:
    return query if boost == 1.0 else tantivy.Query.boost_query(query, boost)


def _text_query(schema: tantivy.Schema, text: str) -> tantivy.Query:
    """``text`` as a word, or a phrase when it analyzes to several terms, in every field."""
    phrase = text_phrase(text)
    if not phrase:
        return tantivy.Query.empty_query()
    per_field = []
    for field, boost in FIELD_BOOSTS:
        terms = name_terms(text) if field == "authors" else phrase
        per_field.append(_boosted(_terms_query(schema, field, terms), boost))
    return _any_of(per_field)


def _prefixes(word: str, field: str) -> list[str]:
    folded = name_terms(word)
    if not folded:
        return []
    if field == "authors":
        return folded[:1]
    # Titles and abstracts hold stems: "segmentation*" must also reach "segment",
    # which is shorter than what was typed.
    found = sorted({folded[0], *text_terms(word)[:1]}, key=len)
    return [p for i, p in enumerate(found) if not any(p.startswith(q) for q in found[:i])]


def _prefix_query(schema: tantivy.Schema, word: str, searcher: _Searcher) -> tantivy.Query:
    per_field = []
    for field, boost in FIELD_BOOSTS:
        prefixes = _prefixes(word, field)
        if searcher is None:
            # No term statistics: tantivy expands it to the first terms in order.
            queries = [tantivy.Query.phrase_prefix_query(schema, field, [p]) for p in prefixes]
        else:
            counts: dict[str, int] = {}
            for prefix in prefixes:
                # tantivy returns the most frequent terms first, at most ``limit``.
                top = searcher.terms_with_prefix(field, prefix, limit=PREFIX_EXPANSIONS)
                for term, freq in top:
                    counts[term] = max(freq, counts.get(term, 0))
            common = sorted(counts, key=lambda t: (-counts[t], t))[:PREFIX_EXPANSIONS]
            queries = [tantivy.Query.term_query(schema, field, t) for t in common]
        per_field.append(_boosted(_any_of(queries), boost))
    return _any_of(per_field)


def _filter_query(schema: tantivy.Schema, term: Term) -> tantivy.Query:
    if isinstance(term, Author):
        query = _terms_query(schema, "authors", name_terms(term.name))
    elif isinstance(term, Category):
        query = tantivy.Query.term_query(schema, "category", term.name.lower())
    elif isinstance(term, HasCode):
        query = tantivy.Query.term_query(schema, "has_code", 1)
    elif isinstance(term, DateBound):
        bound = day_number(term.day)
        if term.kind == "after":
            query = tantivy.Query.range_query(
                schema, "day", tantivy.FieldType.Integer, lower_bound=bound, include_lower=True
            )
        else:
            query = tantivy.Query.range_query(
                schema, "day", tantivy.FieldType.Integer, upper_bound=bound, include_upper=False
            )
    else:
        raise TypeError(f"not a query term: {term!r}")
    # Filters choose papers; they must not make one paper rank above another.
    return tantivy.Query.const_score_query(query, 0.0)


def _term_query(schema: tantivy.Schema, term: Term, searcher: _Searcher) -> tantivy.Query:
    if isinstance(term, Word) and term.prefix:
        return _prefix_query(schema, term.text, searcher)
    if isinstance(term, (Word, Phrase)):
        return _text_query(schema, term.text)
    return _filter_query(schema, term)


def _clause_query(schema: tantivy.Schema, clause: Clause, searcher: _Searcher) -> tantivy.Query:
    return _any_of([_term_query(schema, t, searcher) for t in clause.options])


def compile_query(
    parsed: ParsedQuery, schema: tantivy.Schema, searcher: tantivy.Searcher | None = None
) -> tantivy.Query:
    """The tantivy query for ``parsed``; ``searcher`` lets ``segm*`` pick its commonest terms."""
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for clause in parsed.clauses:
        occur = _MustNot if clause.negated else _Must
        clauses.append((occur, _clause_query(schema, clause, searcher)))
    if all(occur == _MustNot for occur, _ in clauses):
        # Exclusions alone match nothing in tantivy: exclude from everything.
        clauses.insert(0, (_Must, tantivy.Query.all_query()))
    return tantivy.Query.boolean_query(clauses)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"Ask for 1 to {MAX_LIMIT} results at a time (got {limit}).")


def _ranked(index: SearchIndex, parsed: ParsedQuery, fetch: int) -> list[tuple[str, float]]:
    """Up to ``fetch`` (id, score) pairs, best first."""
    searcher = index.searcher()
    query = compile_query(parsed, index.schema, searcher)
    # count=False: counting every match defeats top-k pruning on common words.
    if not parsed.scored:
        result = searcher.search(
            query, limit=fetch, count=False, order_by_field="day", order=tantivy.Order.Desc
        )
        return [(searcher.doc(addr)["id"][0], 0.0) for _, addr in result.hits]
    result = searcher.search(query, limit=fetch, count=False)
    addresses = [addr for _, addr in result.hits]
    days = searcher.fast_field_values("day", addresses)
    rows = [
        (float(score), day if isinstance(day, int) else -(2**62), searcher.doc(addr)["id"][0])
        for (score, addr), day in zip(result.hits, days, strict=True)
    ]
    rows.sort(key=lambda r: (-round(r[0], SCORE_DECIMALS), -r[1], r[2]))
    return [(paper_id, score) for score, _, paper_id in rows]


def search_ids(index: SearchIndex, parsed: ParsedQuery, *, limit: int) -> list[tuple[str, float]]:
    """The best ``limit`` (paper id, score) pairs; score is 0.0 when only filters apply.

    ``limit`` must be 1..``MAX_LIMIT``, else ``QueryError``.
    """
    _check_limit(limit)
    return _ranked(index, parsed, limit * 2 + 10)[:limit]


def match_all(index: SearchIndex, parsed: ParsedQuery) -> list[tuple[str, float]]:
    """Every paper of ``index`` that ``parsed`` matches, best first (small indexes)."""
    return _ranked(index, parsed, max(index.num_docs, 1))


def search(session: Session, index: SearchIndex, text: str, *, limit: int = 10) -> SearchResults:
    """Parse ``text``, run it, and load the papers in rank order.

    Raises ``QueryError`` for a query we cannot run or a ``limit`` outside
    1..``MAX_LIMIT`` (not clamped: the caller asked for something else).
    Papers the index holds but the catalog no longer has are skipped.
    """
    _check_limit(limit)
    parsed = parse_query(text)
    # Rank more than asked for: recency needs the near-ties and
    # papers gone from the catalog leave gaps to fill.
    ranked = _ranked(index, parsed, limit * 2 + 10)
    # Load only the papers shown; a paper gone from the catalog is skipped
    # and the next candidate loaded in its place.
    hits: list[SearchHit] = []
    start = 0
    while len(hits) < limit and start < len(ranked):
        window = ranked[start : start + limit - len(hits)]
        start += len(window)
        papers = get_papers(session, [paper_id for paper_id, _ in window])
        hits += [SearchHit(papers[i], score) for i, score in window if i in papers]
    log.debug("search %r: %d hits", str(parsed), len(hits))
    return SearchResults(query=parsed, hits=tuple(hits))


def more_like(index: SearchIndex, record: PaperRecord, *, terms: int = 6) -> str | None:
    """A query for papers like ``record``: its rarest shared words, any of them.

    Words come from the title and the abstract's first 60 words; a title
    word counts double. A word no other paper has finds nothing and is
    skipped. None when the paper has no usable word.
    """
    searcher = index.searcher()
    total = max(searcher.num_docs, 1)
    abstract = " ".join(record.abstract.split()[:60])
    weights: dict[str, tuple[float, str]] = {}
    for text, boost in ((abstract, 1.0), (record.title, 2.0)):
        for word, term in text_words(text):
            if term.isdigit():
                continue
            frequency = max(
                searcher.doc_freq("title", term), searcher.doc_freq("abstract", term)
            )
            if frequency < 2:
                continue
            weight = boost * math.log(total / frequency)
            if weight > weights.get(term, (0.0, ""))[0]:
                weights[term] = (weight, word.lower())
    if not weights:
        return None
    best = sorted(weights.values(), key=lambda pair: (-pair[0], pair[1]))[:terms]
    return " OR ".join(word for _, word in best)
