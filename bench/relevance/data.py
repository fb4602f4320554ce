"""The relevance benchmark's inputs: the real March 2025 papers, the topics, the labels.

The papers are read where they live, ``../shared/real-data/`` beside the
repository (daily-arXiv-ai-enhanced, one JSON Lines file a day); they are
never copied into the repository. ``labels.jsonl`` names papers by arXiv id
only. ``write_feed`` turns a day into the RSS 2.0 announcement feed
rss.arxiv.org serves (the format of tests/ingest/feeds/arxiv-rss-announce.xml
and arXiv's own rss_specifications.md), which is what the bot ingests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = [
    "DAYS", "HERE", "LABELS", "REAL", "TOPICS", "Label", "Paper", "Topic", "load_day",
    "load_labels", "load_topics", "write_feed",
]

HERE = Path(__file__).resolve().parent
REAL = (HERE.parents[1] / ".." / "shared" / "real-data" / "arxiv_metadata"
        / "daily-arXiv-ai-enhanced").resolve()
TOPICS = HERE / "topics.json"
LABELS = HERE / "labels.jsonl"

# Seven March 2025 weekdays (the weekend files repeat Friday's papers).
DAYS = ("2025-03-18", "2025-03-19", "2025-03-20", "2025-03-21",
        "2025-03-24", "2025-03-25", "2025-03-26")


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    comment: str

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}"


@dataclass(frozen=True)
class Topic:
    name: str
    query: str
    need: str


@dataclass(frozen=True)
class Label:
    topic: str
    id: str
    day: str
    grade: int
    reason: str


def load_topics(path: Path = TOPICS) -> list[Topic]:
    return [Topic(name=t["name"], query=t["query"], need=t["need"])
            for t in json.loads(path.read_text("utf-8"))]


def load_labels(path: Path = LABELS) -> list[Label]:
    labels = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels.append(Label(topic=row["topic"], id=row["id"], day=row["day"],
                                grade=row["grade"], reason=row.get("reason", "")))
    return labels


def load_day(day: str, real: Path = REAL) -> list[Paper]:
    """The day's papers, each once (the crawl lists a cross-listed paper again)."""
    papers: dict[str, Paper] = {}
    for line in (real / f"{day}.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["id"] in papers:
            continue
        papers[row["id"]] = Paper(
            id=row["id"],
            title=" ".join(row["title"].split()),
            abstract=" ".join((row.get("summary") or "").split()),
            authors=tuple(row.get("authors") or ()),
            categories=tuple(row.get("categories") or ()),
            comment=" ".join((row.get("comment") or "").split()),
        )
    return list(papers.values())


def _rfc822(day: str) -> str:
    # arXiv dates its announcement at midnight US Eastern (EDT from 9 March 2025).
    return date.fromisoformat(day).strftime("%a, %d %b %Y 00:00:00 -0400")


def write_feed(day: str, papers: list[Paper], path: Path) -> Path:
    """``papers`` as that day's rss.arxiv.org announcement (RSS 2.0), written to ``path``."""
    stamp = _rfc822(day)
    items = []
    for paper in papers:
        cats = "".join(f"\n      <category>{escape(c)}</category>" for c in paper.categories)
        comment = f" Comments: {paper.comment}" if paper.comment else ""
        items.append(f"""    <item>
      <title>{escape(paper.title)}</title>
      <link>https://arxiv.org/abs/{paper.id}</link>
      <description>{escape(f"arXiv:{paper.id}v1 Announce Type: new ")}
{escape(f"Abstract: {paper.abstract}{comment}")}</description>
      <guid isPermaLink="false">oai:arXiv.org:{paper.id}v1</guid>{cats}
      <pubDate>{stamp}</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:rights>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</dc:rights>
      <dc:creator>{escape(", ".join(paper.authors))}</dc:creator>
    </item>""")
    body = "\n".join(items)
    built = datetime.fromisoformat(f"{day}T05:00:00+00:00").strftime("%a, %d %b %Y %H:%M:%S +0000")
    path.write_text(f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
  <channel>
    <title>cs.CV updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/cs.CV</link>
    <description>cs.CV updates on the arXiv.org e-print archive.</description>
    <atom:link href="http://rss.arxiv.org/rss/cs.CV" rel="self" type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{built}</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>{stamp}</pubDate>
    <skipDays>
      <day>Saturday</day>
      <day>Sunday</day>
    </skipDays>
{body}
  </channel>
</rss>
""", "utf-8")
    return path
