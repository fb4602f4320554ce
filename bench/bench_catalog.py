"""Catalog benchmark: bulk import and search of a synthetic catalog.

Run from the repository root::

    .venv/bin/python -m bench.bench_catalog --papers 1000000

Three phases, each in its own fresh process (``multiprocessing`` spawn) so
that each reports its own peak RSS:

1. import: a fresh ``Service`` in the data directory (SQLite + tantivy index)
   takes N synthetic papers (``bench.synth``) through
   ``Catalog.import_records``, the real code path, index included;
2. search: a new process opens the same data directory with
   ``Service.open`` and times ``Catalog.search(text, limit=10)`` for ten
   query classes, K queries each, after a warm-up;
3. baselines: a naive SQLite ``LIKE '%term%'`` scan and a pure-Python scan
   over every paper held in memory, for a handful of the same terms.

The figures of a full run are in docs/benchmarks.md. This is a script, not
a test: it prints a table (and JSON with ``--json``) and asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import platform
import pstats
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sampler import Sampler
from bench.synth import (
    STOPWORDS,
    SURNAMES,
    SyntheticCatalog,
    Vocabulary,
    build_vocabulary,
    plain_ascii,
)

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"

IMPORT_TARGET = 10_000  # papers/s at 1M
IMPORT_TARGET_POSTGRES = 5_000  # papers/s at 1M into PostgreSQL (issue 7)
P95_TARGET_MS = 50.0
LIMIT = 10
WARMUP_PER_CLASS = 3
# Repeats of each baseline term through our search, for its own p50/p95.
SAME_TERM_REPEATS = 20

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


def log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def dir_size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: p95 of 50 values is the 48th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def open_service(data_dir: Path, database_url: str | None = None) -> Any:
    """The service on ``data_dir`` (index, and the SQLite file unless ``database_url``)."""
    from bot.config import Settings
    from bot.chat.service import Service

    return Service.open(Settings(data_dir=data_dir, database_url=database_url))


def catalog_source(params: dict[str, Any]) -> Path | str:
    """Where the papers are: the SQLite file in the data directory, or the database URL."""
    return params.get("database_url") or Path(params["data_dir"]) / "digestbot.sqlite3"


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


# -- phase 1: import -----------------------------------------------------------


def run_import(params: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(params["data_dir"])
    n = params["papers"]
    rss_start = current_rss_mb()
    database_url = params.get("database_url")
    service = open_service(data_dir, database_url)
    catalog = SyntheticCatalog(seed=params["seed"])
    gen_seconds = 0.0
    rss_after_pools = 0.0

    def records() -> Iterator[Any]:
        # Time spent generating is measured so that it can be taken out.
        nonlocal gen_seconds, rss_after_pools
        papers = catalog.papers(n)
        clock = time.perf_counter
        while True:
            t = clock()
            try:
                record = next(papers)
            except StopIteration:
                gen_seconds += clock() - t
                return
            gen_seconds += clock() - t
            if not rss_after_pools:
                rss_after_pools = current_rss_mb()
            yield record

    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(seen: int) -> None:
        now = time.perf_counter()
        marks["batches_done"] = now
        marks["batches_generation"] = gen_seconds
        marks["batches_peak_rss"] = peak_rss_mb()
        if seen % 100_000 == 0 or seen == n:
            elapsed = now - start
            log(f"import: {seen:,} papers stored after {elapsed:.0f}s "
                f"({seen / elapsed:,.0f}/s incl. generation)")

    load_before = os.getloadavg()
    sampler = Sampler(exclude="bench/synth.py") if params.get("profile") else None
    cpu_start = time.process_time()
    with sampler or nullcontext():
        result = service.catalog.import_records(records(), progress=progress)
    end = time.perf_counter()
    # All threads of this process (tantivy's indexing threads too), generation included.
    cpu_seconds = time.process_time() - cpu_start
    load_after = os.getloadavg()
    total = end - start
    net = total - gen_seconds
    batches_done = marks.get("batches_done", end)
    batch_seconds = batches_done - start - marks.get("batches_generation", gen_seconds)
    final_seconds = end - batches_done
    profile: dict[str, Any] | None = None
    if sampler is not None:
        text = sampler.report(top=40)
        out = Path(params["profile"]) / "import-samples.txt"
        out.write_text(text + "\n", "utf-8")
        log(f"import profile (sampling; also in {out}):\n{text}")
        profile = {
            "samples": sampler.samples,
            "generation_samples": sampler.excluded,
            "inclusive": sampler.inclusive.most_common(60),
            "self": sampler.leaf.most_common(60),
        }
    indexed = service.index.num_docs
    paper_count = service.catalog.count()
    service.close()
    db_file = data_dir / "digestbot.sqlite3"
    if database_url:
        from bench.pg import database_mb

        db_mb = database_mb(database_url)
    else:
        db_mb = dir_size_mb(db_file) + sum(
            dir_size_mb(p) for p in data_dir.glob("digestbot.sqlite3-*")
        )
    return {
        "papers": n,
        "new": result.new,
        "stored": paper_count,
        "indexed": indexed,
        "wall_seconds": total,
        "generation_seconds": gen_seconds,
        "process_cpu_seconds": cpu_seconds,
        "import_seconds": net,
        "batch_seconds": batch_seconds,
        "final_seconds": final_seconds,
        "papers_per_second": n / net,
        "papers_per_second_with_generation": n / total,
        "rss_start_mb": rss_start,
        "rss_after_generator_pools_mb": rss_after_pools,
        "peak_rss_after_batches_mb": marks.get("batches_peak_rss"),
        "peak_rss_mb": peak_rss_mb(),
        "db_file_mb": db_mb,
        "index_mb": dir_size_mb(data_dir / "index"),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "profile": profile,
    }


# -- queries -------------------------------------------------------------------


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


# -- phase 2: search -----------------------------------------------------------


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


# -- phase 3: baselines --------------------------------------------------------


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


# -- running phases in fresh processes -----------------------------------------


Phase = Callable[[dict[str, Any]], dict[str, Any]]


def _child(target: Phase, params: dict[str, Any], conn: Any) -> None:
    # The parent only learns what went wrong through the pipe.
    try:
        conn.send(("ok", target(params)))
    except BaseException as exc:  # report, then let the process die
        import traceback

        conn.send(("error", "".join(traceback.format_exception(exc))))
        raise


def in_fresh_process(target: Phase, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``target(params)`` in a new interpreter, so that its peak RSS is its own."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(target, params, child))
    process.start()
    child.close()
    try:
        status, payload = parent.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"{target.__name__} died (exit code {process.exitcode})") from None
    process.join()
    if status != "ok":
        raise SystemExit(f"{target.__name__} failed:\n{payload}")
    result: dict[str, Any] = payload
    return result


# -- report --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import sqlalchemy

    try:
        from importlib.metadata import version

        tantivy_version = version("tantivy")
    except Exception:
        tantivy_version = "?"
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gb = int(fh.readline().split()[1]) / 2**20
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "tantivy": tantivy_version,
        "platform": platform.platform(),
    }


def code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and a digest of bot/ as it is on disk."""
    import hashlib
    import subprocess

    root = BENCH_DIR.parent
    digest = hashlib.sha256()
    for path in sorted((root / "bot").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    state: dict[str, Any] = {"bot_sha256": digest.hexdigest()[:12]}
    try:
        state["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        state["bot_modified"] = bool(subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def _table(headers: list[str], rows: Iterable[list[str]], *, text_columns: int = 1) -> str:
    """Plain-text table: the first ``text_columns`` left-aligned, numbers right-aligned."""
    rows = list(rows)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def render(report: dict[str, Any]) -> str:
    out: list[str] = []
    m = report["machine"]
    out.append(
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']:.0f} GB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, tantivy {m['tantivy']}"
    )
    database = report.get("database")
    store = "SQLite"
    if database:
        store = "PostgreSQL"
        out.append(
            f"Database: PostgreSQL {database['version']}, "
            + ", ".join(f"{k}={v}" for k, v in database["settings"].items())
        )
    code = report.get("code", {})
    out.append(
        f"Code: commit {code.get('commit', '?')}"
        + (" with uncommitted changes in bot/" if code.get("bot_modified") else "")
        + f" (bot/ digest {code.get('bot_sha256')})"
    )
    out.append(f"Catalog: {report['papers']:,} synthetic papers (seed {report['seed']})")
    imp = report.get("import")
    if imp:
        target = IMPORT_TARGET_POSTGRES if database else IMPORT_TARGET
        ok = "meets" if imp["papers_per_second"] >= target else "MISSES"
        out.append("")
        out.append(f"Import (Catalog.import_records, fresh {store} + index, own process)")
        out.append(_table(
            ["step", "seconds", "papers/s"],
            [
                ["batches: upsert + index adds", f"{imp['batch_seconds']:.1f}",
                 f"{imp['papers'] / imp['batch_seconds']:,.0f}"],
                ["after the last batch: index commit", f"{imp['final_seconds']:.1f}", ""],
                ["import, generation excluded", f"{imp['import_seconds']:.1f}", f"{imp['papers_per_second']:,.0f}"],
                ["synthetic generation", f"{imp['generation_seconds']:.1f}", ""],
                ["wall, with generation", f"{imp['wall_seconds']:.1f}",
                 f"{imp['papers_per_second_with_generation']:,.0f}"],
            ],
        ))
        out.append(
            f"import {imp['papers_per_second']:,.0f} papers/s: {ok} the target of "
            f"{target:,}/s (generation time excluded)"
        )
        out.append(
            f"peak RSS {imp['peak_rss_mb']:,.0f} MB (at the last batch "
            f"{imp['peak_rss_after_batches_mb'] or 0:,.0f} MB; the generator's pools hold "
            f"~{imp['rss_after_generator_pools_mb'] - imp['rss_start_mb']:,.0f} MB of it)"
        )
        out.append(
            f"stored {imp['stored']:,}, indexed {imp['indexed']:,}; on disk: {store} "
            f"{imp['db_file_mb']:,.0f} MB, index {imp['index_mb']:,.0f} MB; load average "
            f"{imp['loadavg_before'][0]:.1f} before, {imp['loadavg_after'][0]:.1f} after"
        )
    srch = report.get("search")
    if srch:
        out.append("")
        cache = (
            f"files read once first to warm the OS cache ({srch['warm_files_seconds']:.1f}s)"
            if srch["warm_files_seconds"] is not None
            else "OS cache left as found (--cold)"
        )
        out.append(
            f"Search (Catalog.search, limit {srch['limit']}, own process; {cache}; opened in "
            f"{srch['open_ms']:.0f} ms, first query {srch['first_query_ms']:.1f} ms, then "
            f"{srch['warmup_queries']} warm-up queries not counted; load average "
            f"{srch['loadavg_before'][0]:.1f} before, {srch['loadavg_after'][0]:.1f} after)"
        )
        rows = []
        for name, c in srch["classes"].items():
            verdict = "ok" if c["p95_ms"] <= P95_TARGET_MS and not c["errors"] else "MISS"
            if c["errors"]:
                verdict = f"{len(c['errors'])} errors"
            rows.append([
                name, c["example"], str(c["queries"]), f"{c['p50_ms']:.2f}", f"{c['p95_ms']:.2f}",
                f"{c['max_ms']:.2f}", f"{c['mean_hits']:.1f}", str(c["zero_hit_queries"]), verdict,
            ])
        out.append(_table(
            ["class", "example", "n", "p50 ms", "p95 ms", "max ms", "hits", "0-hit", f"p95<={P95_TARGET_MS:.0f}"],
            rows,
            text_columns=2,
        ))
        out.append(f"search peak RSS {srch['peak_rss_mb']:,.0f} MB")
        for name, c in srch["classes"].items():
            for error in c["errors"][:3]:
                out.append(f"  error in {name}: {error}")
    base = report.get("baselines")
    if base and srch:
        same = srch["same_term"]
        classes = srch["classes"]
        out.append("")
        out.append("Baselines (same catalog; ours = Catalog.search on the same term, "
                   f"{SAME_TERM_REPEATS} runs)")
        rows = []
        for r in base["like"]["rows"]:
            ours = same[r["term"]]
            rows.append([
                "LIKE, first 10 (unranked)", r["term"], r["class"], f"{r['first10_ms']:,.1f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['first10_ms'] / ours['p50_ms']:,.1f}x / {r['first10_ms'] / ours['p95_ms']:,.1f}x",
                f"{r['first10_ms'] / classes[r['class']]['p95_ms']:,.1f}x",
            ])
            rows.append([
                "LIKE, all matches", r["term"], r["class"], f"{r['all_matches_ms']:,.0f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['all_matches_ms'] / ours['p50_ms']:,.0f}x / {r['all_matches_ms'] / ours['p95_ms']:,.0f}x",
                f"{r['all_matches_ms'] / classes[r['class']]['p95_ms']:,.0f}x",
            ])
        for r in base["scan"]["rows"]:
            ours = same[r["term"]]
            rows.append([
                "Python scan, top 10", r["term"], r["class"], f"{r['ms']:,.0f}",
                f"{ours['p50_ms']:.2f}/{ours['p95_ms']:.2f}",
                f"{r['ms'] / ours['p50_ms']:,.0f}x / {r['ms'] / ours['p95_ms']:,.0f}x",
                f"{r['ms'] / classes[r['class']]['p95_ms']:,.0f}x",
            ])
        out.append(_table(
            ["baseline", "term", "class", "ms", "ours p50/p95 ms", "ratio vs p50 / p95", "vs class p95"],
            rows,
            text_columns=3,
        ))
        out.append(
            "LIKE matches: " + ", ".join(f"{r['term']}={r['matches']:,}" for r in base["like"]["rows"])
        )
        scan = base["scan"]
        out.append(
            f"Python scan: loading every paper took {scan['load_seconds']:.1f}s and "
            f"{scan['peak_rss_mb']:,.0f} MB peak RSS"
        )
    return "\n".join(out)


# -- main ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_catalog",
        description="Benchmark bulk import and search on a synthetic catalog.",
    )
    parser.add_argument("--papers", type=int, default=1_000_000, help="catalog size (default 1,000,000)")
    parser.add_argument(
        "--data-dir", type=Path,
        help="where the catalog is built (default: a new temporary directory under bench/out/, "
        "deleted at the end unless --keep)",
    )
    parser.add_argument(
        "--database-url",
        help="the catalog in this database instead of a SQLite file in the data directory, e.g. "
        "postgresql+psycopg://postgres@127.0.0.1:PORT/catalog1m (created if missing; see "
        "bench/pg.py); the index stays in the data directory; no baselines",
    )
    parser.add_argument("--queries-per-class", type=int, default=50, help="K queries per class (default 50)")
    parser.add_argument(
        "--skip-baselines", action="store_true", help="skip the slow LIKE and Python-scan baselines"
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print the results as JSON on stdout (the table then goes to stderr)",
    )
    parser.add_argument("--seed", type=int, default=0, help="synthetic catalog seed (default 0)")
    parser.add_argument(
        "--reuse", action="store_true",
        help="--data-dir already holds a catalog from an earlier run with the same --papers and "
        "--seed: skip the import",
    )
    parser.add_argument(
        "--cold", action="store_true",
        help="do not read the data files before searching (results then depend on the OS cache)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the default temporary data directory")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR",
        help="a sampling profile of the import and a cProfile of each search class, written to DIR",
    )
    args = parser.parse_args(argv)
    if args.reuse and not args.data_dir:
        parser.error("--reuse needs --data-dir")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temporary = args.data_dir is None
    if temporary:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix=f"catalog-{args.papers}-", dir=OUT_DIR))
    else:
        data_dir = args.data_dir.resolve()
        if not args.reuse and data_dir.exists() and any(data_dir.iterdir()):
            raise SystemExit(
                f"{data_dir} is not empty; pass --reuse to search it, or pick another --data-dir"
            )
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    params = {
        "data_dir": str(data_dir),
        "papers": args.papers,
        "seed": args.seed,
        "per_class": args.queries_per_class,
        "profile": str(args.profile.resolve()) if args.profile else None,
        "cold": args.cold,
        "database_url": args.database_url,
    }
    report: dict[str, Any] = {
        "machine": machine(), "code": code_state(), "papers": args.papers, "seed": args.seed,
        "data_dir": str(data_dir),
        "command": " ".join(["python -m bench.bench_catalog", *sys.argv[1:]]),
    }
    if args.database_url:
        from bench.pg import describe, prepare

        prepare(args.database_url, reuse=args.reuse)
        report["database"] = describe(args.database_url)
    try:
        if not args.reuse:
            log(f"import: {args.papers:,} papers into {args.database_url or data_dir}")
            report["import"] = in_fresh_process(run_import, params)
        log("search: measuring")
        report["search"] = in_fresh_process(run_search, params)
        if not args.skip_baselines and not args.database_url:
            log("baselines: LIKE")
            like = in_fresh_process(run_like_baseline, params)
            log("baselines: Python scan")
            scan = in_fresh_process(run_scan_baseline, params)
            report["baselines"] = {"like": like, "scan": scan}
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    text = render(report)
    if args.json:
        sys.stderr.write(text + "\n")
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
