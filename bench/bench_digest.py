"""Digest benchmark: select the digests of many channels against one day's papers.

Run from the repository root::

    .venv/bin/python -m bench.bench_digest --papers 1000000 --new 2000 --channels 10000 --topics 3

Building the 1M catalog takes minutes (see docs/benchmarks.md, section
"Digest selection", Commands); keep it (``--data-dir`` under
``bench/out/``, or ``--keep``) and measure again with ``--data-dir DIR --reuse``.

The target: selecting the digests of 10,000 channels, each with 3 topics,
against one day's 2,000 new papers in a 1,000,000-paper catalog takes at
most 5 s in all on the 2-core benchmark machine, peak memory reported.

Phases, each in its own fresh process (``multiprocessing`` spawn) so that
each reports its own peak RSS:

1. catalog: a fresh ``Service`` takes N synthetic papers (``bench.synth``)
   through ``Catalog.import_records``, with the clock set days before
   "today" (2026-11-03), so every paper is old to every channel. With
   ``--reuse`` a catalog this script built earlier (same ``--papers`` and
   ``--seed``) is used as it is;
2. prepare: one day's papers (another stream of the same synthetic
   vocabulary, ids ``2611.00001``..., published today) go in through
   ``Catalog.import_records`` with the clock at 05:00 today; C channels with
   T topics each are inserted in bulk (canonical topics, as
   ``Channels.subscribe`` stores them), every one with a previous digest
   yesterday at 09:00 that read up to the catalog's revision before the
   day's import: each channel's window is exactly today's new papers. Topics
   are drawn from the synthetic vocabulary's Zipf weights (ranks 50 to
   where a word is in 0.05% of papers), 1-3 words, some quoted phrases,
   some OR, some with has:code, cat: or an exclusion, and popular topics
   are shared among channels. ``--ledger-days D`` also fills the delivery
   ledger with D earlier days of sent digests (10 papers a channel a day).
   Rerunning prepare resets the channels' windows and today's ledger rows,
   so every measurement starts from the same state;
3. select: a new process opens the data directory (``Service.open``),
   loads every ``Channel`` in one session (timed on its own) and times
   ``bot.digest.select.select_digests`` over all of them: R times cold (no topic
   parsed yet, as in a bot started at the digest hour), then R times warm
   (topics parsed ahead, as the running bot does at start); then once more
   of each kind with timers around its steps (the breakdown);
4. scheduled: a new process times ``Deliverer.run_scheduled`` with every
   channel due now and a ``send`` that only counts: selection, the ledger's
   claims, the sends and the confirmations, as the scheduler runs them.

The phases are in ``bench/digest/``, what every benchmark shares in
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT_DIR, code_state, in_fresh_process, log, machine
from bench.digest.build import LEDGER_PAPERS_A_DAY, run_catalog, run_prepare
from bench.digest.report import TARGET_SECONDS, TARGET_SECONDS_POSTGRES, render
from bench.digest.scheduled import run_scheduled
from bench.digest.selection import run_select
from bench.digest.state import MARKER, read_marker

__all__ = ["main", "parse_args"]

# The phases a fresh process may be asked to run, by name.
PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    phase.__name__: phase for phase in (run_catalog, run_prepare, run_select, run_scheduled)
}


def _phase(target: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """``target`` in a fresh process; the result says which bot/ it ran (bot/ may change meanwhile)."""
    return in_fresh_process(_with_code_state, {**params, "_target": target.__name__})


def _with_code_state(params: dict[str, Any]) -> dict[str, Any]:
    code = code_state()  # before bot/ is imported by the phase
    result = PHASES[params["_target"]](params)
    result["code"] = code
    return result


# -- main ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_digest",
        description="Benchmark digest selection for many channels against one day's papers.",
    )
    parser.add_argument("--papers", type=int, default=1_000_000, help="catalog size (default 1,000,000)")
    parser.add_argument("--new", type=int, default=2000, help="today's new papers (default 2,000)")
    parser.add_argument("--channels", type=int, default=10_000, help="channels (default 10,000)")
    parser.add_argument("--topics", type=int, default=3, help="topics per channel (default 3)")
    parser.add_argument(
        "--ledger-days",
        type=int,
        default=0,
        help=f"fill the delivery ledger with this many earlier days of sent digests "
        f"({LEDGER_PAPERS_A_DAY} papers a channel a day; default 0)",
    )
    parser.add_argument(
        "--tasted", type=float, default=0.0, metavar="SHARE",
        help="the share of channels with a learned taste (votes on 30 of today's papers, a "
        "third down; default 0)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="selection runs of each kind, cold then warm, in the select process (default 3)"
    )
    parser.add_argument(
        "--scheduled-runs",
        type=int,
        default=1,
        help="Deliverer.run_scheduled runs, each in a fresh process after the state is reset (default 1; 0 skips)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the data is built (default: a new temporary directory under bench/out/, "
        "deleted at the end unless --keep)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--data-dir holds a catalog this script built with the same --papers and --seed: "
        "skip its import (the day's papers, channels and ledger are rebuilt only if their options changed)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the default temporary data directory")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the results as JSON on stdout (the table then goes to stderr)",
    )
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed (default 0)")
    parser.add_argument(
        "--database-url",
        help="the catalog, channels and ledger in this database instead of a SQLite file in the "
        "data directory, e.g. postgresql+psycopg://postgres@127.0.0.1:PORT/digest1m (created if "
        "missing; see bench/pg.py); the index and the marker stay in the data directory",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="do not read the SQLite files before measuring (results then depend on the OS cache)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="after the measured runs, cProfile one more selection and one more run_scheduled "
        "(stats files in DIR, top functions on stderr)",
    )
    args = parser.parse_args(argv)
    if args.reuse and not args.data_dir:
        parser.error("--reuse needs --data-dir")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.database_url and args.ledger_days:
        parser.error("--ledger-days fills a SQLite ledger only (rowid, ? placeholders)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temporary = args.data_dir is None
    if temporary:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix=f"digest-{args.papers}-", dir=OUT_DIR))
    else:
        data_dir = args.data_dir.resolve()
        if args.reuse:
            marker = read_marker(data_dir)
            if marker is None or (marker["papers"], marker["seed"]) != (args.papers, args.seed):
                raise SystemExit(
                    f"{data_dir} holds no catalog of {args.papers:,} papers with seed {args.seed} "
                    f"built by this script ({MARKER}: {marker and {k: marker[k] for k in ('papers', 'seed')}})"
                )
        elif data_dir.exists() and any(data_dir.iterdir()):
            raise SystemExit(
                f"{data_dir} is not empty; pass --reuse to use it, or pick another --data-dir"
            )
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    params = {
        "data_dir": str(data_dir),
        "papers": args.papers,
        "new": args.new,
        "channels": args.channels,
        "topics": args.topics,
        "ledger_days": args.ledger_days,
        "tasted": args.tasted,
        "seed": args.seed,
        "repeats": args.repeats,
        "cold": args.cold,
        "profile": str(args.profile.resolve()) if args.profile else None,
        "database_url": args.database_url,
    }
    report: dict[str, Any] = {
        "machine": machine(),
        "code": code_state(),
        "params": params,
        "command": " ".join(["python -m bench.bench_digest", *sys.argv[1:]]),
        "target_seconds": TARGET_SECONDS_POSTGRES if args.database_url else TARGET_SECONDS,
    }
    if args.database_url:
        from bench.pg import describe, prepare

        prepare(args.database_url, reuse=args.reuse)
        report["database"] = describe(args.database_url)
    try:
        if not args.reuse:
            log(f"catalog: {args.papers:,} papers into {data_dir}")
            report["catalog"] = _phase(run_catalog, params)
        log("prepare: today's papers, channels, topics")
        report["prepare"] = _phase(run_prepare, params)
        log("select: measuring")
        report["select"] = _phase(run_select, params)
        report["scheduled"] = []
        for i in range(args.scheduled_runs):
            if i:
                _phase(run_prepare, params)  # the previous run moved every window
            log(f"scheduled: run {i + 1}")
            report["scheduled"].append(_phase(run_scheduled, params))
        if args.profile and args.scheduled_runs:
            _phase(run_prepare, params)
            log("scheduled: one more run, under cProfile")
            report["scheduled_profile"] = _phase(run_scheduled, {**params, "profile_scheduled": True})
        if args.scheduled_runs:
            _phase(run_prepare, params)  # leave the data as measured, for --reuse
    finally:
        if temporary and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif temporary:
            log(f"kept {data_dir}; rerun with --data-dir {data_dir} --reuse")
    text_report = render(report)
    if args.json:
        sys.stderr.write(text_report + "\n")
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text_report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
