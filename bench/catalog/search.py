"""Phase 2 of the catalog benchmark: ``Catalog.search`` timed per query class, in a process of its own.

The files are read once first (unless ``cold``), then warm-up queries, then
K queries of each class; with ``profile`` each class runs under cProfile.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.catalog.queries import CLASSES, LIMIT, build_queries
from bench.catalog.store import catalog_source, open_service
from bench.common import current_rss_mb, log, peak_rss_mb, percentile
from bench.synth import build_vocabulary

__all__ = ["SAME_TERM_REPEATS", "run_search"]

# Repeats of each baseline term through our search, for its own p50/p95.
SAME_TERM_REPEATS = 20


class _Profiler:
    """cProfile around a block when ``path`` is set; the top lines go to stderr."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.profile = cProfile.Profile() if path else None

    def __enter__(self) -> _Profiler:
        if self.profile:
            self.profile.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.profile and self.path:
            self.profile.disable()
            self.profile.dump_stats(str(self.path))
            stats = pstats.Stats(self.profile, stream=sys.stderr)
            log(f"profile written to {self.path}; top functions by cumulative time:")
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)


def _time_query(service: Any, text: str) -> tuple[float, int, str | None]:
    start = time.perf_counter()
    try:
        results = service.catalog.search(text, limit=LIMIT)
    except Exception as exc:  # a query the language rejects is a finding, not a crash
        return (time.perf_counter() - start) * 1000, 0, f"{type(exc).__name__}: {exc}"
    return (time.perf_counter() - start) * 1000, len(results.hits), None


def run_search(params: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(params["data_dir"])
    vocab = build_vocabulary(seed=params["seed"])
    database_url = params.get("database_url")
    queries = build_queries(
        vocab, catalog_source(params), per_class=params["per_class"], seed=params["seed"]
    )
    warm_files_s = None
    if not params.get("cold"):
        # Read the catalog and index files once, as a busy bot would have them
        # in the OS page cache; without this, results depend on what earlier
        # runs left there (see docs/benchmarks.md, section "Catalog: bulk import
        # and search", What it does, item 3).
        start = time.perf_counter()
        files = [*(data_dir / "index").rglob("*")]
        if database_url:
            from bench.pg import prewarm

            prewarm(database_url)
        else:
            files.insert(0, data_dir / "digestbot.sqlite3")
        for path in files:
            if path.is_file():
                with path.open("rb") as fh:
                    while fh.read(1 << 24):
                        pass
        warm_files_s = time.perf_counter() - start
    load_before = os.getloadavg()
    rss_before_open = current_rss_mb()
    start = time.perf_counter()
    service = open_service(data_dir, database_url)
    open_ms = (time.perf_counter() - start) * 1000
    first_ms, _, first_error = _time_query(service, queries.warmup[0])
    for text in queries.warmup[1:]:
        _time_query(service, text)
    log(f"search: opened in {open_ms:.0f} ms, first query {first_ms:.1f} ms, "
        f"{len(queries.warmup)} warm-up queries done")

    classes: dict[str, Any] = {}
    profile_dir = Path(params["profile"]) if params.get("profile") else None
    for name, description in CLASSES:
        timings: list[float] = []
        hits: list[int] = []
        errors: list[str] = []
        slowest = ("", 0.0)
        profile_path = profile_dir / f"search-{name}.prof" if profile_dir else None
        with _Profiler(profile_path):
            for text in queries.by_class[name]:
                ms, count, error = _time_query(service, text)
                timings.append(ms)
                hits.append(count)
                if error:
                    errors.append(f"{text!r}: {error}")
                if ms > slowest[1]:
                    slowest = (text, ms)
        classes[name] = {
            "description": description,
            "example": queries.by_class[name][0],
            "queries": len(timings),
            "p50_ms": statistics.median(timings),
            "p95_ms": percentile(timings, 95),
            "max_ms": max(timings),
            "slowest_query": slowest[0],
            "mean_hits": statistics.mean(hits),
            "zero_hit_queries": sum(1 for h in hits if h == 0),
            "errors": errors,
            "per_query": [
                {"query": q, "ms": round(ms, 3), "hits": h}
                for q, ms, h in zip(queries.by_class[name], timings, hits, strict=True)
            ],
        }
        c = classes[name]
        log(f"search {name:13s} p50 {c['p50_ms']:7.2f} ms  p95 {c['p95_ms']:7.2f} ms  "
            f"max {c['max_ms']:7.2f} ms  errors {len(errors)}")

    same_term: dict[str, Any] = {}
    for _cls, term in queries.baseline_terms:
        timings = [_time_query(service, term)[0] for _ in range(SAME_TERM_REPEATS)]
        same_term[term] = {"p50_ms": statistics.median(timings), "p95_ms": percentile(timings, 95)}
    service.close()
    return {
        "warm_files_seconds": warm_files_s,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "limit": LIMIT,
        "warmup_queries": len(queries.warmup),
        "open_ms": open_ms,
        "first_query_ms": first_ms,
        "first_query_error": first_error,
        "classes": classes,
        "same_term": same_term,
        "rss_before_open_mb": rss_before_open,
        "peak_rss_mb": peak_rss_mb(),
    }
