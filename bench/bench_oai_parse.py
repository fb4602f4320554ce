"""How fast OAI-PMH ListRecords pages become records: ``python -m bench.bench_oai_parse``.

Reads the real arXiv pages in ``../shared/real-data/arxiv_metadata/oai_pmh/``
(or the files given) with ``bot.ingest.oai.parse_oai_page``, the best of five
passes, and prints records per second. The harvest's own pacing (3 s a
page) is not counted: this is the parser alone.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bot.ingest.oai import parse_oai_page

REAL = Path(__file__).resolve().parents[1].parent / "shared/real-data/arxiv_metadata/oai_pmh"


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(REAL.glob("*.xml"))
    if not paths:
        print(f"no pages: give OAI-PMH files, or put them in {REAL}", file=sys.stderr)
        return 1
    pages = [p.read_bytes() for p in paths]
    best, records = float("inf"), 0
    for _ in range(5):
        start = time.perf_counter()
        records = sum(parse_oai_page(page, source="bench").seen for page in pages)
        best = min(best, time.perf_counter() - start)
    size = sum(map(len, pages)) / 2**20
    print(f"{records:,} records ({size:.1f} MB, {len(pages)} pages) in {best:.3f} s: "
          f"{records / best:,.0f} records/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
