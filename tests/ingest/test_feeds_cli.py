"""`digestbot feeds add` and `digestbot ingest` as a user runs them, against a local feed host.

Most cases call the command in this process (``bot.cli.main``); what the
command logs is seen only from a real process, so those cases start
``python -m bot`` as a user's shell would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from tests.fakes.feed_server import (
    Answer,
    FakeFeedServer,
    error,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the feed_server fixture)
    html_page,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path: Path, capsys, monkeypatch, backend: str, new_database):  # type: ignore[no-untyped-def]
    """``digestbot ARGS...`` in this process, on this test's backend (by --database on
    PostgreSQL, the data directory's own file on SQLite)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_FEEDS", "")
    database = ["--database", new_database()] if backend == "postgresql" else []

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *database, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def rss(*items: str, tail: str = "</channel></rss>\n") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>\n'
        "<title>Journal of Examples</title><link>https://journal.example.org/</link>\n"
        + "".join(items) + tail
    )


def item(number: int, title: str = "") -> str:
    return (
        f"<item>\n<title>{title or f'Paper number {number}'}</title>\n"
        f"<link>https://journal.example.org/papers/{number}</link>\n"
        f"<description>What paper {number} found.</description>\n"
        f"<guid>https://journal.example.org/papers/{number}</guid>\n</item>\n"
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- feeds add: one look before saving ----------------------------------------


def test_feeds_add_fetches_once_and_stores_what_it_found(cli, feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml", etag='"1"'))
    code, out, err = cli("feeds", "add", url, "--name", "cv")
    assert code == 0, err
    assert out.splitlines() == [
        f"Added feed cv ({url}): 4 entries found; 4 new papers stored.",
        "Next: `digestbot run` reads it every 60 minutes.",
    ]
    assert len(feed_server.requests_to("/rss/cs.CV")) == 1
    code, out, _ = cli("search", "segnet")
    assert "SegNet-X" in out
    # The check was the feed's first fetch: the next one is a conditional GET.
    code, out, _ = cli("ingest", "cv")
    assert out.strip() == "feed=cv status=304 unchanged"
    assert feed_server.requests_to("/rss/cs.CV")[1].if_none_match == '"1"'
    [listed] = json.loads(cli("feeds", "list", "--json")[1])
    assert (listed["name"], listed["papers_added"], listed["status"]) == ("cv", 4, "unchanged")
    # Adding it again changes nothing and fetches nothing.
    code, out, _ = cli("feeds", "add", url)
    assert (code, out.strip()) == (0, f"Feed cv is already listed ({url}).")
    assert len(feed_server.requests_to("/rss/cs.CV")) == 2


def test_feeds_add_says_what_it_skipped_and_takes_an_empty_feed(
    cli, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route("/journal.rss", feed("generic-journal-rss20.xml"))
    code, out, err = cli("feeds", "add", url, "--name", "journal")
    assert code == 0
    assert out.splitlines()[0] == (
        f"Added feed journal ({url}): 6 entries found, 1 skipped; 5 new papers stored.")
    assert "  entry 5 (title 'An entry with nothing to identify it'): no id, link or DOI; " \
        "skipped" in err.splitlines()
    # An arXiv listing on a weekend holds nothing, and is a feed all the same.
    empty = feed_server.route("/rss/eess.IV", feed("arxiv-rss-weekend-empty.xml"))
    code, out, _ = cli("feeds", "add", empty, "--name", "iv")
    assert code == 0 and out.startswith(f"Added feed iv ({empty}): no entries right now")


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (None, "answered HTTP 404 Not Found. Check the URL, or add it unchecked with --no-check."),
        (error(503), "answered HTTP 503 Service Unavailable. Check the URL, or add it unchecked"),
        (html_page(), ("is not a feed: got text/html ('503 Service Unavailable'). Give the "
                       "feed's own URL")),
        (Answer(body=b'{"papers": []}', content_type="application/json"),
         "is not a feed: the document is not an RSS or Atom feed"),
        (Answer(body=b""), "is not a feed: the response was empty, not a feed."),
        (Answer(body=rss("<item><title>No way to name it</title></item>\n").encode()),
         ("is not a feed: its one entry is no paper (entry 1 (title 'No way to name it'): "
          "no id, link or DOI; skipped). Give the feed's own URL")),
    ],
    ids=["404", "503", "html-page", "json", "empty-body", "no-paper"],
)
def test_feeds_add_refuses_a_url_that_gives_no_feed(
    cli, feed_server: FakeFeedServer, answer: Answer | None, said: str
) -> None:
    url = feed_server.route("/feed", answer) if answer else f"{feed_server.url}/missing"
    code, out, err = cli("feeds", "add", url, "--name", "bad")
    assert (code, out) == (1, "")
    [line] = [line for line in err.splitlines() if "created a new catalog" not in line]
    assert line.startswith(f"digestbot: Not added: {url} ") and said in line
    assert "--no-check" in line and "Traceback" not in err
    assert json.loads(cli("feeds", "list", "--json")[1]) == []
    assert cli("search", "paper")[1].startswith("No papers match")


def test_feeds_add_refuses_a_host_that_does_not_answer(cli) -> None:
    url = f"http://127.0.0.1:{closed_port()}/rss"
    code, out, err = cli("feeds", "add", url)
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"digestbot: Not added: could not fetch {url}: connection refused. Check the URL and "
        "that the site is up, or add it unchecked with --no-check.")
    assert json.loads(cli("feeds", "list", "--json")[1]) == []


