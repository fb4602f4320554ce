"""Feed and storage faults, through the real `digestbot ingest` and `digestbot run`.

- ``FEEDS``: the feed server fails one way (a row), then serves the feed:
  the failing ingest says so in one line per feed (no traceback), and the
  next good fetch stores every paper, once.
- A database this user may only read: ``digestbot run`` and ``digestbot
  ingest`` stop with one line and exit 1.
- Ingests of one feed at once (four processes): every paper once.
- The disk full (a file size limit, ``RLIMIT_FSIZE``, on the process): one
  line saying so, exit 1, and nothing stored before lost; the same ingest
  with room stores everything.

To add a feed fault, add a ``FeedFault`` row.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.chat.service import Service
from bot.store.models import Paper
from tests.fakes.feed_server import FEEDS_DIR, Answer, FakeFeedServer, error, feed, html_page
from tests.fakes.http import serving
from tests.faults.harness import seed, settings_for
from tests.system.test_run import _env
from tests.test_cli import AS_ROOT, NOT_OWNER, _hand_over

pytestmark = pytest.mark.system

GOOD = "arxiv-rss-announce.xml"  # 4 papers
GOOD_PAPERS = 4
TIMEOUT = 5  # the least feed_timeout allowed


@pytest.fixture
def backend() -> str:
    """SQLite: its files are what these faults break (PostgreSQL keeps its own)."""
    return "sqlite"


@dataclass(frozen=True)
class FeedFault:
    name: str
    bad: Answer
    says: str  # in the failing ingest's line for the feed

    def __str__(self) -> str:
        return self.name


_WHOLE = (FEEDS_DIR / GOOD).read_bytes()

FEEDS = [
    FeedFault("500", error(500), "500"),
    FeedFault("truncated-xml", Answer(body=_WHOLE[: len(_WHOLE) * 2 // 3]), "malformed"),
    FeedFault("timeout", feed(GOOD, delay=TIMEOUT + 0.5), "timed out"),
    FeedFault("html-not-a-feed", html_page(), "not a feed: got text/html"),
]


def _ingest(tmp_path: Path, database_url: str, *targets: str, **env: str
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "ingest", *targets], check=False,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env=_env(tmp_path, database_url, DIGESTBOT_LOG_LEVEL="WARNING", **env))


def _papers(tmp_path: Path, database_url: str) -> list[str]:
    service = Service.open(settings_for(tmp_path, database_url))
    try:
        with service.db.session() as session:
            return list(session.scalars(select(Paper.id)))
    finally:
        service.close()


@pytest.mark.parametrize("fault", FEEDS, ids=str)
def test_a_feed_that_fails_then_recovers_loses_nothing(
    tmp_path: Path, database_url: str, fault: FeedFault
) -> None:
    with serving(FakeFeedServer()) as server:
        url = server.route("/rss/cs.CV", fault.bad, feed(GOOD))
        failed = _ingest(tmp_path, database_url, url, DIGESTBOT_FEED_TIMEOUT=str(TIMEOUT))
        good = _ingest(tmp_path, database_url, url, DIGESTBOT_FEED_TIMEOUT=str(TIMEOUT))
    for done in (failed, good):
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = failed.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"feed={url} "), failed.stdout
    assert fault.says.lower() in lines[0].lower(), lines[0]
    assert len(failed.stderr.splitlines()) == 1, failed.stderr  # the summary
    assert good.returncode == 0, good.stderr
    papers = _papers(tmp_path, database_url)
    lost = GOOD_PAPERS - len(set(papers))
    duplicated = len(papers) - len(set(papers))
    assert (len(set(papers)), lost, duplicated) == (GOOD_PAPERS, 0, 0), good.stdout


# -- a database this user may only read ----------------------------------------------------


@pytest.mark.skipif(AS_ROOT and not shutil.which("setpriv"),
                    reason="needs setpriv to act as another user")
@pytest.mark.parametrize("verb", [["run", "--no-console"], ["ingest", str(FEEDS_DIR / GOOD)]],
                         ids=["run", "ingest"])
def test_a_read_only_database_stops_in_one_line(tmp_path: Path, verb: list[str]) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'digestbot.sqlite3'}"
    seed(settings_for(tmp_path, url), "console:local/general", 3)
    _hand_over(data)
    env = _env(tmp_path, url, DIGESTBOT_LOG_LEVEL="WARNING")
    done = subprocess.run([*(NOT_OWNER if AS_ROOT else []), sys.executable, "-m", "bot", *verb],
                          check=False, capture_output=True, text=True, cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, timeout=60)
    said = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 1, said
    assert said == [f"digestbot: The database {(data / 'digestbot.sqlite3').resolve()} is "
                    "read-only for this user, who cannot change it: run this as the user who "
                    "owns it."], said
    assert len(_papers(tmp_path, url)) == 3


# -- ingests of one feed at once ---------------------------------------------------------


INGESTS = 4  # at once: more make the race to create the index at start more likely


def test_ingests_of_one_feed_at_once_store_each_paper_once(
    tmp_path: Path, database_url: str
) -> None:
    big = _big_feed(tmp_path / "big.xml", 400)
    with serving(FakeFeedServer()) as server:
        # Both fetches answered together, both stores at the same moment.
        url = server.route("/big", Answer(body=big.read_bytes(), delay=0.5))
        env = _env(tmp_path, database_url, DIGESTBOT_LOG_LEVEL="WARNING")
        both = [subprocess.Popen([sys.executable, "-m", "bot", "ingest", url], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(INGESTS)]
        outputs = [p.communicate(timeout=60) for p in both]
    for process, (out, err) in zip(both, outputs, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in out + err, err
    papers = _papers(tmp_path, database_url)
    assert (len(papers), len(set(papers))) == (400, 400)


# -- the disk full -----------------------------------------------------------------------------

LIMIT = 1_000_000  # bytes any file of the process may reach: the -wal file hits it first


def _file_size_limit() -> None:
    # In the child before exec: over the limit a write fails (EFBIG) instead of
    # killing the process with SIGXFSZ, as a full disk fails it (ENOSPC).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_the_disk_full_says_so_in_one_line_and_loses_nothing(
    tmp_path: Path, database_url: str
) -> None:
    seed(settings_for(tmp_path, database_url), "console:local/general", 3)
    before = set(_papers(tmp_path, database_url))
    big = _big_feed(tmp_path / "big.xml", 3000)
    done = subprocess.run([sys.executable, "-m", "bot", "ingest", str(big)], check=False,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env=_env(tmp_path, database_url, DIGESTBOT_LOG_LEVEL="WARNING"),
                          preexec_fn=_file_size_limit)
    said = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 1, said
    assert len(said) == 1 and said[0].startswith("digestbot: The disk holding the database"), said
    assert "is full" in said[0] and "nothing stored before was lost" in said[0]
    assert set(_papers(tmp_path, database_url)) >= before  # kept, whatever was rolled back

    again = _ingest(tmp_path, database_url, str(big))
    assert again.returncode == 0, again.stderr
    papers = _papers(tmp_path, database_url)
    assert len(papers) == len(set(papers)) == 3000 + len(before)


def _big_feed(path: Path, count: int) -> Path:
    """An arXiv-style RSS feed of ``count`` papers of about 1.3 KB each."""
    abstract = "Breast MRI lesions segmented with a model of many words. " * 20
    items = "".join(
        f"<item><title>Breast MRI paper {n}</title>"
        f"<link>https://arxiv.org/abs/2612.{n:05d}</link>"
        f"<guid isPermaLink=\"false\">oai:arXiv.org:2612.{n:05d}v1</guid>"
        f"<description>arXiv:2612.{n:05d}v1 Announce Type: new Abstract: {abstract}"
        "</description></item>" for n in range(count))
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                    "<title>big</title><link>https://example.org/</link><description>big"
                    f"</description>{items}</channel></rss>", encoding="utf-8")
    assert os.path.getsize(path) > 1000 * count
    return path
