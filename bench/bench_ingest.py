"""Feed ingestion benchmark: one day's arXiv feed file into a large catalog.

Run from the repository root::

    .venv/bin/python -m bench.bench_ingest --papers 1000000 --data-dir bench/out/ingest-1m

The target (issue 6): ingesting a 2,000-entry arXiv feed file into a
1,000,000-paper catalog, index included, at >= 2,000 entries/s.

What it does:

1. catalog: N synthetic papers (``bench.synth``, as ``bench_digest`` builds
   them) through ``Catalog.import_records``; kept in ``--data-dir`` and used
   again when it is there (``bench-digest.json`` marker, same N and seed).
   ``--from DIR`` copies a catalog another run built instead;
2. per repeat, untimed: a day's feed from ``bench.synth_feed`` (RSS, a
   busy cs.CV day: ~55% new, ~15% cross-lists, ~30% replacements), written
   to a file, with the new papers' ids moved to a month of their own so each
   repeat brings new papers (repeats are numbered on from the last one's
   ``bench-ingest-N.done`` marker, past any whose papers the catalog holds
   already); the papers its replacements revise are stored
   first at version 1, so replacements update papers, as on a real day;
3. timed: ``Ingestion.run_feeds([FILE])``, what ``digestbot ingest FILE``
   runs: read, parse, merge into the catalog, index and commit. Then the
   parse alone, on the same bytes, for the breakdown. Each is measured in
   wall time and in CPU time (``time.process_time``: every thread of the
   process, tantivy's indexing threads included), the steadier figure on a
   machine other work shares.

A script, not a test: it prints a table (JSON with ``--json``) and asserts
nothing. Figures and the command are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import log, machine, peak_rss_mb
from bench.digest.build import run_catalog
from bench.digest.state import read_marker
from bench.synth_feed import synth_feed

TARGET_RATE = 2000.0
INGEST_AT = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)
_NEW_ID = re.compile(rb"2402\.(\d{5})")
_NEW_ID_OUT = re.compile(rb"arXiv:(\d{4}\.\d{5})v\d+ Announce Type: new")
_REVISED = re.compile(rb"arXiv:(\d{4}\.\d{5})v\d+ Announce Type: replace")


def open_service(data_dir: Path) -> Any:
    from bot.chat.service import Service
    from bot.config import Settings

    return Service.open(Settings(data_dir=data_dir, feeds=()), clock=lambda: INGEST_AT)


def day_feed(entries: int, repeat: int) -> bytes:
    """Repeat ``repeat``'s feed, its new papers numbered apart from every other
    repeat's and from the synthetic catalog's (which runs to 2610.NNNNN)."""
    data = synth_feed(entries=entries, fmt="rss", seed=1000 + repeat)
    return _NEW_ID.sub(lambda m: b"%04d.%s" % (2612 + repeat, m[1]), data)


def store_revised_originals(service: Any, data: bytes) -> int:
    """Store version 1 of every paper the feed replaces, as a catalog would hold it."""
    from bot.model.papers import PaperRecord

    ids = sorted({m.decode() for m in _REVISED.findall(data)})
    records = [
        PaperRecord(id=i, title=f"An earlier paper {i}", abstract="First version.", version=1,
                    categories=("cs.CV",), source="bench", url=f"https://arxiv.org/abs/{i}")
        for i in ids
    ]
    service.catalog.import_records(records)
    return len(records)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.ingest.feeds import parse_feed

    data_dir = Path(args.data_dir)
    marker = read_marker(data_dir)
    if marker is None or marker.get("papers") != args.papers:
        if args.from_dir:
            log(f"catalog: copying {args.from_dir} to {data_dir}")
            shutil.rmtree(data_dir, ignore_errors=True)
            shutil.copytree(args.from_dir, data_dir)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            log(f"catalog: building {args.papers:,} papers in {data_dir}")
            run_catalog({"data_dir": str(data_dir), "papers": args.papers, "seed": 0,
                         "database_url": None})
    service = open_service(data_dir)
    start = time.perf_counter()
    service.catalog.sync_index()  # a catalog from another version may need its index caught up
    log(f"catalog: {service.catalog.count():,} papers, index caught up in "
        f"{time.perf_counter() - start:.1f}s")
    runs = []
    feed_file = data_dir / "bench-ingest-feed.xml"
    done = [int(p.stem.rsplit("-", 1)[1]) for p in data_dir.glob("bench-ingest-*.done")]
    repeat = max(done, default=-1) + 1
    for _ in range(args.repeats):
        data = day_feed(args.entries, repeat)
        # A feed ingested by hand (a profile) leaves no marker: its papers would
        # all come back unchanged, so take the next repeat's.
        while service.catalog.get(_NEW_ID_OUT.search(data)[1].decode()) is not None:
            repeat += 1
            data = day_feed(args.entries, repeat)
        feed_file.write_bytes(data)
        originals = store_revised_originals(service, data)
        start, cpu_start = time.perf_counter(), time.process_time()
        [report] = service.ingestion.run_feeds([str(feed_file)])
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        parsed = parse_feed(data, source="bench")
        parse_seconds = time.perf_counter() - start
        parse_cpu_seconds = time.process_time() - cpu_start
        (data_dir / f"bench-ingest-{repeat}.done").touch()
        runs.append({
            "repeat": repeat,
            "bytes": len(data),
            "originals": originals,
            "report": report.line(),
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "rate": report.seen / seconds,
            "cpu_rate": report.seen / cpu_seconds,
            "parse_seconds": parse_seconds,
            "parse_cpu_seconds": parse_cpu_seconds,
            "parse_rate": parsed.seen / parse_seconds,
            "load": os.getloadavg()[0],
        })
        log(f"repeat {repeat}: {report.line()} in {seconds:.3f}s, CPU {cpu_seconds:.3f}s "
            f"({report.seen / seconds:,.0f} entries/s; parse alone {parse_seconds:.3f}s, "
            f"CPU {parse_cpu_seconds:.3f}s; load {os.getloadavg()[0]:.1f})")
        repeat += 1
    papers = service.catalog.count()
    service.close()
    rates = [r["rate"] for r in runs]
    cpu_rates = [r["cpu_rate"] for r in runs]
    return {
        "machine": machine(),
        "papers": papers,
        "entries": args.entries,
        "runs": runs,
        "median_rate": statistics.median(rates),
        "min_rate": min(rates),
        "median_cpu_rate": statistics.median(cpu_rates),
        "target_rate": TARGET_RATE,
        "peak_rss_mb": peak_rss_mb(),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        f"catalog: {result['papers']:,} papers; feed: {result['entries']:,} entries",
        (
            f"{'run':>3}  {'seconds':>8}  {'CPU s':>6}  {'entries/s':>9}  {'parse s':>8}  "
            f"{'CPU s':>6}  {'load':>4}  report"
        ),
    ]
    for r in result["runs"]:
        lines.append(f"{r['repeat']:>3}  {r['seconds']:>8.3f}  {r['cpu_seconds']:>6.3f}  "
                     f"{r['rate']:>9,.0f}  {r['parse_seconds']:>8.3f}  "
                     f"{r['parse_cpu_seconds']:>6.3f}  {r['load']:>4.1f}  {r['report']}")
    verdict = "meets" if result["min_rate"] >= TARGET_RATE else "misses"
    lines.append(f"median {result['median_rate']:,.0f} entries/s, slowest "
                 f"{result['min_rate']:,.0f}: {verdict} the {TARGET_RATE:,.0f}/s target (wall); "
                 f"median on CPU time {result['median_cpu_rate']:,.0f}/s; "
                 f"peak RSS {result['peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1_000_000, help="catalog size")
    parser.add_argument("--entries", type=int, default=2000, help="entries in the feed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default="bench/out/ingest-1m",
                        help="kept between runs; built when missing")
    parser.add_argument("--from", dest="from_dir", metavar="DIR",
                        help="copy this catalog (e.g. bench/out/digest-1m) instead of building")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