def test_feeds_add_no_check_saves_without_fetching(cli, feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/later", error(503))
    code, out, _ = cli("feeds", "add", url, "--name", "later", "--no-check")
    assert code == 0
    assert out.splitlines() == [
        f"Added feed later ({url}), unchecked.",
        "Next: `digestbot ingest later` reads it now; `digestbot run` reads it every 60 minutes.",
    ]
    assert feed_server.requests_to("/later") == []
    [listed] = json.loads(cli("feeds", "list", "--json")[1])
    assert (listed["name"], listed["status"]) == ("later", "new")


def test_feeds_add_checks_a_disabled_feed_before_enabling_it(
    cli, feed_server: FakeFeedServer, monkeypatch
) -> None:
    url = feed_server.route("/rss/cs.CV", error(500), feed("arxiv-rss-announce.xml"))
    monkeypatch.setenv("DIGESTBOT_FEEDS", url)  # a configured feed: removing it disables it
    code, out, _ = cli("feeds", "remove", "127.0.0.1-cs.CV")
    assert code == 0 and "kept as disabled" in out
    code, _, err = cli("feeds", "add", url)
    assert code == 1 and "answered HTTP 500 Internal Server Error" in err
    [listed] = json.loads(cli("feeds", "list", "--json")[1])
    assert listed["status"] == "disabled"
    code, out, _ = cli("feeds", "add", url)
    assert code == 0
    assert out.startswith(f"Enabled feed 127.0.0.1-cs.CV again ({url}): 4 entries found")
    [listed] = json.loads(cli("feeds", "list", "--json")[1])
    assert (listed["status"], listed["papers_added"]) == ("ok", 4)


def test_feeds_add_refuses_a_bad_name_before_fetching(cli, feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/rss", feed("arxiv-rss-announce.xml"))
    cli("feeds", "add", url, "--name", "cv")
    other = feed_server.route("/other", feed("arxiv-rss-announce.xml"))
    for name, said in [("two words", "is not usable"), ("cv", "exists already")]:
        code, _, err = cli("feeds", "add", other, "--name", name)
        assert code == 1 and said in err
    assert feed_server.requests_to("/other") == []


# -- ingest: each failure said once, with advice that fits -------------------


def digestbot(data_dir: Path, *args: str, feeds: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m bot --data-dir DATA ARGS...`` with the feeds setting ``feeds``."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, env=dict(os.environ, DIGESTBOT_FEEDS=feeds), cwd=REPO,
        timeout=60, check=False,
    )


def test_a_failing_feed_is_said_once_by_ingest(tmp_path: Path, feed_server: FakeFeedServer) -> None:
    good = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    down = feed_server.route("/down", error(503))
    done = digestbot(tmp_path / "data", "ingest", feeds=f"{good} {down}")
    assert done.returncode == 1
    said = (done.stdout + done.stderr).count('feed=127.0.0.1-down status=error error="HTTP 503')
    assert said == 1, done.stdout + done.stderr
    assert "WARNING" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "2 feeds: 4 new papers, 0 updated; failed: 127.0.0.1-down (`digestbot feeds list` "
        "says why).")


def test_a_failing_feed_is_logged_once_by_the_bot(tmp_path: Path, feed_server: FakeFeedServer) -> None:
    down = feed_server.route("/down", error(503))
    data = tmp_path / "data"
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "--data-dir", str(data), "run", "--console"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, DIGESTBOT_FEEDS=down), cwd=REPO,
    )
    try:
        # The bot reads its feeds as it starts: wait until the failure is recorded.
        deadline = time.monotonic() + 30
        failures = 0
        while not failures and time.monotonic() < deadline:
            time.sleep(0.1)
            listed = digestbot(data, "feeds", "list", "--json", feeds=down).stdout
            failures = json.loads(listed or "[{}]")[0].get("failures", 0)
        assert failures == 1
        _, err = bot.communicate("quit\n", timeout=30)
    finally:
        bot.kill()
        bot.wait()
    lines = [line for line in err.splitlines() if "feed=127.0.0.1-down" in line]
    assert len(lines) == 1, err
    assert lines[0].startswith(
        'WARNING bot.ingest.run: feed=127.0.0.1-down status=error error="HTTP 503 Service '
        'Unavailable" failures=1 next_try=')


