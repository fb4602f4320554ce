"""Feed parsing benchmark: a synthetic arXiv announcement feed, both readings.

Run from the repository root::

    .venv/bin/python -m bench.bench_parse --entries 2000 --repeat 7

For each format (RSS 2.0 and Atom 1.0) it builds one ``bench.synth_feed``
document, then times, ``--repeat`` times each and alternating:

- ``parse_feed``: the path every feed takes, which reads arXiv's
  announcement feeds with ElementTree (``bot.ingest.arxiv``);
- ``feedparser``: ``bot.ingest.feeds._parse_with_feedparser``, the reading every
  other document gets, and every announcement feed got before.

It prints the median and the fastest run of each, wall-clock and CPU time
(``time.process_time``: less disturbed by other work on a shared machine),
as entries per second, with the load average before and after. Both
readings must give the same ``ParsedFeed``; the script says so or stops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from bench.synth_feed import synth_feed
from bot.ingest.arxiv import read_announcement
from bot.ingest.feeds import ParsedFeed, _parse_with_feedparser, parse_feed


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _time(read: Callable[[bytes], object], data: bytes) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read(data)
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(label: str, entries: int, runs: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in runs]
    cpu = [c for _, c in runs]
    return (
        f"  {label:<12} wall median {statistics.median(wall) * 1000:7.1f} ms"
        f" ({entries / statistics.median(wall):6.0f} entries/s), best {min(wall) * 1000:7.1f} ms;"
        f" cpu median {statistics.median(cpu) * 1000:7.1f} ms"
        f" ({entries / statistics.median(cpu):6.0f} entries/s)"
    )


def _same(fast: ParsedFeed, slow: ParsedFeed) -> bool:
    return fast == slow and all(
        a.record.extra == b.record.extra for a, b in zip(fast.entries, slow.entries, strict=True)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"load average before: {_load()}  (cpus: {os.cpu_count()})")
    for fmt in ("rss", "atom"):
        data = synth_feed(entries=args.entries, fmt=fmt, seed=args.seed)
        fast, slow = parse_feed(data, source="cs.CV"), _parse_with_feedparser(data, source="cs.CV")
        if read_announcement(data, {}) is None or not _same(fast, slow):
            print(f"{fmt}: the two readings differ; no figures")
            return 1
        print(f"{fmt}: {args.entries} entries, {len(data) / 1e6:.1f} MB, {fast.summary()}")
        readers: dict[str, Callable[[bytes], object]] = {
            "parse_feed": lambda d: parse_feed(d, source="cs.CV"),
            "  xml only": lambda d: read_announcement(d, {}),
            "feedparser": lambda d: _parse_with_feedparser(d, source="cs.CV"),
        }
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in readers}
        for _ in range(args.repeat):
            for label, read in readers.items():
                runs[label].append(_time(read, data))
        for label, timings in runs.items():
            print(_line(label, args.entries, timings))
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
