"""Phase 3 of the catalog benchmark: what search costs without an index (SQLite files only).

A naive SQLite ``LIKE '%term%'`` scan and a pure-Python scan over every
paper held in memory, for a handful of the same terms as ours.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.catalog.queries import LIMIT, build_queries
from bench.common import current_rss_mb, log, peak_rss_mb
from bench.synth import build_vocabulary

__all__ = ["run_like_baseline", "run_scan_baseline"]


def run_like_baseline(params: dict[str, Any]) -> dict[str, Any]:
    """SQLite ``LIKE '%term%'`` over title and abstract: no index, no ranking."""
    data_dir = Path(params["data_dir"])
    vocab = build_vocabulary(seed=params["seed"])
    db_file = data_dir / "digestbot.sqlite3"
    queries = build_queries(vocab, db_file, per_class=params["per_class"], seed=params["seed"])
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    rows = []
    for cls, term in queries.baseline_terms:
        pattern = f"%{term}%"
        start = time.perf_counter()
        found = conn.execute(
            "SELECT id FROM papers WHERE title LIKE ? OR abstract LIKE ? LIMIT ?",
            (pattern, pattern, LIMIT),
        ).fetchall()
        first10_ms = (time.perf_counter() - start) * 1000
        # Ranking needs every match first: count them all, the least a ranked
        # LIKE search would have to do.
        start = time.perf_counter()
        matches = conn.execute(
            "SELECT count(*) FROM papers WHERE title LIKE ? OR abstract LIKE ?",
            (pattern, pattern),
        ).fetchone()[0]
        all_ms = (time.perf_counter() - start) * 1000
        rows.append({
            "class": cls, "term": term, "first10_ms": first10_ms, "returned": len(found),
            "all_matches_ms": all_ms, "matches": matches,
        })
        log(f"baseline LIKE {term!r}: first 10 in {first10_ms:.1f} ms, "
            f"all {matches:,} matches in {all_ms:.0f} ms")
    conn.close()
    return {"rows": rows, "peak_rss_mb": peak_rss_mb()}


_WORD = re.compile(r"\w+")


def run_scan_baseline(params: dict[str, Any]) -> dict[str, Any]:
    """Every paper's text in memory, scanned per query: tokenize, count, score, top 10."""
    import heapq

    data_dir = Path(params["data_dir"])
    vocab = build_vocabulary(seed=params["seed"])
    db_file = data_dir / "digestbot.sqlite3"
    queries = build_queries(vocab, db_file, per_class=params["per_class"], seed=params["seed"])
    start = time.perf_counter()
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    ids: list[str] = []
    texts: list[str] = []
    for paper_id, title, abstract in conn.execute("SELECT id, title, abstract FROM papers"):
        ids.append(paper_id)
        texts.append(f"{title} {abstract}".lower())
    conn.close()
    load_s = time.perf_counter() - start
    avg_chars = sum(map(len, texts)) / max(1, len(texts))
    log(f"baseline scan: {len(texts):,} papers loaded in {load_s:.1f}s, "
        f"RSS {current_rss_mb():,.0f} MB")

    rows = []
    # One term per class: the scan costs the same for any term.
    seen: set[str] = set()
    for cls, term in queries.baseline_terms:
        if cls in seen:
            continue
        seen.add(cls)
        start = time.perf_counter()
        findall = _WORD.findall
        scored: list[tuple[float, str]] = []
        for paper_id, text in zip(ids, texts, strict=True):
            tokens = findall(text)
            tf = tokens.count(term)
            if tf:
                # BM25's term-frequency part (k1 = 1.2, b = 0.75) by length in
                # characters; one term, so idf is a constant and left out.
                norm = 1.2 * (0.25 + 0.75 * len(text) / avg_chars)
                scored.append((tf * 2.2 / (tf + norm), paper_id))
        top = heapq.nlargest(LIMIT, scored)
        ms = (time.perf_counter() - start) * 1000
        rows.append({"class": cls, "term": term, "ms": ms, "matches": len(scored),
                     "returned": len(top)})
        log(f"baseline scan {term!r}: {ms:,.0f} ms, {len(scored):,} matches")
    return {"rows": rows, "load_seconds": load_s, "peak_rss_mb": peak_rss_mb()}
