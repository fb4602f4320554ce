"""Phases 1 and 2 of the digest benchmark: the catalog, then the day's papers, channels and ledger.

``run_catalog`` imports N synthetic papers with the clock days before
today; ``run_prepare`` brings the data directory to the measured state
(each channel's window exactly today's new papers, nothing of today in the
ledger) and is cheap when it is there already.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import dir_size_mb, log, peak_rss_mb
from bench.digest.state import (
    CATALOG_AT,
    DAY_ID_PREFIX,
    DAY_IMPORT_AT,
    DAY_STREAM,
    DB_FILE,
    MARKER,
    PREVIOUS_DIGEST_AT,
    TODAY,
    TODAY_START,
    YESTERDAY,
    open_service,
    read_marker,
    write_marker,
)
from bench.digest.topics import draw_topics
from bench.synth import SyntheticCatalog, build_vocabulary

__all__ = ["LEDGER_DAY_PAPERS", "LEDGER_PAPERS_A_DAY", "day_records", "run_catalog", "run_prepare"]

# An earlier day of the ledger: each channel was sent LEDGER_PAPERS_A_DAY of
# that day's LEDGER_DAY_PAPERS (old catalog papers, distinct from day to day).
LEDGER_PAPERS_A_DAY = 10
LEDGER_DAY_PAPERS = 2000


def sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite, in UTC (as bot.store.models.UTCDateTime).
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


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
    from bot.store.models import Taste as TasteRow

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
            session.execute(delete(TasteRow))
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

    # Tastes: a share of the channels voted on VOTES of today's papers (a third of
    # them down), and learned from them, as Tastes.learn does after a click.
    taste_key = {"tasted": params.get("tasted", 0.0), "channels": channel_key,
                 "day": day_key, "votes": TASTE_VOTES}
    if marker.get("tastes", {}).get("key") != taste_key:
        start = time.perf_counter()
        rows = _taste_rows(service, params)
        with service.db.session() as session:
            session.execute(delete(TasteRow))
            if rows:
                session.execute(insert(TasteRow), rows)
        marker["tastes"] = {"key": taste_key, "channels": len(rows)}
        write_marker(data_dir, marker)
        done["tastes_seconds"] = time.perf_counter() - start
        log(f"prepare: {len(rows):,} channels' tastes learned in {done['tastes_seconds']:.1f}s")

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
            "tastes": session.scalar(select(func.count()).select_from(TasteRow)),
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


# Papers each tasted channel voted on.
TASTE_VOTES = 30


def _taste_rows(service: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Taste rows for ``params["tasted"]`` of the channels, learned from votes on today's papers."""
    from bot.chat.tastes import Tastes
    from bot.digest.taste import Vote, learn, words_of

    fraction = params.get("tasted", 0.0)
    if not fraction:
        return []
    rng = random.Random(f"tastes-{params['seed']}")
    papers = [words_of(record) for record in day_records(params["new"], params["seed"])]
    share = Tastes(db=service.db, index=service.index, clock=lambda: DAY_IMPORT_AT)._share()
    shares: dict[str, float] = {}

    def cached(feature: str) -> float:
        found = shares.get(feature)
        if found is None:
            found = shares[feature] = share(feature)
        return found

    rows = []
    for channel_id in range(1, params["channels"] + 1):
        if rng.random() >= fraction:
            continue
        voted = rng.sample(range(len(papers)), TASTE_VOTES)
        votes = [Vote(str(n), 1 if k % 3 else -1, papers[n]) for k, n in enumerate(voted)]
        taste = learn(votes, cached)
        rows.append({
            "channel_id": channel_id,
            "weights": dict(taste.weights),
            "words": {f: [taste.word(f), taste.support.get(f, 1)] for f in taste.weights},
            "liked": taste.liked, "disliked": taste.disliked, "idle": taste.idle,
            "votes_since": None, "updated_at": DAY_IMPORT_AT,
        })
    return rows


def _database_mb(data_dir: Path, database_url: str | None) -> float:
    if database_url:
        from bench.pg import database_mb

        return database_mb(database_url)
    return sum(dir_size_mb(p) for p in data_dir.glob(DB_FILE + "*"))
