"""Several bot processes on one PostgreSQL database never post a channel's
papers twice: a channel being posted to is locked (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.digest.ledger import DigestInProgress
from bot.model.messages import Digest, NothingNew
from bot.model.papers import PaperRecord
from bot.search.index import SearchIndex
from bot.store.db import open_database

GENERAL = "console:local/general"
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def open_service(url: str, index_dir: Path) -> Service:
    db = open_database(url)
    return Service(db=db, index=SearchIndex.open(index_dir, catalog_id=db.catalog_id),
                   clock=lambda: NOW)


@pytest.mark.postgresql
def test_a_channel_being_posted_by_one_process_is_left_alone_by_another(
    postgresql_database, tmp_path: Path
) -> None:
    url = postgresql_database()
    first, second = open_service(url, tmp_path / "a"), open_service(url, tmp_path / "b")
    first.catalog.import_records([PaperRecord(id=f"2611.0000{n}", title=f"Breast study {n}")
                          for n in range(1, 4)])
    second.catalog.sync_index()
    first.channels.subscribe(GENERAL, "breast")
    posting, release = threading.Event(), threading.Event()
    posts: list[tuple[str, list[str]]] = []

    def slow(message: Digest | NothingNew) -> None:
        assert isinstance(message, Digest)
        posts.append(("first", [item.paper_id for item in message.items]))
        posting.set()
        assert release.wait(20)

    def other(message: Digest | NothingNew) -> None:
        assert isinstance(message, Digest)
        posts.append(("second", [item.paper_id for item in message.items]))

    run = threading.Thread(target=first.deliverer.run_scheduled, args=({GENERAL: NOW},),
                           kwargs={"send": slow})
    run.start()
    try:
        assert posting.wait(20)
        with pytest.raises(DigestInProgress):
            second.deliverer.digest(GENERAL, send=other)
        assert second.deliverer.run_scheduled({GENERAL: NOW}, send=other) == []
    finally:
        release.set()
        run.join(20)
    assert posts == [("first", ["2611.00001", "2611.00002", "2611.00003"])]
    # Confirmed by the first process: the second finds nothing new, today or later.
    assert second.deliverer.run_scheduled({GENERAL: NOW}, send=other) == []
    assert second.deliverer.digest(GENERAL, send=other) is None
    assert len(posts) == 1
    first.close()
    second.close()
