"""The search benchmark's queries: ten classes drawn from the synthetic vocabulary and the catalog's titles.

The same queries for the same seed and catalog, every run, on SQLite or
PostgreSQL alike (see ``_titles_postgres`` for where they differ).
"""

from __future__ import annotations

import random
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench.synth import STOPWORDS, SURNAMES, Vocabulary, plain_ascii

__all__ = ["CLASSES", "LIMIT", "QuerySet", "WARMUP_PER_CLASS", "build_queries"]

# Hits asked of each search, ours and the LIKE baseline's first query alike.
LIMIT = 10
WARMUP_PER_CLASS = 3

CLASSES: tuple[tuple[str, str], ...] = (
    ("common", "one word in >50% of papers"),
    ("mid", "one word in 0.5-5% of papers"),
    ("rare", "one word in <0.05% of papers"),
    ("and", "2-3 words, all required"),
    ("phrase", "two adjacent title words, quoted"),
    ("phrase_common", "two common words, quoted (worst case)"),
    ("or", "common OR mid word"),
    ("prefix", "3-letter prefix of a common word"),
    ("author", "author:<surname>"),
    ("filters", "cat:cs.CV has:code after:2024-01-01 + word"),
)


@dataclass(frozen=True)
class QuerySet:
    by_class: dict[str, list[str]]
    warmup: list[str]
    baseline_terms: list[tuple[str, str]]  # (class, term)


def _titles(db_file: Path | str, rng: random.Random, count: int) -> list[str]:
    if isinstance(db_file, str):
        return _titles_postgres(db_file, rng, count)
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        top = conn.execute("SELECT max(rowid) FROM papers").fetchone()[0] or 0
        titles: list[str] = []
        while len(titles) < count and top:
            row = conn.execute(
                "SELECT title FROM papers WHERE rowid = ?", (rng.randint(1, top),)
            ).fetchone()
            if row:
                titles.append(row[0])
        return titles
    finally:
        conn.close()


def _titles_postgres(url: str, rng: random.Random, count: int) -> list[str]:
    # No rowid: the n-th paper by (revision, id) for SQLite's n-th rowid. The
    # same draws from ``rng`` as on SQLite, but other titles (a revision's
    # papers in another order), so from the first phrase on some queries differ.
    from bisect import bisect_left
    from itertools import accumulate

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    titles: list[str] = []
    try:
        with engine.connect() as conn:
            batches = conn.execute(
                text("SELECT revision, count(*) FROM papers GROUP BY revision ORDER BY revision")
            ).all()
            ends = list(accumulate(size for _, size in batches))
            top = ends[-1] if ends else 0
            while len(titles) < count and top:
                n = rng.randint(1, top)
                i = bisect_left(ends, n)
                offset = n - 1 - (ends[i - 1] if i else 0)
                titles.append(conn.execute(
                    text('SELECT title FROM papers WHERE revision = :r ORDER BY id COLLATE "C" '
                         "OFFSET :k LIMIT 1"),
                    {"r": batches[i][0], "k": offset},
                ).scalar_one())
    finally:
        engine.dispose()
    return titles


def _phrase(title: str, rng: random.Random) -> str:
    # Two adjacent content words, as people quote them ("deep learning"): a
    # stop word would make the phrase a one-word query in an index without them.
    words = re.findall(r"\w+", title.lower())
    pairs = [
        (a, b)
        for a, b in zip(words, words[1:], strict=False)
        if a not in STOPWORDS and b not in STOPWORDS
    ]
    a, b = rng.choice(pairs) if pairs else (words[0], words[-1])
    return f'"{a} {b}"'


def build_queries(
    vocab: Vocabulary, db_file: Path | str, *, per_class: int, seed: int
) -> QuerySet:
    """The same queries for the same seed and catalog, every run."""
    def make(rng: random.Random, count: int) -> dict[str, list[str]]:
        common, mid, rare = vocab.common, vocab.mid, vocab.rare
        prefixes = sorted({w[:3] for w in common if len(w) >= 4})
        titles = _titles(db_file, rng, count)
        out: dict[str, list[str]] = {name: [] for name, _ in CLASSES}
        for i in range(count):
            out["common"].append(rng.choice(common))
            out["mid"].append(rng.choice(mid))
            out["rare"].append(rng.choice(rare))
            words = [rng.choice(common), rng.choice(mid)]
            if rng.random() < 0.5:
                words.append(rng.choice([w for w in common if w not in words]))
            out["and"].append(" ".join(words))
            out["phrase"].append(_phrase(titles[i % len(titles)], rng) if titles else "")
            a, b = rng.sample(common, 2)
            out["phrase_common"].append(f'"{a} {b}"')
            out["or"].append(f"{rng.choice(common)} OR {rng.choice(mid)}")
            out["prefix"].append(rng.choice(prefixes) + "*")
            surname = rng.choice(SURNAMES)
            # Half as written ("Müller"), half as typed on a plain keyboard ("muller").
            out["author"].append(f"author:{surname if i % 2 == 0 else plain_ascii(surname).lower()}")
            word = rng.choice(common if rng.random() < 0.5 else mid)
            out["filters"].append(f"cat:cs.CV has:code after:2024-01-01 {word}")
        return out

    by_class = make(random.Random(f"queries-{seed}"), per_class)
    warm = make(random.Random(f"warmup-{seed}"), WARMUP_PER_CLASS)
    all_warmup = [text for name, _ in CLASSES for text in warm[name]]
    # Two distinct terms of each one-word class, for the slow baselines.
    baseline_terms = [
        (name, term)
        for name in ("common", "mid", "rare")
        for term in list(dict.fromkeys(by_class[name]))[:2]
    ]
    return QuerySet(by_class=by_class, warmup=all_warmup, baseline_terms=baseline_terms)
