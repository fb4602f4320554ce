"""What the harvest tests share: the fake OAI-PMH interface on a clock that moves only when
slept on, and ``digestbot ARGS`` in this process with that clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.oai_pmh import FakeOaiPmh, serve
from tests.ingest.backfill_helpers import StepClock

__all__ = ["REAL", "Cli", "cli_fixture", "oai_fixture", "real_pages"]

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "real-data" / "arxiv_metadata" / "oai_pmh"


def real_pages() -> list[bytes]:
    """The two real 2016 pages of set cs, in list order (page 1, then page 50)."""
    return [(REAL / f"shishir167_arxiv_cs_ListRecords_{name}.xml").read_bytes()
            for name in ("page1", "page50")]


@pytest.fixture(name="oai")
def oai_fixture(clock: StepClock) -> Iterator[FakeOaiPmh]:
    with serve(clock) as fake:
        yield fake


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(name="cli")
def cli_fixture(tmp_path: Path, capsys, monkeypatch, backend: str, new_database,  # type: ignore[no-untyped-def]
                oai: FakeOaiPmh, clock: StepClock) -> Cli:
    """``digestbot ARGS...`` in this process, the OAI-PMH base URL at the fake."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_OAI_URL", oai.base_url)
    if backend == "postgresql":  # in the environment, for a Service the test opens too
        monkeypatch.setenv("DIGESTBOT_DATABASE_URL", new_database())

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *args],
                    sleep=clock.sleep, monotonic=clock)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
