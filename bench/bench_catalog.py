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

The phases are in ``bench/catalog/``, what every benchmark shares in
``bench/common.py``. The figures of a full run are in docs/benchmarks.md.
This is a script, not a test: it prints a table (and JSON with ``--json``)
and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog.baselines import run_like_baseline, run_scan_baseline
from bench.catalog.bulk_import import run_import
from bench.catalog.report import render
from bench.catalog.search import run_search
from bench.common import OUT_DIR, code_state, in_fresh_process, log, machine

__all__ = ["main", "parse_args"]


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
