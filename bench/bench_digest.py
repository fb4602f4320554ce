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

The figures of a full run are in docs/benchmarks.md. This is a script, not
a test: it prints a table (and JSON with ``--json``) and asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import json
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from bisect import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    code_state,
    current_rss_mb,
    dir_size_mb,
    in_fresh_process,
    log,
    machine,
    peak_rss_mb,
    table,
)
from bench.synth import (
    CATEGORIES,
    STOPWORDS,
    SyntheticCatalog,
    Vocabulary,
    build_vocabulary,
)

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
MARKER = "bench-digest.json"
DB_FILE = "digestbot.sqlite3"

TARGET_SECONDS = 5.0
TARGET_SECONDS_POSTGRES = 10.0  # issue 7, with the catalog in PostgreSQL

# A fixed "today", after the synthetic catalog's last publication day
# (2026-10-31), so that runs are the same whatever the machine's date.
TODAY = date(2026, 11, 3)
YESTERDAY = TODAY - timedelta(days=1)
CATALOG_AT = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)  # when the catalog was imported
PREVIOUS_DIGEST_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # every channel's last digest
DAY_IMPORT_AT = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)  # today's papers enter
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # the digests run
TODAY_START = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
DAY_ID_PREFIX = "2611"
# The day's papers are the catalog's vocabulary in another stream of papers:
# SyntheticCatalog's with this seed (negative, so never a catalog's own).
DAY_STREAM = -1

# Topic words: Zipf-weighted ranks from TOPIC_MIN_RANK down to the rank where
# a word is expected in TOPIC_MIN_FRACTION of papers (~1 of 2,000).
TOPIC_MIN_RANK = 50
TOPIC_MIN_FRACTION = 0.0005
# Shared topics: each topic slot takes one of POPULAR_TOPICS popular topics
# (Zipf over their popularity rank) with this probability, else a topic of
# its own; single words repeat by themselves too. At 10,000 channels x 3:
# ~40% of the slots repeat a topic, the most followed one by ~3% of channels.
POPULAR_TOPICS = 3000
POPULAR_ZIPF_S = 0.7
POPULAR_SHARE = 0.35
# An earlier day of the ledger: each channel was sent LEDGER_PAPERS_A_DAY of
# that day's LEDGER_DAY_PAPERS (old catalog papers, distinct from day to day).
LEDGER_PAPERS_A_DAY = 10
LEDGER_DAY_PAPERS = 2000


def open_service(data_dir: Path, *, clock_at: datetime, database_url: str | None = None) -> Any:
    from bot.config import Settings
    from bot.chat.service import Service

    settings = Settings(data_dir=data_dir, database_url=database_url)
    return Service.open(settings, clock=lambda: clock_at)


def _first_digest_days(service: Any) -> int:
    # Kept by Service itself, or by the object it hands digest runs to.
    for owner in (service, getattr(service, "deliverer", None)):
        if owner is not None and hasattr(owner, "first_digest_days"):
            return int(owner.first_digest_days)
    return 7


# The steps of Deliverer.run_scheduled that get a timer: (module, name, label),
# each name patched in the module whose code looks it up. The lock strategies
# (claims, confirmations, the day's mark) moved out of the delivery loop into
# bot.digest.locks; a tree from before that has them in bot.digest.deliver, or
# before it in bot.chat.service (_run_steps falls back).
RUN_STEPS = (
    ("bot.digest.deliver", "_channels_at", "load the due channels"),
    ("bot.digest.locks", "_due_today", "due today? (one a local day)"),
    ("bot.digest.deliver", "select_digests", "select_digests"),
    ("bot.digest.locks", "claim", "claim (ledger rows pending, window moved)"),
    ("bot.digest.locks", "advance", "advance (nothing new)"),
    ("bot.digest.locks", "confirm", "confirm (ledger rows sent)"),
)


def _run_module() -> Any:
    """The module whose code runs Deliverer.run_scheduled: bot.digest.deliver, or bot.chat.service before it."""
    import importlib

    try:
        return importlib.import_module("bot.digest.deliver")
    except ModuleNotFoundError:
        return importlib.import_module("bot.chat.service")


def _run_steps() -> list[tuple[Any, str, str]]:
    """``RUN_STEPS`` as (module, name, label), for the modules and names this tree has."""
    import importlib

    steps = []
    for module_name, name, label in RUN_STEPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            module = _run_module()
        if hasattr(module, name):
            steps.append((module, name, label))
    return steps


