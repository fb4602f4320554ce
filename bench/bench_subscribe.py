"""Subscribe benchmark: how long `/papers subscribe` takes to say what a new topic finds.

Run from the repository root::

    .venv/bin/python -m bench.bench_subscribe

A channel that takes up a topic is told how many papers of the last
``first_digest_days`` the topic matches (``Deliverer.preview_topic``); the
answer must reach Slack and Discord within their 3 s. The script fills a
fresh catalog with the real arXiv papers of ``../shared/real-data/``
(daily-arXiv-ai-enhanced, 8,960 distinct papers of 44 days), every one
inside the channel's 7-day window, gives the channel a digest, takes up
each topic and times the preview: counted in the catalog's index (what the
bot does) and, for comparison, in a pool of the window's papers (what a
digest does, and the preview did first). Median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import log, machine, table
from bot.chat.service import Service
from bot.digest.select import count_new_matches
from bot.model.address import parse_address
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.channels import find_channel
from bot.store.db import open_database

REAL = Path(__file__).resolve().parents[1] / "../shared/real-data/arxiv_metadata/daily-arXiv-ai-enhanced"
CHANNEL = "slack:T1/C1"
TOPICS = ("medical image segmentation", '"large language" models', "diffusion -survey", "robot*")
START = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(REAL.glob("*.jsonl"))
    if not files:
        log(f"no real data at {REAL.resolve()}; nothing to measure")
        return 1
    now = [START]
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/bench.db")
        index = SearchIndex.open(Path(tmp) / "index", catalog_id=db.catalog_id)
        service = Service(db=db, index=index, clock=lambda: now[0])
        seen: set[str] = set()
        for path in files:  # one file every 3 hours: all 44 inside one week
            records = []
            for line in path.read_text().splitlines():
                data = json.loads(line)
                if data["id"] not in seen:
                    seen.add(data["id"])
                    records.append(PaperRecord(
                        id=data["id"], title=data["title"], authors=tuple(data["authors"]),
                        abstract=data["summary"], categories=tuple(data["categories"]),
                    ))
            service.catalog.import_records(records)
            now[0] += timedelta(hours=3)
        log(f"{len(seen):,} papers in the catalog, all in the last 7 days")
        service.channels.subscribe(CHANNEL, "segmentation")
        service.deliverer.digest(CHANNEL, send=lambda digest: None)
        now[0] += timedelta(hours=1)
        rows = []
        for topic in TOPICS:
            service.channels.subscribe(CHANNEL, topic)
            timings: dict[str, list[float]] = {"index": [], "pool": []}
            counts: dict[str, int] = {}
            for _ in range(args.repeat):
                for way, where in (("index", index), ("pool", None)):
                    with db.session() as session:
                        channel = find_channel(session, parse_address(CHANNEL))
                        assert channel is not None
                        began = time.perf_counter()
                        preview = count_new_matches(
                            session, channel, topic, now=now[0], index=where
                        )
                        timings[way].append(time.perf_counter() - began)
                        counts[way] = preview.count
            rows.append([
                topic, f"{counts['index']:,}", f"{counts['pool']:,}",
                f"{statistics.median(timings['index']) * 1000:.0f}",
                f"{statistics.median(timings['pool']) * 1000:.0f}",
            ])
        print(json.dumps(machine()))
        print(table(["topic", "matches (index)", "matches (pool)", "index ms", "pool ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
