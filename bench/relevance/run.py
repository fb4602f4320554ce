"""Relevance on real papers: replay seven March 2025 days through the bot and score its digests.

Each day becomes an rss.arxiv.org announcement feed (``data.write_feed``).
The bot is driven only through its CLI verbs (``bench.relevance.driver``)
on a fresh data directory, with its clock set by ``DIGESTBOT_FIXED_NOW``:

- day 1, 05:00 UTC: ``subscribe console:local/<topic> QUERY``, one channel a topic;
- each day, 06:00: ``ingest DAY.xml``; 09:00: ``digest --channel ... --json``
  for every channel (the default limit of 10 papers a digest);
- feedback, as a reader would give it: ``feedback CHANNEL ID up`` on each
  posted paper graded 2, ``down`` on each graded 0 (grade 1: no vote).

Three replays, each on its own data directory:

- ``topics``: no votes at all; scored on all seven days;
- ``feedback1``: votes on day 1's digest only; scored on days 2-7;
- ``feedback5``: votes on the digests of days 1-5; scored on days 6-7.

Per topic and day: precision = share of posted papers graded >= 1 (and,
stricter, graded 2); recall@10 = share of the day's wanted papers (grade 2)
the digest shows, out of min(10, wanted). A topic's figure is the mean over
its scored days (days with no post do not count for precision, days with
nothing wanted do not count for recall). A posted paper without a label is
counted as not relevant and reported. The labels are ``labels.jsonl``.

    .venv/bin/python -m bench.relevance.run [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from statistics import mean
from typing import Any

from bench.relevance.data import (
    DAYS, LABELS, REAL, TOPICS, Topic, load_day, load_labels, load_topics, write_feed,
)
from bench.relevance.driver import Bot

SCENARIOS: dict[str, tuple[int, int]] = {
    # name: (vote on the digests of days 1..N, score from day index M on)
    "topics": (0, 0),
    "feedback1": (1, 1),
    "feedback5": (5, 5),
}
TARGETS = {"topics": (0.80, 0.85), "feedback1": (0.85, 0.85), "feedback5": (0.90, 0.90)}
LIMIT = 10


@dataclass
class DayScore:
    topic: str
    day: str
    posted: list[str]
    grades: list[int | None]
    wanted: int

    @property
    def unjudged(self) -> int:
        return sum(g is None for g in self.grades)

    def precision(self, at: int) -> float | None:
        if not self.posted:
            return None
        return sum((g or 0) >= at for g in self.grades) / len(self.posted)

    @property
    def recall(self) -> float | None:
        if not self.wanted:
            return None
        return sum(g == 2 for g in self.grades) / min(LIMIT, self.wanted)


@dataclass
class Replay:
    name: str
    days: list[DayScore] = field(default_factory=list)
    votes: int = 0


def channel(topic: Topic) -> str:
    return f"console:local/{topic.name}"


def replay(name: str, topics: list[Topic], grades: dict[tuple[str, str], int],
           wanted: dict[tuple[str, str], int], feeds: dict[str, Path], work: Path) -> Replay:
    vote_days, _ = SCENARIOS[name]
    bot = Bot(work / name)
    result = Replay(name)
    days = list(feeds)
    bot.now = datetime.fromisoformat(f"{days[0]}T05:00:00+00:00")
    for topic in topics:
        bot("subscribe", channel(topic), topic.query)
    for index, day in enumerate(days):
        bot.now = datetime.fromisoformat(f"{day}T06:00:00+00:00")
        bot("ingest", str(feeds[day]))
        bot.now = datetime.fromisoformat(f"{day}T09:00:00+00:00")
        for topic in topics:
            digest = bot.json("digest", "--channel", channel(topic), "--json")
            posted = [paper["id"] for paper in (digest or {}).get("papers", [])]
            got = [grades.get((topic.name, pid)) for pid in posted]
            result.days.append(DayScore(topic.name, day, posted, got,
                                        wanted.get((topic.name, day), 0)))
            if index < vote_days:
                bot.now = datetime.fromisoformat(f"{day}T12:00:00+00:00")
                for pid, grade in zip(posted, got, strict=True):
                    if grade in (0, 2):
                        bot("feedback", channel(topic), pid, "up" if grade == 2 else "down",
                            "--user", "reader")
                        result.votes += 1
                bot.now = datetime.fromisoformat(f"{day}T09:00:00+00:00")
    return result


def summarize(result: Replay, topics: list[Topic], days: list[str], first: int
              ) -> dict[str, dict[str, Any]]:
    scored = set(days[first:])
    table: dict[str, dict[str, Any]] = {}
    for topic in topics:
        rows = [d for d in result.days if d.topic == topic.name and d.day in scored]
        p1 = [p for d in rows if (p := d.precision(1)) is not None]
        p2 = [p for d in rows if (p := d.precision(2)) is not None]
        rc = [r for d in rows if (r := d.recall) is not None]
        table[topic.name] = {
            "precision": mean(p1) if p1 else None,
            "precision_wanted": mean(p2) if p2 else None,
            "recall10": mean(rc) if rc else None,
            "posted": sum(len(d.posted) for d in rows),
            "wanted": sum(d.wanted for d in rows),
            "unjudged": sum(d.unjudged for d in rows),
            "days": len(rows),
        }
    def overall(key: str) -> float | None:
        values = [row[key] for row in table.values() if row[key] is not None]
        return mean(values) if values else None
    table["all topics"] = {
        "precision": overall("precision"), "precision_wanted": overall("precision_wanted"),
        "recall10": overall("recall10"),
        "posted": sum(r["posted"] for r in table.values()),
        "wanted": sum(r["wanted"] for r in table.values()),
        "unjudged": sum(r["unjudged"] for r in table.values()), "days": len(scored),
    }
    return table


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(results: dict[str, dict[str, dict[str, Any]]], topics: list[Topic]) -> str:
    lines = ["| topic | topics only P>=1 / P=2 / R@10 | 1 day feedback P>=1 / P=2 / R@10 "
             "| 5 days feedback P>=1 / P=2 / R@10 |", "|---|---|---|---|"]
    for name in [t.name for t in topics] + ["all topics"]:
        cells = []
        for scenario in SCENARIOS:
            row = results[scenario][name]
            cells.append(f"{fmt(row['precision'])} / {fmt(row['precision_wanted'])} / "
                         f"{fmt(row['recall10'])}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    targets = " | ".join(f">= {p:.2f} / - / >= {r:.2f}" for p, r in TARGETS.values())
    lines.append(f"| target | {targets} |")
    return "\n".join(lines)


def run(*, real: Path = REAL, days: tuple[str, ...] = DAYS, topics_path: Path = TOPICS,
        labels_path: Path = LABELS, work: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    topics = load_topics(topics_path)
    labels = load_labels(labels_path)
    grades = {(lab.topic, lab.id): lab.grade for lab in labels}
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    for lab in labels:
        if lab.grade == 2:
            wanted[(lab.topic, lab.day)] += 1
    with tempfile.TemporaryDirectory(prefix="relevance-run-", dir=work) as tmp:
        feeds = {day: write_feed(day, load_day(day, real), Path(tmp) / f"{day}.xml")
                 for day in days}
        replays = {name: replay(name, topics, grades, wanted, feeds, Path(tmp))
                   for name in SCENARIOS}
    results = {name: summarize(replays[name], topics, list(days), SCENARIOS[name][1])
               for name in SCENARIOS}
    # The same days without any vote: what the feedback replays must beat.
    baseline = {name: summarize(replays["topics"], topics, list(days), SCENARIOS[name][1])
                for name in SCENARIOS}
    posted = {name: {(d.topic, d.day): d.posted for d in r.days} for name, r in replays.items()}
    same = {name: posted[name] == posted["topics"] for name in SCENARIOS}
    return {
        "results": results,
        "baseline": baseline,
        "digests_same_as_without_votes": same,
        "votes": {name: r.votes for name, r in replays.items()},
        "per_day": {name: [d.__dict__ for d in r.days] for name, r in replays.items()},
        "table": report(results, topics),
        "baseline_table": report(baseline, topics),
        "seconds": time.perf_counter() - started,
        "labels": len(labels),
        "days": list(days),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=REAL, help="the daily JSON Lines files")
    parser.add_argument("--days", nargs="+", default=list(DAYS), metavar="YYYY-MM-DD")
    parser.add_argument("--topics", type=Path, default=TOPICS)
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--json", type=Path, metavar="FILE", help="write all figures here")
    args = parser.parse_args(argv)
    missing = [day for day in args.days if not (args.real / f"{day}.jsonl").exists()]
    if missing:
        print(f"no real data at {args.real} for {', '.join(missing)}; nothing to measure "
              "(the benchmark reads ../shared/real-data/, see its MANIFEST.md)", file=sys.stderr)
        return 0
    out = run(real=args.real, days=tuple(args.days), topics_path=args.topics,
              labels_path=args.labels)
    print(out["table"])
    print("\nThe same days in the replay without votes:\n")
    print(out["baseline_table"])
    print(f"\ndigests identical to the replay without votes: {out['digests_same_as_without_votes']}")
    unjudged = {name: res["all topics"]["unjudged"] for name, res in out["results"].items()}
    print(f"\n{out['labels']} labels; days {', '.join(out['days'])}; votes given {out['votes']}; "
          f"posted papers without a label {unjudged}; {out['seconds']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
