"""Moving a whole database: export from SQLite, import into SQLite or PostgreSQL,
and the channels' digests go on as if nothing happened."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.chat.schedules import parse_schedule
from bot.chat.service import Service
from bot.model.messages import Digest
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.db import open_database

X, Y = "console:local/x", "console:local/y"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def open_service(url: str, index_dir: Path, clock: Clock) -> Service:
    db = open_database(url)
    return Service(db=db, index=SearchIndex.open(index_dir, catalog_id=db.catalog_id), clock=clock)


def ids(digest: Digest | None) -> list[str]:
    return sorted(item.paper_id for item in digest.items) if digest else []


def comparable(export: str) -> list[dict[str, object]]:
    """An export without the catalog-local numbers an import renumbers."""
    lines = [json.loads(line) for line in export.splitlines()]
    for line in lines:
        line.pop("entered", None)
        line.pop("last_entered", None)
    return lines


def test_everything_moves_and_digests_go_on(tmp_path: Path, database_url: str) -> None:
    clock = Clock()
    source = open_service(f"sqlite:///{tmp_path / 'source.sqlite3'}", tmp_path / "si", clock)
    source.catalog.import_records([PaperRecord(id="2611.00001", title="Breast MRI one"),
                           PaperRecord(id="2611.00002", title="Breast MRI two")])
    source.channels.subscribe(X, "breast")
    source.channels.set_schedule(X, parse_schedule(["07:30", "Europe/Berlin", "weekdays"]))
    source.channels.set_max_papers(X, 5)
    assert ids(source.deliverer.digest(X, send=lambda d: None)) == ["2611.00001", "2611.00002"]
    clock.now += timedelta(days=1)
    # After X's digest: a new paper X has not seen, an old paper revised (not news).
    source.catalog.import_records([PaperRecord(id="2611.00003", title="Breast MRI three")])
    source.catalog.import_records([PaperRecord(id="2301.00009", title="Breast MRI revised", version=2)],
                          not_news={"2301.00009"})
    source.channels.subscribe(Y, "breast")
    source.channels.subscribe(Y, "mri -survey")
    source.channels.pause(Y, reason="testing")
    source.feeds.add("https://example.org/journal.xml", name="journal")
    source.ratings.rate(X, "2611.00001", "ann", 1)
    source.ratings.rate(X, "2611.00001", "bob", -1)
    source.ratings.rate(Y, "2611.00002", "ann", -1)
    source.reading.save(X, "2611.00001", "U1", "ann")
    source.reading.save(X, "2611.00003", "U2")
    source.reading.mark_read(X, "2611.00001", "U2", "bob")
    backup = io.StringIO()
    exported = source.catalog.export(backup)
    assert exported.papers == 4
    assert (exported.channels, exported.feeds, exported.ratings) == (2, 1, 3)
    assert exported.deliveries > 0 and "3 ratings, 2 saved papers" in exported.summary()

    target = open_service(database_url, tmp_path / "ti", clock)
    report, counts = target.catalog.import_jsonl(io.StringIO(backup.getvalue()), label="backup")
    assert (report.new, report.skipped, report.problems) == (4, 0, ())
    assert counts.line() == "channels=2 topics=3 deliveries=2 feeds=1 ratings=3 saved=2"
    assert [(c.record.id, c.saved_by, c.read_by) for c in target.reading.entries(X)] == [
        ("2611.00003", "U2", ()), ("2611.00001", "ann", ("bob",))]
    assert target.ratings.votes(X) == {"2611.00001": 0}  # one up, one down
    assert target.ratings.votes(Y) == {"2611.00002": -1}
    moved = io.StringIO()
    target.catalog.export(moved)
    assert comparable(moved.getvalue()) == comparable(backup.getvalue())
    # X gets exactly what it would have got at home: the one paper new to it.
    assert ids(target.deliverer.digest(X, send=lambda d: None)) == ["2611.00003"]
    info = target.channels.info(X)
    assert info is not None
    assert (info.digest_time, info.timezone, info.cadence, info.max_papers) == (
        "07:30", "Europe/Berlin", "weekdays", 5)
    assert [f.name for f in target.feeds.all()] == ["journal"]
    # Y (paused, never digested) keeps its pause and both topics; its first
    # digest takes the recent papers, not the revised old one.
    paused = target.channels.info(Y)
    assert paused is not None and (paused.paused, paused.paused_reason) == (True, "testing")
    target.channels.resume(Y)
    assert target.channels.topics(Y) == ["breast", "mri -survey"]
    assert ids(target.deliverer.digest(Y, send=lambda d: None)) == ["2611.00001", "2611.00002",
                                                         "2611.00003"]
    # Importing again adds nothing.
    again, counts = target.catalog.import_jsonl(io.StringIO(backup.getvalue()), label="backup")
    assert (again.new, counts.line()) == (0, "channels=0 topics=0 deliveries=0 feeds=0")
    source.close()
    target.close()


def test_an_older_papers_only_export_still_imports(tmp_path: Path, database_url: str) -> None:
    clock = Clock()
    target = open_service(database_url, tmp_path / "ti", clock)
    old = '{"id": "2611.00001", "title": "Breast MRI", "first_seen": "2026-11-01T09:00:00+00:00"}\n'
    bad = '{"kind": "delivery", "channel": "console:local/x", "paper_id": "2611.00001"}\n'
    report, counts = target.catalog.import_jsonl(io.StringIO(old + bad), label="old")
    assert report.new == 1
    assert counts.deliveries == 0 and "old:2: not a delivery record" in counts.problems[0]
