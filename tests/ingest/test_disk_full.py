"""A full disk during `digestbot seed` or `digestbot ingest`: one line, nothing lost.

The disk is made full the way SQLite sees it: every connection's
``max_page_count`` is set to the pages the database holds when it opens, so
the first write that needs one more page fails with SQLITE_FULL ("database
or disk is full"), as on a full file system.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from bot.cli import main
from tests.fakes.feed_server import (  # noqa: F401  (registers the feed_server fixture)
    Answer,
    FakeFeedServer,
    feed_server_fixture,
)

GOOD = ["CVApr 15, 2023Code", "First Good PaperAnna Berg, Carl Dahl et al.", "Abstract A."]
FILLER = "Lesion segmentation with many words to fill the pages of the database. " * 30


@pytest.fixture
def cli(tmp_path: Path, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_FEEDS", "")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def _no_more_pages(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    (pages,) = dbapi_connection.execute("PRAGMA page_count").fetchone()
    dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")


def big_seed(path: Path) -> Path:
    lines = []
    for n in range(300):
        lines += [f"CVMay {n % 28 + 1}, 2023", f"Filler Paper {n}Eva Falk", f"{FILLER} {n}"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def big_feed(path: Path) -> Path:
    items = "".join(
        f"<item><title>Filler Paper {n}</title><link>https://j.example.org/{n}</link>"
        f"<description>{FILLER} {n}</description><guid>https://j.example.org/{n}</guid></item>\n"
        for n in range(300)
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Journal</title><link>https://j.example.org/</link>\n{items}</channel></rss>\n",
        "utf-8",
    )
    return path


@pytest.mark.parametrize(("verb", "make"), [("seed", big_seed), ("ingest", big_feed)])
def test_a_full_disk_is_one_line_and_the_catalog_is_unchanged(
    cli, tmp_path: Path, verb: str, make  # type: ignore[no-untyped-def]
) -> None:
    good = tmp_path / "good.txt"
    good.write_text("\n".join(GOOD) + "\n", "utf-8")
    assert cli("seed", str(good))[0] == 0
    big = make(tmp_path / "big.txt")
    _, before, _ = cli("export")

    event.listen(Engine, "connect", _no_more_pages)
    try:
        code, out, err = cli(verb, str(big))
    finally:
        event.remove(Engine, "connect", _no_more_pages)

    assert code == 1
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("digestbot: The disk holding the database sqlite:///")
    assert line.endswith(
        " is full (database or disk is full): what was being written was rolled back and "
        "nothing stored before was lost. Free some space and try again.")
    _, after, _ = cli("export")
    assert after == before
    code, out, _ = cli("search", "filler")
    assert code == 0 and "No papers match" in out


def test_a_full_disk_is_no_failure_of_a_listed_feed(
    cli, tmp_path: Path, feed_server: FakeFeedServer
) -> None:
    body = big_feed(tmp_path / "big.rss").read_bytes()
    url = feed_server.route("/journal.rss", Answer(body=body), Answer(body=body))
    assert cli("feeds", "add", url, "--name", "journal", "--no-check")[0] == 0

    event.listen(Engine, "connect", _no_more_pages)
    try:
        code, out, err = cli("ingest", "journal")
    finally:
        event.remove(Engine, "connect", _no_more_pages)

    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("digestbot: The disk holding the database"), err
    code, out, _ = cli("feeds", "list")
    assert "error" not in out and "failure" not in out, out
    assert cli("ingest", "journal")[1].startswith("feed=journal status=200 seen=300 new=300")


def test_the_bots_scheduled_ingest_on_a_full_disk_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from bot.chat.scheduler import DigestScheduler
    from bot.chat.service import Service
    from bot.search.index import SearchIndex
    from bot.store.db import open_database

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    big_seed(seeds / "big.txt")
    db = open_database(f"sqlite:///{tmp_path / 'bot.db'}")
    index = SearchIndex.open(tmp_path / "index", catalog_id=db.catalog_id)
    service = Service(db=db, index=index, seeds_dir=seeds)
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    async def run_once() -> None:
        scheduler = DigestScheduler(
            channels=service.channels.scheduled, run=lambda due: None, clock=lambda: now,
            ingest=service.ingestion.run, ingest_every=timedelta(hours=1),
        )
        scheduler.start()  # the first ingest runs at once
        for _ in range(200):
            if any("ingest failed" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        await scheduler.stop()

    db.engine.dispose()  # new connections get the full disk
    event.listen(Engine, "connect", _no_more_pages)
    try:
        with caplog.at_level("ERROR", logger="bot.chat.scheduler"):
            asyncio.run(run_once())
    finally:
        event.remove(Engine, "connect", _no_more_pages)
    (record,) = [r for r in caplog.records if "ingest failed" in r.getMessage()]
    assert record.exc_info is None
    assert "is full (database or disk is full)" in record.getMessage()
    assert record.getMessage().endswith("it runs again in 1:00:00")
