"""A real `digestbot harvest` process killed with SIGKILL mid-harvest, then run again.

The harvest keeps its position (the next page's resumption token) in
``catalog_meta``, written in the transaction that stores the page's papers.
Killed while a slow server drips its first page, it has stored nothing;
killed after its first page, it has stored that page and the token after
it, in step; run again, it asks for the next page and ends with exactly the
list's papers, none lost and none twice. The last run is in this process,
on a clock that moves only when slept on, so no 3 s wait is waited for.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.search.index import SearchIndex
from bot.store.catalog import meta_values
from bot.store.db import open_database
from bot.store.models import Paper
from tests.fakes.http import serving
from tests.fakes.oai_pmh import FakeOaiPmh, OaiRecord, oai_page
from tests.ingest.backfill_helpers import StepClock
from tests.system.test_run import _env

PER_PAGE = 300


def _ids(first: int, count: int) -> list[str]:
    return [f"2511.{n:05d}" for n in range(first, first + count)]


def _pages() -> list[bytes]:
    total = 3 * PER_PAGE
    return [
        oai_page([OaiRecord(i) for i in _ids(0, PER_PAGE)], token="kill|301", size=total),
        oai_page([OaiRecord(i) for i in _ids(PER_PAGE, PER_PAGE)], token="kill|601",
                 cursor=PER_PAGE, size=total),
        oai_page([OaiRecord(i) for i in _ids(2 * PER_PAGE, PER_PAGE)], cursor=2 * PER_PAGE,
                 size=total),
    ]


@pytest.fixture
def oai() -> Iterator[FakeOaiPmh]:
    with serving(FakeOaiPmh()) as fake:
        yield fake


def _state(database_url: str) -> tuple[list[str], dict[str, object] | None]:
    """The papers stored, and the harvest's position (None when there is none)."""
    db = open_database(database_url)
    try:
        with db.session() as session:
            ids = sorted(session.scalars(select(Paper.id)))
            entered = session.scalar(select(func.max(Paper.entered_revision)))
            found = meta_values(session, "oai_harvest:")
    finally:
        db.dispose()
    assert not ids or entered == 0, "harvested papers are stored as not news"
    values = [json.loads(v) for v in found.values()]
    return ids, values[0] if values else None


def _harvest(tmp_path: Path, database_url: str, oai: FakeOaiPmh) -> subprocess.Popen[bytes]:
    env = _env(tmp_path, database_url, DIGESTBOT_OAI_URL=oai.base_url,
               DIGESTBOT_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "bot", "harvest", "--set", "cs"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def _kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    assert process.returncode == -signal.SIGKILL


def _until(predicate, process: subprocess.Popen[bytes], what: str,  # type: ignore[no-untyped-def]
           timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"digestbot harvest ended (rc={process.returncode}) before "
                                 f"{what}: {out.decode()}{err.decode()}")
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.02)


def test_a_killed_harvest_goes_on_where_it_stopped_nothing_lost_or_doubled(
    tmp_path: Path, database_url: str, oai: FakeOaiPmh, monkeypatch, capsys
) -> None:
    oai.serve(_pages())

    # 1. Killed while the server drips the first page: nothing stored, no position.
    oai.stall()
    process = _harvest(tmp_path, database_url, oai)
    _until(oai.stalled.is_set, process, "the first page's first half")
    _kill(process)
    assert _state(database_url) == ([], None)

    # 2. Killed right after its first page was stored (while it waits its 3 s):
    #    that page's papers and the token after it, together.
    process = _harvest(tmp_path, database_url, oai)
    _until(lambda: _state(database_url)[1] is not None, process, "the first page stored")
    _kill(process)
    ids, state = _state(database_url)
    assert ids == _ids(0, PER_PAGE)
    assert state is not None and state["token"] == "kill|301" and state["pages"] == 1

    # 3. Run again: it asks for the next page, and ends with every paper once.
    monkeypatch.setenv("DIGESTBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGESTBOT_OAI_URL", oai.base_url)
    clock = StepClock()
    code = main(["--data-dir", str(tmp_path / "data"), "harvest", "--set", "cs"],
                sleep=clock.sleep, monotonic=clock)
    out, err = capsys.readouterr()

    assert code == 0, err
    assert out.splitlines() == [f"harvest set=cs pages=2 seen={2 * PER_PAGE} "
                                f"new={2 * PER_PAGE} updated=0 skipped=0 resumed"]
    assert [r.token for r in oai.requests()][-2:] == ["kill|301", "kill|601"]
    ids, state = _state(database_url)
    assert ids == _ids(0, 3 * PER_PAGE)
    assert state is not None and state["token"] is None and not state["running"]
    # The search index holds them all too, each once, the first page's included.
    db = open_database(database_url)
    try:
        index = SearchIndex.open(tmp_path / "data" / "index", catalog_id=db.catalog_id)
        assert index.num_docs == 3 * PER_PAGE
    finally:
        db.dispose()