def read_marker(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / MARKER
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def write_marker(data_dir: Path, marker: dict[str, Any]) -> None:
    (data_dir / MARKER).write_text(json.dumps(marker, indent=2) + "\n", "utf-8")


def warm_files(data_dir: Path, database_url: str | None = None) -> float:
    """Read the SQLite files once, as a bot that just imported the day would have them cached."""
    if database_url:
        from bench.pg import prewarm

        return prewarm(database_url)
    start = time.perf_counter()
    for path in sorted(data_dir.glob(DB_FILE + "*")):
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass
    return time.perf_counter() - start


def sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite, in UTC (as bot.store.models.UTCDateTime).
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


# -- topics --------------------------------------------------------------------


class TopicMaker:
    """Subscription-like topics over the synthetic vocabulary, in canonical form."""

    def __init__(self, vocab: Vocabulary, rng: random.Random) -> None:
        self.rng = rng
        ranks = [
            rank
            for rank in range(TOPIC_MIN_RANK, len(vocab.words))
            if vocab.doc_fraction(rank) >= TOPIC_MIN_FRACTION and vocab.words[rank] not in STOPWORDS
        ]
        self.words = [vocab.words[rank] for rank in ranks]
        cum: list[float] = []
        total = 0.0
        for rank in ranks:
            total += (rank + 1) ** -vocab.s
            cum.append(total)
        self.cum = cum
        self.band = (ranks[0], ranks[-1])
        self.categories = [name for name, _ in CATEGORIES]
        self.category_cum: list[float] = []
        total = 0.0
        for _, weight in CATEGORIES:
            total += weight
            self.category_cum.append(total)
        self.kinds: Counter[str] = Counter()

    def word(self, avoid: tuple[str, ...] = ()) -> str:
        while True:
            word = self.words[bisect(self.cum, self.rng.random() * self.cum[-1])]
            if word not in avoid:
                return word

    def words_(self, count: int) -> tuple[str, ...]:
        chosen: tuple[str, ...] = ()
        while len(chosen) < count:
            chosen += (self.word(chosen),)
        return chosen

    def make(self) -> str:
        from bot.search.query import parse_query

        r = self.rng.random()
        if r < 0.45:
            kind, parts = "1 word", list(self.words_(1))
        elif r < 0.73:
            kind, parts = "2 words", list(self.words_(2))
        elif r < 0.83:
            kind, parts = "3 words", list(self.words_(3))
        elif r < 0.93:
            a, b = self.words_(2)
            kind, parts = "phrase", [f'"{a} {b}"']
        else:
            a, b = self.words_(2)
            kind, parts = "a OR b", [f"{a} OR {b}"]
        f = self.rng.random()
        if f < 0.08:
            kind, parts = kind + " has:code", parts + ["has:code"]
        elif f < 0.18:
            category = self.categories[
                bisect(self.category_cum, self.rng.random() * self.category_cum[-1])
            ]
            kind, parts = kind + " cat:", parts + [f"cat:{category}"]
        elif f < 0.25:
            kind, parts = kind + " -word", parts + ["-" + self.word(tuple(parts))]
        self.kinds[kind] += 1
        return str(parse_query(" ".join(parts)))


def draw_topics(
    vocab: Vocabulary, *, channels: int, per_channel: int, seed: int
) -> tuple[list[list[str]], dict[str, Any]]:
    """``per_channel`` distinct canonical topics for each channel, and how they were drawn."""
    rng = random.Random(f"topics-{seed}")
    maker = TopicMaker(vocab, rng)
    popular = [maker.make() for _ in range(POPULAR_TOPICS)]
    maker.kinds.clear()
    popular_cum: list[float] = []
    total = 0.0
    for rank in range(len(popular)):
        total += (rank + 1) ** -POPULAR_ZIPF_S
        popular_cum.append(total)
    result: list[list[str]] = []
    from_popular = 0
    for _ in range(channels):
        topics: list[str] = []
        while len(topics) < per_channel:
            if rng.random() < POPULAR_SHARE:
                topic = popular[bisect(popular_cum, rng.random() * total)]
                shared = True
            else:
                topic = maker.make()
                shared = False
            if topic not in topics:
                topics.append(topic)
                from_popular += shared
        result.append(topics)
    slots = channels * per_channel
    counts = Counter(t for topics in result for t in topics)
    info = {
        "slots": slots,
        "distinct": len(counts),
        "repeated_share": 1 - len(counts) / slots if slots else 0.0,
        "from_popular_pool": from_popular,
        "most_followed": counts.most_common(5),
        "kinds_of_own_topics": dict(maker.kinds.most_common()),
        "word_ranks": list(maker.band),
    }
    return result, info


# -- phase 1: the catalog ------------------------------------------------------


def run_catalog(params: dict[str, Any]) -> dict[str, Any]:
    from bot.store.catalog import current_revision

    data_dir = Path(params["data_dir"])
    n = params["papers"]
    service = open_service(data_dir, clock_at=CATALOG_AT, database_url=params["database_url"])
    start = time.perf_counter()

    def progress(seen: int) -> None:
        if seen % 100_000 == 0 or seen == n:
            elapsed = time.perf_counter() - start
            log(
                f"catalog: {seen:,} papers stored after {elapsed:.0f}s ({seen / elapsed:,.0f}/s incl. generation)"
            )

    result = service.catalog.import_records(SyntheticCatalog(seed=params["seed"]).papers(n), progress=progress)
    seconds = time.perf_counter() - start
    with service.db.session() as session:
        revision = current_revision(session)
    service.close()
    write_marker(data_dir, {"papers": n, "seed": params["seed"], "catalog_revision": revision})
    return {
        "papers": n,
        "new": result.new,
        "seconds": seconds,
        "revision": revision,
        "peak_rss_mb": peak_rss_mb(),
    }


# -- phase 2: the day's papers, channels and topics ----------------------------


def day_records(n: int, seed: int) -> Iterator[Any]:
    """One day's new papers: the catalog's vocabulary, another stream, ids 2611.NNNNN."""
    synth = SyntheticCatalog(seed=seed)  # the same words as the catalog...
    synth.seed = DAY_STREAM - seed  # ...but papers() seeds its stream from this: other papers
    for i, record in enumerate(synth.papers(n), start=1):
        paper_id = f"{DAY_ID_PREFIX}.{i:05d}"
        yield dataclasses.replace(
            record, id=paper_id, url=f"https://arxiv.org/abs/{paper_id}", published=TODAY
        )


def run_prepare(params: dict[str, Any]) -> dict[str, Any]:
    """Bring the data directory to the measured state; cheap when it is there already."""
    from sqlalchemy import delete, func, insert, select, text, update

    from bot.store.catalog import current_revision
    from bot.store.models import Channel, Delivery, Topic

    data_dir = Path(params["data_dir"])
    marker = read_marker(data_dir)
    if marker is None:
        raise SystemExit(f"{data_dir} holds no catalog of this script ({MARKER} missing)")
    base = marker["catalog_revision"]
    service = open_service(data_dir, clock_at=DAY_IMPORT_AT, database_url=params["database_url"])
    done: dict[str, Any] = {}

    # Today's papers. The key names the generator's stream too, so that a
    # data directory made by an older version of this script is brought up to date.
    day_key = {"new": params["new"], "seed": params["seed"], "stream": DAY_STREAM}
    if marker.get("day", {}).get("key") != day_key:
        start = time.perf_counter()
        replacing = bool(marker.get("day"))
        with service.db.session() as session:
            # The ledger refers to papers; it is refilled below.
            session.execute(delete(Delivery))
            marker.pop("ledger", None)
            if replacing:  # another day's papers from an earlier run
                session.execute(
                    text("DELETE FROM papers WHERE entered_revision > :base"), {"base": base}
                )
        records = list(day_records(params["new"], params["seed"]))
        result = service.catalog.import_records(records)
        with service.db.session() as session:
            revision = current_revision(session)
        if replacing:
            # The persistent search index still holds the earlier day's papers
            # (the import added these as new): one copy of each id, as a bot would have.
            with service.index.writer() as writer:
                writer.add(records, replace=True)
                writer.commit(revision)
        marker["day"] = {"key": day_key, "revision": revision, "new": result.new}
        write_marker(data_dir, marker)
        done["day_import_seconds"] = time.perf_counter() - start
        log(f"prepare: {result.new:,} new papers imported in {done['day_import_seconds']:.1f}s")

    # Channels and topics.
    channel_key = {"channels": params["channels"], "topics": params["topics"], "seed": params["seed"]}
    if marker.get("channels", {}).get("key") != channel_key:
        start = time.perf_counter()
        vocab = build_vocabulary(seed=params["seed"])
        topics, info = draw_topics(
            vocab, channels=params["channels"], per_channel=params["topics"], seed=params["seed"]
        )
        drawn = time.perf_counter() - start
        channel_rows = [
            {
                "id": i,
                "platform": "bench",
                "workspace": f"team{i % 1000:03d}",
                "channel": f"papers-{i:05d}",
                "timezone": "UTC",
                "digest_time": "09:00",
                "cadence": "daily",
                "max_papers": 10,
                "paused": False,
                "paused_reason": None,
                "created_at": CATALOG_AT,
                "last_digest_at": PREVIOUS_DIGEST_AT,
                "last_revision": base,
                "last_scheduled_on": YESTERDAY,
            }
            for i in range(1, params["channels"] + 1)
        ]
        topic_rows = [
            {"channel_id": i, "query": query, "created_at": CATALOG_AT}
            for i, queries in enumerate(topics, start=1)
            for query in queries
        ]
        with service.db.session() as session:
            session.execute(delete(Delivery))
            session.execute(delete(Topic))
            session.execute(delete(Channel))
            session.execute(insert(Channel), channel_rows)
            session.execute(insert(Topic), topic_rows)
        marker.pop("ledger", None)
        marker["channels"] = {"key": channel_key, "topics": info}
        write_marker(data_dir, marker)
        done["channels_seconds"] = time.perf_counter() - start
        log(
            f"prepare: {params['channels']:,} channels, {len(topic_rows):,} topics "
            f"({info['distinct']:,} distinct) in {done['channels_seconds']:.1f}s "
            f"(drawing them {drawn:.1f}s)"
        )

    # Earlier days of the ledger: LEDGER_PAPERS_A_DAY old papers sent to every channel a day.
    ledger_days = params["ledger_days"]
    if marker.get("ledger") is None or marker["ledger"]["days"] != ledger_days:
        start = time.perf_counter()
        rng = random.Random(f"ledger-{params['seed']}")
        with service.db.session() as session:
            session.execute(delete(Delivery))
            conn = session.connection()
            # SQLite's rowid: a ledger needs SQLite (parse_args says so); none needs no query.
            top = (
                conn.exec_driver_sql(
                    "SELECT max(rowid) FROM papers WHERE entered_revision <= ?", (base,)
                ).scalar()
                or 0
            ) if ledger_days else 0
            channel_ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM channels ORDER BY id")]
            block = LEDGER_DAY_PAPERS
            rowids = rng.sample(range(1, top + 1), min(top, block * ledger_days))
            ids = [
                row[0]
                for chunk in range(0, len(rowids), 5000)
                for row in conn.exec_driver_sql(
                    f"SELECT id FROM papers WHERE rowid IN ({','.join(map(str, rowids[chunk : chunk + 5000]))})"
                )
            ]
            rows = 0
            for day in range(ledger_days):
                day_ids = ids[day * block : (day + 1) * block]
                when = sqlite_datetime(PREVIOUS_DIGEST_AT - timedelta(days=day))
                batch = [
                    (channel_id, paper_id, "sent", 1, when, when)
                    for channel_id in channel_ids
                    for paper_id in rng.sample(day_ids, min(LEDGER_PAPERS_A_DAY, len(day_ids)))
                ]
                conn.exec_driver_sql(
                    "INSERT INTO deliveries (channel_id, paper_id, status, attempts, created_at, sent_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    batch,
                )
                rows += len(batch)
        marker["ledger"] = {"days": ledger_days, "rows": rows}
        write_marker(data_dir, marker)
        done["ledger_seconds"] = time.perf_counter() - start
        log(
            f"prepare: ledger of {ledger_days} earlier days, {rows:,} rows, in {done['ledger_seconds']:.1f}s"
        )

    # The measured state: every channel's previous digest was yesterday and
    # read up to the catalog's revision; nothing of today in the ledger.
    start = time.perf_counter()
    with service.db.session() as session:
        session.execute(delete(Delivery).where(Delivery.created_at >= TODAY_START))
        session.execute(
            update(Channel).values(
                last_revision=base,
                last_digest_at=PREVIOUS_DIGEST_AT,
                last_scheduled_on=YESTERDAY,
                paused=False,
                paused_reason=None,
            )
        )
    done["reset_seconds"] = time.perf_counter() - start
    with service.db.session() as session:
        counts = {
            "papers": session.scalar(select(func.count()).select_from(text("papers"))),
            "channels": session.scalar(select(func.count()).select_from(Channel)),
            "topics": session.scalar(select(func.count()).select_from(Topic)),
            "distinct_topics": session.scalar(select(func.count(func.distinct(Topic.query)))),
            "deliveries": session.scalar(select(func.count()).select_from(Delivery)),
            "revision": current_revision(session),
        }
    service.close()
    return {
        **done,
        **counts,
        "catalog_revision": base,
        "day": marker["day"],
        "topics_info": marker["channels"]["topics"],
        "ledger": marker["ledger"],
        "db_file_mb": _database_mb(data_dir, params["database_url"]),
    }


def _database_mb(data_dir: Path, database_url: str | None) -> float:
    if database_url:
        from bench.pg import database_mb

        return database_mb(database_url)
    return sum(dir_size_mb(p) for p in data_dir.glob(DB_FILE + "*"))


# -- phase 3: selection ----------------------------------------------------------


class _Timers:
    """Wall time and calls per label, for functions wrapped by ``wrap``."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        return timed


@contextmanager
def _patched(module: Any, **replacements: Any) -> Iterator[None]:
    with _patched_in([(module, name, value) for name, value in replacements.items()]):
        yield


@contextmanager
def _patched_in(replacements: Sequence[tuple[Any, str, Any]]) -> Iterator[None]:
    """``_patched`` over several modules: each (module, name, value) set, then restored."""
    saved = [(module, name, getattr(module, name)) for module, name, _ in replacements]
    for module, name, value in replacements:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _selection_stats(selections: dict[int, Any]) -> dict[str, Any]:
    counts = [s.digest.count for s in selections.values()]
    more = [s.digest.more for s in selections.values()]
    return {
        "channels_with_digest": len(selections),
        "papers_shown": sum(counts),
        "mean_papers": statistics.fmean(counts) if counts else 0.0,
        "median_papers": statistics.median(counts) if counts else 0.0,
        "digests_at_cap": sum(1 for s in selections.values() if s.digest.more),
        "mean_matching_papers": statistics.fmean(c + m for c, m in zip(counts, more, strict=True))
        if counts
        else 0.0,
        "example": next(iter(selections.values())).digest.header if selections else None,
    }


def run_select(params: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import select

    from bot.digest import select as digest
    from bot.store.models import Channel

    data_dir = Path(params["data_dir"])
    warm_seconds = None if params["cold"] else warm_files(data_dir, params["database_url"])
    rss_start = current_rss_mb()
    load_before = os.getloadavg()
    start = time.perf_counter()
    service = open_service(data_dir, clock_at=NOW, database_url=params["database_url"])
    open_seconds = time.perf_counter() - start
    first_days = _first_digest_days(service)

    def once(cache: Any = None) -> tuple[dict[int, Any], dict[str, float]]:
        with service.db.session() as session:
            t0 = time.perf_counter()
            channels = list(session.scalars(select(Channel).order_by(Channel.id)))
            t1 = time.perf_counter()
            rss_before = current_rss_mb()
            cpu = time.process_time()
            selections = digest.select_digests(
                session, channels, now=NOW, first_days=first_days, topics_cache=cache
            )
            cpu = time.process_time() - cpu
            t2 = time.perf_counter()
            rss_after = current_rss_mb()
        return selections, {
            "channels": len(channels),
            "load_seconds": t1 - t0,
            "select_seconds": t2 - t1,
            # CPU time of the process: less disturbed by other work on a shared machine.
            "select_cpu_seconds": cpu,
            "rss_before_select_mb": rss_before,
            "rss_after_select_mb": rss_after,
            "peak_rss_mb": peak_rss_mb(),
        }

    # R cold runs, each with no parsed topics, as in a bot started at the
    # digest hour; then the topics are parsed ahead as the running bot does
    # at start (Service.warm_topics) and kept: R warm runs use that cache.
    runs = []
    stats: dict[str, Any] = {}
    cache = digest.TopicCache()
    warm_topics_seconds = 0.0
    for i in range(2 * params["repeats"]):
        warm = i >= params["repeats"]
        if i == params["repeats"]:
            t = time.perf_counter()
            with service.db.session() as session:
                topics = sorted({t for ts in digest._topics(
                    session, [c.id for c in session.scalars(select(Channel))]
                ).values() for t in ts})
            cache.warm(topics)
            warm_topics_seconds = time.perf_counter() - t
            log(f"select: {len(topics):,} topics parsed ahead (warm_topics) in "
                f"{warm_topics_seconds:.2f}s")
        selections, run = once(cache if warm else None)
        run["warm"] = warm
        runs.append(run)
        if i == 0:
            stats = _selection_stats(selections)
        log(
            f"select: run {i + 1} ({'warm' if warm else 'cold'}): {run['channels']:,} channels "
            f"loaded in {run['load_seconds']:.2f}s, "
            f"selected in {run['select_seconds']:.2f}s (CPU {run['select_cpu_seconds']:.2f}s), "
            f"{len(selections):,} digests, peak RSS {run['peak_rss_mb']:,.0f} MB"
        )
        del selections
    peak_after_runs = peak_rss_mb()

    # Once more of each kind with timers around the steps of select_digests:
    # the names it looks up in bot.digest.select are swapped for timed wrappers, in
    # this process only, for whichever of them the module has (bot/ changes).
    pool_sizes: list[int] = []
    topic_hits: dict[str, int] = {}
    POOL, MATCHES, RANK, SELECT = (
        "pool: index the candidates in memory",
        "topics: run each distinct topic once (pool.matches)",
        "rank each topic's matches in the window (pool.rank)",
        "per channel: _select, without the two steps above",
    )

    def breakdown(cache: Any) -> dict[str, Any]:
        timers = _Timers()

        class TimedPool(digest._Pool):  # type: ignore[name-defined,misc]
            def __init__(self, candidates: dict[str, Any], **kwargs: Any) -> None:
                pool_sizes.append(len(candidates))
                t = time.perf_counter()
                super().__init__(candidates, **kwargs)
                timers.seconds[POOL] += time.perf_counter() - t
                timers.calls[POOL] += 1

            def matches(self, topic: str) -> Any:
                found = self._matches.get(topic)
                if found is None:
                    t = time.perf_counter()
                    found = super().matches(topic)
                    timers.seconds[MATCHES] += time.perf_counter() - t
                    timers.calls[MATCHES] += 1
                    # Document numbers since the masks; (id, score) pairs before.
                    numbers = found.numbers if hasattr(found, "numbers") else found.hits
                    topic_hits[topic] = len(numbers)
                return found

            def rank(self, matches: Any, eligible: Any) -> Any:
                t = time.perf_counter()
                found = super().rank(matches, eligible)
                timers.seconds[RANK] += time.perf_counter() - t
                timers.calls[RANK] += 1
                return found

        original_ledger = digest._ledger

        def ledger(session: Any, **kwargs: Any) -> Any:
            label = (
                "ledger: sent, by paper"
                if kwargs.get("paper_ids")
                else "ledger: pending/failed, by channel"
            )
            return timers.wrap(label, original_ledger)(session, **kwargs)

        wrapped = {
            "_topics": "topics of the channels",
            "current_revision": "current revision",
            "_load_candidates": "candidates: load from SQLite",
            "parse_query": "  of which parse_query",
            "compile_query": "  of which compile_query",
            "_select": SELECT,
        }
        replacements: dict[str, Any] = {
            name: timers.wrap(label, getattr(digest, name))
            for name, label in wrapped.items()
            if hasattr(digest, name)
        }
        with _patched(digest, _ledger=ledger, _Pool=TimedPool, **replacements):
            selections, run = once(cache)
        del selections
        # _select includes the topics' first pool.matches and pool.rank: counted above.
        timers.seconds[SELECT] -= timers.seconds[MATCHES] + timers.seconds[RANK]
        order = [
            "topics of the channels",
            "current revision",
            "ledger: pending/failed, by channel",
            "candidates: load from SQLite",
            "ledger: sent, by paper",
            POOL,
            MATCHES,
            "  of which parse_query",
            "  of which compile_query",
            RANK,
            SELECT,
        ]
        steps: list[dict[str, Any]] = [
            {"step": label, "seconds": timers.seconds[label], "calls": timers.calls[label]}
            for label in order
            if timers.calls[label] or label in (MATCHES, RANK, SELECT)
        ]
        accounted = sum(s["seconds"] for s in steps if not s["step"].startswith(" "))
        steps.append(
            {
                "step": "rest (select_digests itself)",
                "seconds": run["select_seconds"] - accounted,
                "calls": 1,
            }
        )
        return {"run": run, "steps": steps}

    breakdowns = {"cold": breakdown(None), "warm": breakdown(cache)}
    hits = list(topic_hits.values())
    topic_stats = {
        "distinct_run": len(hits),
        "matching_any": sum(1 for h in hits if h),
        "median_hits": statistics.median(hits) if hits else 0,
        "mean_hits": statistics.fmean(hits) if hits else 0.0,
        "max_hits": max(hits, default=0),
        "hits_total": sum(hits),
    }

    profile = None
    if params.get("profile"):
        # cProfile, not bench/sampler.py: every tantivy-py call releases the
        # GIL, so a sampling thread takes nearly all its samples inside those
        # calls rather than in the Python around them (by how much: see
        # docs/benchmarks.md, section "Digest selection", Commands), and,
        # waiting for the GIL, slows each call down.
        profile = _cprofile(
            lambda: once(cache), Path(params["profile"]) / "select.prof", label="select_digests (warm)"
        )
    service.close()
    return {
        "warm_files_seconds": warm_seconds,
        "warm_topics_seconds": warm_topics_seconds,
        "open_seconds": open_seconds,
        "rss_start_mb": rss_start,
        "runs": runs,
        "peak_rss_after_runs_mb": peak_after_runs,
        "stats": stats,
        "candidates": pool_sizes[0] if pool_sizes else 0,
        "topics": topic_stats,
        "breakdown": breakdowns,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "profile": profile,
    }


def _cprofile(function: Callable[[], Any], path: Path, *, label: str) -> dict[str, Any]:
    """Run ``function`` under cProfile; the stats go to ``path`` and the top lines to stderr."""
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    function()
    prof.disable()
    seconds = time.perf_counter() - start
    prof.dump_stats(str(path))
    log(f"{label} under cProfile took {seconds:.2f}s; stats in {path}; top functions:")
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    return {"seconds_under_cprofile": seconds, "stats_file": str(path)}


# -- phase 4: the scheduler's whole run -------------------------------------------


class _TimedDatabase:
    """``Service.db`` with the time of each transaction's commit counted."""

    def __init__(self, db: Any, timers: _Timers) -> None:
        self._db = db
        self._timers = timers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextmanager
    def session(self) -> Iterator[Any]:
        manager = self._db.session()
        session = manager.__enter__()
        try:
            yield session
        except BaseException:
            if not manager.__exit__(*sys.exc_info()):
                raise
        else:
            start = time.perf_counter()
            manager.__exit__(None, None, None)
            self._timers.seconds["transaction commits"] += time.perf_counter() - start
            self._timers.calls["transaction commits"] += 1


def run_scheduled(params: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from bot.model.messages import Digest
    from bot.store.models import Channel, Delivery

    data_dir = Path(params["data_dir"])
    warm_seconds = None if params["cold"] else warm_files(data_dir, params["database_url"])
    load_before = os.getloadavg()
    service = open_service(data_dir, clock_at=NOW, database_url=params["database_url"])
    with service.db.session() as session:
        addresses = [c.address for c in session.scalars(select(Channel).order_by(Channel.id))]
    due = dict.fromkeys(addresses, NOW)
    sent: Counter[str] = Counter()

    def send(message: Any) -> None:
        if isinstance(message, Digest):
            sent["digests"] += 1
            sent["papers"] += message.count
        else:
            sent["quiet-day lines"] += 1

    # Timers around the steps: the names the running modules look up
    # (RUN_STEPS) are swapped for timed wrappers, and the database for one
    # that times commits.
    if params.get("profile_scheduled"):
        # An extra run, for where the time goes; its time is not a figure.
        profile = _cprofile(
            lambda: service.deliverer.run_scheduled(due, send=send),
            Path(params["profile"]) / "run_scheduled.prof",
            label="run_scheduled",
        )
        service.close()
        return {"profile": profile, "sent": dict(sent)}

    timers = _Timers()
    replacements = [
        (module, name, timers.wrap(label, getattr(module, name)))
        for module, name, label in _run_steps()
    ]
    db_owner = getattr(service, "deliverer", service)
    db = db_owner.db
    db_owner.db = _TimedDatabase(db, timers)
    rss_before = current_rss_mb()
    start = time.perf_counter()
    with _patched_in(replacements):
        outcomes = service.deliverer.run_scheduled(due, send=timers.wrap("send (counting only)", send))
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    db_owner.db = db
    with service.db.session() as session:
        ledger = dict(
            session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.created_at >= NOW)
                .group_by(Delivery.status)
            ).all()
        )
    service.close()
    steps: list[dict[str, Any]] = [
        {"step": label, "seconds": timers.seconds[label], "calls": timers.calls[label]}
        for label in (
            "load the due channels",
            "due today? (one a local day)",
            "select_digests",
            "claim (ledger rows pending, window moved)",
            "advance (nothing new)",
            "transaction commits",
            "send (counting only)",
            "confirm (ledger rows sent)",
        )
    ]
    steps = [s for s in steps if s["calls"]]
    steps.append(
        {
            "step": "rest (the run itself, sessions)",
            "calls": 1,
            "seconds": seconds - sum(s["seconds"] for s in steps),
        }
    )
    return {
        "seconds": seconds,
        "channels_due": len(due),
        "outcomes": len(outcomes),
        "errors": sum(1 for o in outcomes if o.error),
        "sent": dict(sent),
        "ledger_today": ledger,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "module": _run_module().__name__,
        "steps": steps,
        "warm_files_seconds": warm_seconds,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }


