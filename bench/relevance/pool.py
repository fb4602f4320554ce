"""Pool the candidates to grade: per topic and day, the union of four rankers' tops.

1. ``bot``: every paper the topic's query matches that day, by the bot's own
   search (``digestbot search "QUERY after:DAY before:DAY+1" --limit 100``
   on a catalog the day feeds were ingested into): what a digest can show.
2. ``or-bm25``: BM25 of the query's words OR-ed (quotes, operators and
   prefixes dropped), top ``DEPTH``: papers that use some of the words.
3. ``need-tfidf``: TF-IDF cosine of title+abstract to the topic's need
   sentence and query, top ``DEPTH``: papers that say it in other words.
4. ``cat``: among the papers in the topic's arXiv categories (eess.IV for the
   medical topics, cs.GR for splatting), the best by (3), top ``CAT_DEPTH``.

Writes ``pool.jsonl`` (topic, day, id, rankers; arXiv ids only). ``--show``
prints the pooled papers not yet in labels.jsonl, title and full abstract,
each once with the topics it is pooled for: the grader's reading list.

    .venv/bin/python -m bench.relevance.pool            # build pool.jsonl
    .venv/bin/python -m bench.relevance.pool --show 40  # the next 40 to read
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.relevance.data import (
    DAYS, HERE, LABELS, REAL, Paper, Topic, load_day, load_labels, load_topics, write_feed,
)
from bench.relevance.driver import Bot

POOL = HERE / "pool.jsonl"
DEPTH = 20
CAT_DEPTH = 8
CATEGORIES = {
    "medseg": ("eess.IV",), "mri": ("eess.IV",), "pathology": ("eess.IV", "q-bio.QM"),
    "xray": ("eess.IV",), "medvlm": ("eess.IV",), "splatting": ("cs.GR",),
}
STOP = frozenset("""a an and are as at be by for from in into is it of on or our that the
their this to we with which using based via new not these such can than its also""".split())


def words(text: str) -> list[str]:
    out = []
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in STOP or len(word) < 2:
            continue
        for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def query_words(query: str) -> list[str]:
    text = re.sub(r"\b(OR|NOT)\b|\w+:\S+|[*\"-]", " ", query)
    return list(dict.fromkeys(words(text)))


class Corpus:
    def __init__(self, papers: list[Paper]) -> None:
        self.docs = {p.id: Counter(words(p.text)) for p in papers}
        self.df: Counter[str] = Counter()
        for counts in self.docs.values():
            self.df.update(counts.keys())
        self.n = len(self.docs)
        self.avg = sum(sum(c.values()) for c in self.docs.values()) / max(1, self.n)

    def idf(self, word: str) -> float:
        return math.log(1 + (self.n - self.df[word] + 0.5) / (self.df[word] + 0.5))

    def bm25(self, ids: list[str], terms: list[str], k1: float = 1.2, b: float = 0.75) -> list[str]:
        scores = {}
        for pid in ids:
            doc, length = self.docs[pid], sum(self.docs[pid].values())
            score = sum(self.idf(t) * doc[t] * (k1 + 1) / (doc[t] + k1 * (1 - b + b * length / self.avg))
                        for t in terms if doc[t])
            if score > 0:
                scores[pid] = score
        return sorted(scores, key=lambda pid: -scores[pid])

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        vec = {w: (1 + math.log(c)) * self.idf(w) for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def cosine(self, ids: list[str], text: str) -> list[str]:
        target = self._vector(Counter(words(text)))
        scores = {}
        for pid in ids:
            vec = self._vector(self.docs[pid])
            score = sum(v * vec.get(w, 0.0) for w, v in target.items())
            if score > 0:
                scores[pid] = score
        return sorted(scores, key=lambda pid: -scores[pid])


def bot_matches(topics: list[Topic], days: dict[str, list[Paper]]) -> dict[tuple[str, str], list[str]]:
    """The bot's own search for each topic within each day, on a catalog of all the days."""
    found: dict[tuple[str, str], list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="relevance-pool-") as tmp:
        bot = Bot(Path(tmp) / "data")
        for day, papers in days.items():
            bot.now = datetime.fromisoformat(f"{day}T06:00:00+00:00")
            bot("ingest", str(write_feed(day, papers, Path(tmp) / f"{day}.xml")))
        for topic in topics:
            for day in days:
                after = date.fromisoformat(day) + timedelta(days=1)
                rows = bot.json("search", f"{topic.query} after:{day} before:{after}",
                                "--limit", "100", "--json")
                found[(topic.name, day)] = [row["id"] for row in rows]
    return found


def build(real: Path = REAL, out: Path = POOL) -> int:
    topics = load_topics()
    days = {day: load_day(day, real) for day in DAYS}
    corpus = Corpus([p for papers in days.values() for p in papers])
    matches = bot_matches(topics, days)
    rows = []
    for topic in topics:
        terms = query_words(topic.query)
        for day, papers in days.items():
            ids = [p.id for p in papers]
            rankers: dict[str, list[str]] = defaultdict(list)
            for pid in matches[(topic.name, day)]:
                rankers[pid].append("bot")
            for pid in corpus.bm25(ids, terms)[:DEPTH]:
                rankers[pid].append("or-bm25")
            for pid in corpus.cosine(ids, f"{topic.need} {topic.query}")[:DEPTH]:
                rankers[pid].append("need-tfidf")
            cats = CATEGORIES.get(topic.name)
            if cats:
                inside = [p.id for p in papers if set(p.categories) & set(cats)]
                for pid in corpus.cosine(inside, f"{topic.need} {topic.query}")[:CAT_DEPTH]:
                    rankers[pid].append("cat")
            rows += [{"topic": topic.name, "day": day, "id": pid, "rankers": r}
                     for pid, r in rankers.items()]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return len(rows)


def show(count: int, real: Path = REAL) -> None:
    done = {(lab.topic, lab.id) for lab in load_labels()} if LABELS.exists() else set()
    papers = {p.id: (day, p) for day in DAYS for p in load_day(day, real)}
    todo: dict[str, list[str]] = defaultdict(list)
    for line in POOL.read_text("utf-8").splitlines():
        row = json.loads(line)
        if (row["topic"], row["id"]) not in done:
            todo[row["id"]].append(row["topic"])
    for pid in list(todo)[:count]:
        day, paper = papers[pid]
        print(f"### {pid} {day} [{' '.join(todo[pid])}] ({' '.join(paper.categories)})")
        print(f"T: {paper.title}")
        print(f"A: {paper.abstract}\n")
    print(f"-- {len(todo)} papers left to read", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", type=int, metavar="N", help="print the next N papers to grade")
    args = parser.parse_args()
    if not REAL.is_dir():
        print(f"no real data at {REAL}; nothing to pool (see /work/shared/real-data/MANIFEST.md)",
              file=sys.stderr)
        return 0
    if args.show:
        show(args.show)
        return 0
    print(f"{build()} (topic, day, paper) pairs in {POOL.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