def test_ingest_of_a_bad_file_advises_fixing_the_file(cli, tmp_path: Path) -> None:
    page = tmp_path / "saved.rss"
    page.write_bytes((Path(__file__).parent / "feeds" / "html-error-page.html").read_bytes())
    code, out, err = cli("ingest", "saved.rss")
    assert code == 1
    assert out.startswith("feed=saved.rss status=error error=")
    assert err.splitlines()[-1] == (
        "1 feed: 0 new papers, 0 updated; failed: saved.rss (fix the file and run "
        "`digestbot ingest saved.rss` again).")


def test_ingest_of_a_bad_url_advises_checking_the_url(cli, feed_server: FakeFeedServer) -> None:
    url = f"{feed_server.url}/gone"
    code, out, err = cli("ingest", url)
    assert code == 1
    assert out.strip() == f'feed={url} status=error error="HTTP 404 Not Found"'
    assert err.splitlines()[-1] == (
        f"1 feed: 0 new papers, 0 updated; failed: {url} (check the URL and run "
        f"`digestbot ingest {url}` again).")


# -- malformed XML: what came before the break is kept ------------------------

FEEDS = Path(__file__).parent / "feeds"
TRUNCATED = "malformed-rss091-truncated.xml"  # cut off in item 3
CONTROL_CHAR = "malformed-rss091-control-char.xml"  # U+0001 in item 3's title


@pytest.mark.parametrize(
    ("fixture", "counts", "malformed"),
    [
        (TRUNCATED, "seen=3 new=2 updated=0 skipped=1", "at line 23, column 10: unclosed token"),
        (CONTROL_CHAR, "seen=4 new=3 updated=0 skipped=1",
         "at line 22, column 33: not well-formed (invalid token)"),
    ],
    ids=["truncated", "control-char"],
)
def test_ingest_of_a_broken_file_keeps_the_papers_before_the_break(
    cli, tmp_path: Path, fixture: str, counts: str, malformed: str
) -> None:
    broken = tmp_path / "broken.rss"
    broken.write_bytes((FEEDS / fixture).read_bytes())
    code, out, err = cli("ingest", "broken.rss")
    assert code == 0
    assert out.strip() == (
        f'feed=broken.rss status=file {counts} malformed="not well-formed XML {malformed}"')
    assert err.splitlines()[-1].endswith(
        "; kept what parsed before the XML error in broken.rss (fix the file and ingest it "
        "again for the rest).")
    code, out, _ = cli("search", "knee OR sparse-view OR polyp")
    assert "Federated Learning for Knee MRI" in out
    assert "Sparse-View CT Reconstruction with Score Models" in out
    assert "Polyp" not in out


def test_a_served_feed_cut_short_keeps_the_papers_before_the_break(
    cli, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route("/journal.rss", feed(TRUNCATED))
    code, out, err = cli("feeds", "add", url, "--name", "journal")
    assert code == 0
    assert out.splitlines()[0] == (
        f"Added feed journal ({url}): 3 entries found, 1 skipped; 2 new papers stored.")
    assert "  not well-formed XML at line 23, column 10: unclosed token; kept what parsed" \
        in err.splitlines()
    code, out, _ = cli("feeds")
    assert "note: malformed XML, kept what parsed: not well-formed XML at line 23" in out
