"""What each part of a bulk import costs on its own: the floors under bench_catalog.

Run from the repository root::

    .venv/bin/python -m bench.import_floors --papers 200000

The papers are generated first (``bench.synth``) and held in memory, so no
figure includes generation. Each line times one thing in isolation:

- ``upsert_papers``: the catalog's bulk write (SQLAlchemy Core executemany),
  5,000 papers a transaction, into a fresh SQLite file;
- ``raw sqlite3``: the same rows, schema, existence look-ups and
  transactions through the DB-API directly, values serialized by hand;
  then the same with ten batches (50,000 papers) a transaction, which
  shows what the per-commit WAL checkpoints cost;
- ``tantivy``: the same papers through ``bot.search.index``'s writer and schema
  (adds, then one commit), and, for comparison, a title+abstract-only
  schema with the project's analyzer, without stemming, with tantivy's
  built-in ``en_stem``, and with one or two indexing threads.

The gap between the first two is SQLAlchemy's per-row cost; the tantivy
lines show what indexing alone allows on this machine, whatever the
database does. Figures and their reading are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tantivy

from bench.synth import SyntheticCatalog
from bot.model.papers import PaperRecord
from bot.search.index import TEXT_ANALYZER, SearchIndex, _text_analyzer
from bot.store.catalog import upsert_papers
from bot.store.db import open_database

OUT_DIR = Path(__file__).resolve().parent / "out"
BATCH = 5000


def log(message: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def batches(records: list[PaperRecord]) -> Iterator[list[PaperRecord]]:
    for start in range(0, len(records), BATCH):
        yield records[start : start + BATCH]


def time_upsert(records: list[PaperRecord], work: Path) -> float:
    db = open_database(f"sqlite:///{work / 'upsert.sqlite3'}")
    now = datetime.now(UTC)
    start = time.perf_counter()
    for batch in batches(records):
        with db.session() as session:
            upsert_papers(session, batch, now=now)
    seconds = time.perf_counter() - start
    db.dispose()
    return seconds


_INSERT = (
    "INSERT INTO papers (id, title, authors, authors_truncated, abstract, categories, "
    "published, url, code_urls, has_code, source, arxiv_version, revision, first_seen, "
    "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def time_raw_sqlite(records: list[PaperRecord], work: Path, *, per_commit: int = BATCH) -> float:
    path = work / f"raw-{per_commit}.sqlite3"
    open_database(f"sqlite:///{path}").dispose()  # the real schema, from the migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    dumps = json.dumps
    per = max(1, per_commit // BATCH)  # batches per transaction
    start = time.perf_counter()
    for number, batch in enumerate(batches(records)):
        if number % per == 0:
            conn.execute("BEGIN")
        ids = [r.id for r in batch]
        for at in range(0, len(ids), 500):  # the same existence look-ups
            chunk = ids[at : at + 500]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"SELECT id FROM papers WHERE id IN ({marks})", chunk).fetchall()
        conn.executemany(
            _INSERT,
            [
                (
                    r.id, r.title, dumps(r.authors), r.authors_truncated, r.abstract,
                    dumps(r.categories), r.published.isoformat() if r.published else None,
                    r.url, dumps(r.code_urls), r.has_code, r.source, r.version, number + 1,
                    stamp, stamp,
                )
                for r in batch
            ],
        )
        if number % per == per - 1:
            conn.execute("COMMIT")
    if conn.in_transaction:
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def time_bot_index(records: list[PaperRecord], work: Path) -> tuple[float, float]:
    index = SearchIndex.open(work / "bot-index", catalog_id="floors")
    start = time.perf_counter()
    with index.writer() as writer:
        for batch in batches(records):
            writer.add(batch, replace=False)
        added = time.perf_counter()
        writer.commit(1)
    return time.perf_counter() - start, added - start


def time_tantivy_variant(
    records: list[PaperRecord], work: Path, *, tokenizer: str, threads: int
) -> tuple[float, float]:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name=tokenizer)
    builder.add_text_field("abstract", tokenizer_name=tokenizer)
    path = work / f"variant-{tokenizer}-{threads}"
    path.mkdir()
    index = tantivy.Index(builder.build(), path=str(path))
    index.register_tokenizer(TEXT_ANALYZER, _text_analyzer())
    index.register_tokenizer(
        "lowercase",
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .build(),
    )
    writer = index.writer(heap_size=256_000_000, num_threads=threads)
    start = time.perf_counter()
    for record in records:
        doc = tantivy.Document()
        doc.add_text("id", record.id)
        doc.add_text("title", record.title)
        doc.add_text("abstract", record.abstract)
        writer.add_document(doc)
    added = time.perf_counter()
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - start, added - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.import_floors",
        description="Time the parts of a bulk import in isolation.",
    )
    parser.add_argument("--papers", type=int, default=200_000, help="papers (default 200,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout as well")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    records = list(SyntheticCatalog(seed=args.seed).papers(args.papers))
    log(f"generated {len(records):,} papers in {time.perf_counter() - start:.1f}s")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="floors-", dir=OUT_DIR))
    rows: list[dict[str, object]] = []

    def record(name: str, seconds: float, note: str = "") -> None:
        rows.append({"step": name, "seconds": seconds, "papers_per_second": len(records) / seconds,
                     "note": note})
        log(f"{name}: {seconds:.1f}s, {len(records) / seconds:,.0f} papers/s {note}")

    load_before = os.getloadavg()
    try:
        record("upsert_papers (SQLAlchemy Core)", time_upsert(records, work))
        record("raw sqlite3 executemany", time_raw_sqlite(records, work))
        record("raw sqlite3 executemany, 50,000 a transaction",
               time_raw_sqlite(records, work, per_commit=10 * BATCH))
        total, adds = time_bot_index(records, work)
        record("tantivy, bot.search.index writer + schema", total, f"(adds {adds:.1f}s)")
        for tokenizer, threads in (
            (TEXT_ANALYZER, 0),
            (TEXT_ANALYZER, 1),
            (TEXT_ANALYZER, 2),
            ("en_stem", 0),
            ("lowercase", 0),
        ):
            total, adds = time_tantivy_variant(records, work, tokenizer=tokenizer, threads=threads)
            label = {TEXT_ANALYZER: "bot analyzer (stemmed)", "en_stem": "tantivy en_stem",
                     "lowercase": "lowercase, no stemming"}[tokenizer]
            record(f"tantivy title+abstract, {label}, threads={threads or 'auto'}", total,
                   f"(adds {adds:.1f}s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    width = max(len(str(r["step"])) for r in rows)
    print(f"{len(records):,} papers, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"{'step'.ljust(width)}  seconds  papers/s")
    for r in rows:
        print(f"{str(r['step']).ljust(width)}  {r['seconds']:7.1f}  {r['papers_per_second']:8,.0f}  {r['note']}")
    if args.json:
        print(json.dumps({"papers": len(records), "loadavg": [load_before, load_after], "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
