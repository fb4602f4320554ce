"""Instructions to parse and to ingest one day's feed, counted by callgrind.

Run from the repository root::

    .venv/bin/python -m bench.count_ingest --entries 2000

Wall and CPU times move with whatever else the machine runs; the number of
instructions executed does not. This script runs itself under valgrind's
callgrind three times, on the same feed as ``bench.bench_ingest``'s first
repeat (2,000 RSS entries, ~70% new papers and ~30% replacements of stored
ones):

- ``setup``: imports, the feed's bytes, a fresh catalog in a temporary
  directory holding version 1 of each paper the feed replaces;
- ``parse``: the same, then ``bot.ingest.feeds.parse_feed`` on the bytes;
- ``ingest``: the same, then ``Ingestion.run_feeds([FILE])``, what
  ``digestbot ingest FILE`` runs (read, parse, merge, index, commit).

``parse`` and ``ingest`` minus ``setup`` are the step's own instructions,
tantivy's indexing threads included (valgrind runs the threads one at a
time and counts them all). The catalog is small, not the benchmark's
million papers: SQLite's look-ups and tantivy's commit cost a little more
in a large one, the Python work the same. ``--keep DIR`` keeps the
callgrind files for ``callgrind_annotate``. Needs valgrind; takes minutes,
callgrind being far slower than the code alone (see docs/benchmarks.md,
section "Feed ingestion", What it does).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STEPS = ("setup", "parse", "ingest")
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def run_step(step: str, entries: int) -> None:
    """One run of ``step`` in this process (what valgrind runs)."""
    from bench.bench_ingest import day_feed, open_service, store_revised_originals
    from bot.ingest.feeds import parse_feed

    data = day_feed(entries, 0)
    with tempfile.TemporaryDirectory(prefix="count-ingest-", dir="bench/out") as tmp:
        service = open_service(Path(tmp))
        store_revised_originals(service, data)
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(data)
        if step == "parse":
            parse_feed(data, source="bench")
        elif step == "ingest":
            service.ingestion.run_feeds([str(feed_file)])
        service.close()


def count(step: str, entries: int, keep: Path | None) -> int:
    out = (keep or Path(tempfile.gettempdir())) / f"callgrind.{step}.{os.getpid()}"
    command = [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, "-m", "bench.count_ingest", "--step", step, "--entries", str(entries),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    if keep is None:
        out.unlink(missing_ok=True)
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise SystemExit(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--step", choices=STEPS, help="run one step here, uncounted")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the callgrind files")
    args = parser.parse_args(argv)
    if args.step:
        run_step(args.step, args.entries)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    counts = {step: count(step, args.entries, args.keep) for step in STEPS}
    print(f"{args.entries} entries; instructions (callgrind Ir):")
    print(f"  setup   {counts['setup']:>15,}")
    for step in ("parse", "ingest"):
        own = counts[step] - counts["setup"]
        print(f"  {step:<7} {own:>15,}  ({own / args.entries / 1e6:.3f} M per entry)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
