"""What the hostile sweep shares: the CLI run in-process on one seeded data directory
per module, and a service on one seeded catalog per module (the sweep stays fast)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.cli import main
from bot.search.index import SearchIndex
from bot.store.db import open_database
from tests.conftest import SEEDS_DIR

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
Cli = Callable[..., tuple[int, str, str]]


def cli_runner(data: Path) -> Cli:
    def invoke(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["--data-dir", str(data), *args])
            except SystemExit as exc:  # argparse's usage error, as the real command exits
                code = exc.code if isinstance(exc.code, int) else 2
        return code, out.getvalue(), err.getvalue()

    return invoke


def assert_one_line_outcome(code: int, out: str, err: str) -> None:
    """Exit 0, 1 or 2; no traceback; at most one error line."""
    assert code in (0, 1, 2), (code, out[-500:], err[-500:])
    assert "Traceback" not in out + err, err[-2000:]
    errors = [line for line in err.splitlines() if line.startswith("digestbot")
              and not line.startswith("digestbot: created a new catalog")]
    assert len(errors) <= 1, err[-2000:]
    if code == 1:
        assert len(errors) == 1, err[-2000:]
        assert len(errors[0]) <= 2000


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """`digestbot ...` on one seeded SQLite data directory for the module."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("DIGESTBOT_")}
    for name in saved:
        if name != "DIGESTBOT_FEEDS":
            del os.environ[name]
    invoke = cli_runner(tmp_path_factory.mktemp("hostile-cli") / "data")
    code, _, err = invoke("seed")
    assert code == 0, err
    yield invoke
    os.environ.update(saved)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service on one seeded SQLite catalog for the module."""
    root = tmp_path_factory.mktemp("hostile-service")
    db = open_database(f"sqlite:///{root / 'catalog.sqlite3'}")
    index = SearchIndex.open(root / "index", catalog_id=db.catalog_id)
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.ingestion.import_seed_files([SEEDS_DIR])
    yield service
    db.dispose()
