"""Slack burst benchmark: a burst of signed slash commands while a digest posts.

Run from the repository root::

    .venv/bin/python -m bench.bench_slack_burst [--commands 200] [--papers 50]

Slack drops a slash command not acknowledged within 3 s. The script runs
the real bot (``Bot`` with the Slack adapter serving HTTP on loopback)
against the fake Slack Web API of the tests (``tests.fakes``), with a
catalog of the real arXiv papers of ``../shared/real-data/`` when present
(else synthetic ones). It types ``/papers digest`` for a channel whose
digest holds ``--papers`` papers (several messages, a second apart), and
at once sends ``--commands`` signed ``/papers search`` commands, all
concurrently, each with its own trigger id as Slack's are. It reports the
time each took to be answered (the HTTP response is the acknowledgement):
p50, p99, the slowest, and how many took 3 s or more.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from adapters.slack.adapter import SlackAdapter
from bench.common import log, machine, percentile
from bot.chat.service import Service
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.db import open_database
from tests.console_bot import ConsoleBot
from tests.fakes.slack_api import FakeSlackAPI

REAL = Path(__file__).resolve().parents[1] / "../shared/real-data/arxiv_metadata/daily-arXiv-ai-enhanced"
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM, CHANNEL = "T0FAKE", "C0BENCH"  # the fake Web API's workspace (auth.test)
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
WORDS = ("segmentation", "diffusion", "language", "robot", "graph", "mri", "transformer",
         "reinforcement", "vision", "medical", "3d", "video", "retrieval", "privacy")


def _papers() -> list[PaperRecord]:
    seen: dict[str, PaperRecord] = {}
    for path in sorted(REAL.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            seen.setdefault(data["id"], PaperRecord(
                id=data["id"], title=data["title"], authors=tuple(data["authors"]),
                abstract=data["summary"], categories=tuple(data["categories"]),
                url=data["abs"]))
    if seen:
        return list(seen.values())
    rng = random.Random(7)
    return [PaperRecord(id=f"2606.{n:05d}", title=" ".join(rng.choices(WORDS, k=8)),
                        abstract=" ".join(rng.choices(WORDS, k=120)))
            for n in range(5000)]


def _command(url: str, text: str, trigger: int, response_url: str) -> float:
    body = urllib.parse.urlencode({
        "command": "/papers", "text": text, "team_id": TEAM, "channel_id": CHANNEL,
        "user_id": "U0BENCH", "user_name": "bench", "trigger_id": f"1.2.{trigger}",
        "response_url": response_url,
    }).encode()
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": str(signature),
    })
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--papers", type=int, default=50)
    args = parser.parse_args()
    papers = _papers()
    with tempfile.TemporaryDirectory() as tmp, FakeSlackAPI() as slack:
        db = open_database(f"sqlite:///{tmp}/bench.db")
        index = SearchIndex.open(Path(tmp) / "index", catalog_id=db.catalog_id)
        service = Service(db=db, index=index, clock=lambda: NOW)
        service.catalog.import_records(papers)
        address = f"slack:{TEAM}/{CHANNEL}"
        service.channels.subscribe(address, "learning OR model OR models")
        service.channels.set_max_papers(address, args.papers)
        log(f"{len(papers):,} papers in the catalog; digest of {args.papers} papers")
        adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url,
                               port=0, host="127.0.0.1")
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        try:
            url = f"http://127.0.0.1:{adapter.bound_port}/slack/events"
            rng = random.Random(1)
            texts = [f"search {' '.join(rng.sample(WORDS, 2))}" for _ in range(args.commands)]
            with ThreadPoolExecutor(max_workers=args.commands + 1) as pool:
                digest = pool.submit(_command, url, "digest", 0, slack.response_url("digest"))
                began = time.perf_counter()
                times = list(pool.map(
                    lambda n: _command(url, texts[n], n + 1, slack.response_url("burst")),
                    range(args.commands)))
                burst = time.perf_counter() - began
                digest_ack = digest.result()
            posted = slack.wait_for("chat.postMessage", 1, timeout=60)
        finally:
            bot.stop()
    ms = sorted(t * 1000 for t in times)
    print(json.dumps(machine()))
    print(f"commands={len(ms)} burst_seconds={burst:.2f} digest_ack_ms={digest_ack * 1000:.0f} "
          f"digest_messages_so_far={len(posted)}")
    print(f"ack p50={statistics.median(ms):.0f} ms p99={percentile(ms, 99):.0f} ms "
          f"max={ms[-1]:.0f} ms over_3s={sum(1 for t in ms if t >= 3000)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