def _phase(target: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """``target`` in a fresh process; the result says which bot/ it ran (bot/ may change meanwhile)."""
    return in_fresh_process(_with_code_state, {**params, "_target": target.__name__})


def _with_code_state(params: dict[str, Any]) -> dict[str, Any]:
    code = code_state()  # before bot/ is imported by the phase
    result = globals()[params["_target"]](params)
    result["code"] = code
    return result


# -- report --------------------------------------------------------------------


def render(report: dict[str, Any]) -> str:
    out: list[str] = []
    m = report["machine"]
    out.append(
        f"Machine: {m['cpus']} CPUs, {m['memory_gb']:.0f} GB RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, SQLAlchemy {m['sqlalchemy']}, tantivy {m['tantivy']}"
    )
    target = report.get("target_seconds", TARGET_SECONDS)
    database = report.get("database")
    store = "PostgreSQL" if database else "SQLite"
    if database:
        out.append(
            f"Database: PostgreSQL {database['version']}, "
            + ", ".join(f"{k}={v}" for k, v in database["settings"].items())
        )
    code = report.get("code", {})
    out.append(
        f"Code: commit {code.get('commit', '?')}"
        + (" with uncommitted changes in bot/" if code.get("bot_modified") else "")
        + f" (bot/ digest {code.get('bot_sha256')})"
    )
    ran = {
        f"{name} {r['code'].get('commit', '?')}/{r['code'].get('bot_sha256')}"
        for name, runs in (
            ("select", [report.get("select")]),
            ("scheduled", report.get("scheduled") or []),
        )
        for r in runs
        if r and "code" in r and r["code"].get("bot_sha256") != code.get("bot_sha256")
    }
    if ran:
        out.append("WARNING: bot/ changed during the run; phases ran " + ", ".join(sorted(ran)))
    cat = report.get("catalog")
    if cat:
        out.append(
            f"Catalog: {cat['papers']:,} synthetic papers imported in {cat['seconds']:.0f}s "
            f"(with generation; peak RSS {cat['peak_rss_mb']:,.0f} MB)"
        )
    prep = report["prepare"]
    info = prep["topics_info"]
    out.append(
        f"Data: {prep['papers']:,} papers ({prep['day']['new']:,} of them new today, revision "
        f"{prep['catalog_revision']} -> {prep['day']['revision']}), {prep['channels']:,} channels, "
        f"{prep['topics']:,} topics, {prep['distinct_topics']:,} distinct "
        f"({100 * info['repeated_share']:.0f}% of the slots repeat a topic), ledger "
        f"{prep['deliveries']:,} rows ({prep['ledger']['days']} earlier days); {store} {prep['db_file_mb']:,.0f} MB"
    )
    out.append("Most followed topics: " + ", ".join(f"{t} ({n})" for t, n in info["most_followed"]))
    out.append(
        "Own topics by kind: " + ", ".join(f"{k} {n:,}" for k, n in info["kinds_of_own_topics"].items())
    )

    sel = report.get("select")
    if sel:
        runs = sel["runs"]
        out.append("")
        cache = (
            f"files read once first ({sel['warm_files_seconds']:.1f}s)"
            if sel["warm_files_seconds"] is not None
            else "OS cache left as found (--cold)"
        )
        out.append(
            f"Selection (bot.digest.select.select_digests over every channel, own process; {cache}; "
            f"Service.open {sel['open_seconds']:.2f}s; load average {sel['loadavg_before'][0]:.1f} before, "
            f"{sel['loadavg_after'][0]:.1f} after)"
        )
        rows = []
        for i, run in enumerate(runs, start=1):
            total = run["load_seconds"] + run["select_seconds"]
            rows.append(
                [
                    f"run {i} ({'warm' if run.get('warm') else 'cold'})",
                    f"{run['load_seconds']:.2f}",
                    f"{run['select_seconds']:.2f}",
                    f"{run.get('select_cpu_seconds', 0.0):.2f}",
                    f"{total:.2f}",
                    "ok" if total <= target else "MISS",
                    f"{run['rss_before_select_mb']:,.0f}",
                    f"{run['peak_rss_mb']:,.0f}",
                ]
            )
        out.append(
            table(
                [
                    "",
                    "load channels s",
                    "select_digests s",
                    "its CPU s",
                    "total s",
                    f"<= {target:.0f} s",
                    "RSS before MB",
                    "peak RSS MB",
                ],
                rows,
            )
        )
        st = sel["stats"]
        tp = sel["topics"]
        out.append(
            f"{st['channels_with_digest']:,} of {runs[0]['channels']:,} channels get a digest; "
            f"papers per digest mean {st['mean_papers']:.2f}, median {st['median_papers']:.0f} "
            f"({st['digests_at_cap']:,} at the cap of 10; matching papers per channel, mean "
            f"{st['mean_matching_papers']:.1f}); {st['papers_shown']:,} papers shown in all"
        )
        out.append(
            f"candidates {sel['candidates']:,}; distinct topics run {tp['distinct_run']:,}, "
            f"{tp['matching_any']:,} match a new paper (hits per topic median "
            f"{tp['median_hits']:.0f}, mean {tp['mean_hits']:.1f}, max {tp['max_hits']:,})"
        )
        out.append(f"example: {st['example']}")
        cold, warm = sel["breakdown"]["cold"], sel["breakdown"]["warm"]
        out.append("")
        out.append(
            "Where the selection's time goes (one more run of each kind with timers around "
            f"its steps: cold {cold['run']['select_seconds']:.2f}s, "
            f"warm {warm['run']['select_seconds']:.2f}s)"
        )
        warm_steps = {step["step"]: step for step in warm["steps"]}
        rows = []
        for step in cold["steps"]:
            other = warm_steps.get(step["step"])
            rows.append([
                step["step"],
                f"{step['calls']:,}",
                f"{step['seconds']:.3f}",
                f"{100 * step['seconds'] / (cold['run']['select_seconds'] or 1):.0f}%",
                f"{other['seconds']:.3f}" if other else "-",
                f"{100 * other['seconds'] / (warm['run']['select_seconds'] or 1):.0f}%"
                if other else "-",
            ])
        out.append(table(["step", "calls", "cold s", "share", "warm s", "share"], rows))
    sch = report.get("scheduled")
    if sch:
        for i, run in enumerate(sch, start=1):
            out.append("")
            out.append(
                f"Deliverer.run_scheduled, every channel due (own process, run {i}): {run['seconds']:.2f}s; "
                f"{run['sent'].get('digests', 0):,} digests, {run['sent'].get('papers', 0):,} papers sent; "
                f"ledger rows today {run['ledger_today']}; RSS {run['rss_before_mb']:,.0f} MB before, "
                f"peak {run['peak_rss_mb']:,.0f} MB; load average {run['loadavg_before'][0]:.1f} before, "
                f"{run['loadavg_after'][0]:.1f} after"
            )
            if run["steps"]:
                total = run["seconds"] or 1
                out.append(
                    table(
                        ["step", "calls", "seconds", "share"],
                        [
                            [
                                s["step"],
                                f"{s['calls']:,}",
                                f"{s['seconds']:.3f}",
                                f"{100 * s['seconds'] / total:.0f}%",
                            ]
                            for s in run["steps"]
                        ],
                    )
                )
    if sel:
        out.append("")
        for kind in ("cold", "warm"):
            runs = [r for r in sel["runs"] if bool(r.get("warm")) == (kind == "warm")]
            totals = [r["load_seconds"] + r["select_seconds"] for r in runs]
            if not totals:
                continue
            median = statistics.median(totals)
            how = (
                "topics parsed during the run"
                if kind == "cold"
                else f"topics parsed at start, {sel['warm_topics_seconds']:.2f}s, as the running bot does"
            )
            out.append(
                f"Selection {kind} ({how}): median {median:.2f}s of {len(totals)} "
                f"(best {min(totals):.2f}s, worst {max(totals):.2f}s; select_digests CPU median "
                f"{statistics.median(r.get('select_cpu_seconds', 0.0) for r in runs):.2f}s): "
                f"{'meets' if median <= target else 'MISSES'} the target of "
                f"{target:.0f} s; peak RSS {max(r['peak_rss_mb'] for r in runs):,.0f} MB"
            )
    return "\n".join(out)


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
