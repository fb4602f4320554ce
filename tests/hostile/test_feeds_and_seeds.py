"""Hostile paper titles, abstracts and authors through a feed file (`digestbot ingest FILE`)
and a seed file (`digestbot seed FILE`), then shown in Slack and Discord digests: every
record stored whole or refused, the command's answer one line, every message harmless."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from bot.chat.service import Service
from bot.ingest.arxiv import ARXIV_NS
from bot.ingest.feeds import parse_feed
from bot.ingest.seeds import parse_seed_text
from bot.search.index import SearchIndex
from bot.store.db import open_database
from bot.store.models import Paper
from tests.chat.test_commands import Channel
from tests.hostile.cases import CASES
from tests.hostile.conftest import NOW, assert_one_line_outcome, cli_runner
from tests.hostile.test_chat import assert_digest_safe, assert_reply_safe

# What XML 1.0 cannot carry at all (a feed with it is refused whole, tested apart).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
PUB = "Fri, 27 Nov 2026 00:00:00 +0000"


def _rss(texts: list[str]) -> str:
    items = "".join(
        f"<item><title>Breast MRI {escape(t)}</title>"
        f"<link>https://arxiv.org/abs/2611.{n:05d}</link>"
        f"<description>arXiv:2611.{n:05d}v1 Announce Type: new\nAbstract: breast MRI {escape(t)}"
        f"</description><guid isPermaLink=\"false\">oai:arXiv.org:2611.{n:05d}v1</guid>"
        f"<category>eess.IV</category><pubDate>{PUB}</pubDate>"
        f"<dc:creator>{escape(t)}, Ann Lee</dc:creator></item>"
        for n, t in enumerate(texts, start=1)
    )
    return (
        '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        f"<title>eess.IV updates on arXiv.org</title><link>http://rss.arxiv.org/rss/eess.IV</link>"
        f"<description>x</description>{items}</channel></rss>"
    )


def _counts(out: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(seen|new|updated|skipped)=(\d+)", out)}


def _stored(data: Path) -> int:
    db = open_database(f"sqlite:///{data / 'digestbot.sqlite3'}")
    try:
        with db.session() as session:
            return int(session.scalar(select(func.count()).select_from(Paper)) or 0)
    finally:
        db.dispose()


def _digests(data: Path, *, digest: bool = True) -> None:
    """Every paper of the catalog shown (`/papers show ID`) and, for fresh papers, in
    digests, rendered for Slack and Discord."""
    db = open_database(f"sqlite:///{data / 'digestbot.sqlite3'}")
    try:
        index = SearchIndex.open(data / "index", catalog_id=db.catalog_id)
        service = Service(db=db, index=index, clock=lambda: NOW)
        channel = Channel(service, name="feed")
        service.channels.subscribe(channel.address, "breast mri")
        service.channels.set_max_papers(channel.address, 100)
        with db.session() as session:
            ids = list(session.scalars(select(Paper.id)))
        assert ids
        for paper_id in ids:
            shown = channel.say(f"/papers show {paper_id}")
            assert shown.items, shown.text
            assert_reply_safe(shown)
        if digest:
            reply = channel.say("/papers digest")
            assert channel.posted, reply.text
            for posted in channel.posted:
                assert_digest_safe(posted)
    finally:
        db.dispose()


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DIGESTBOT_") and name != "DIGESTBOT_FEEDS":
            monkeypatch.delenv(name)


def test_feed_file(tmp_path: Path) -> None:
    feed = tmp_path / "hostile.rss"
    feed.write_text(_rss([_NOT_XML.sub("", c.text) for c in CASES]), "utf-8")
    data = tmp_path / "data"
    code, out, err = cli_runner(data)("ingest", str(feed))
    assert_one_line_outcome(code, out, err)
    assert code == 0, err
    _digests(data)


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\ud800", "<unclosed", "&undefined;"])
def test_feed_file_xml_cannot_carry_is_refused_in_one_line(tmp_path: Path, bad: str) -> None:
    feed = tmp_path / "bad.rss"
    feed.write_bytes(_rss(["fine"]).replace("fine", bad).encode("utf-8", "surrogatepass"))
    data = tmp_path / "data"
    code, out, err = cli_runner(data)("ingest", str(feed))
    assert_one_line_outcome(code, out, err)
    if data.exists() and (data / "digestbot.sqlite3").exists():
        assert _stored(data) in (0, 1)  # the paper whole, or nothing


def test_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "hostile.txt"
    seed.write_text(_seed_text([case.text for case in CASES]), "utf-8", errors="surrogatepass")
    data = tmp_path / "data"
    code, out, err = cli_runner(data)("seed", str(seed))
    assert_one_line_outcome(code, out, err)
    counts = _counts(out)
    # Each record counted once (two that clean to the same title are one paper).
    assert counts["seen"] >= counts["new"] + counts["updated"] + counts["skipped"] >= counts["seen"] - 1
    assert "\x1b" not in out + err
    assert _stored(data) == counts["new"]  # whole or refused
    _digests(data, digest=False)  # seeds are the back catalog: no digest brings them


def _seed_text(texts: list[str]) -> str:
    lines = []
    for text in texts:
        flat = " ".join(text.splitlines()) or "x"
        lines += ["IVNov 27, 2026", f"Breast MRI {flat}Ann Lee, Bob Roe", f"breast MRI {flat}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("verb", ["ingest", "seed"])
def test_one_huge_word_is_read_quickly(tmp_path: Path, verb: str) -> None:
    """One 100,000-character word as title, abstract and author: once ~34 s to ingest
    (feedparser's author e-mail search, see bot.ingest.feedmail), now well under 1 s."""
    import os
    import subprocess
    import sys

    [case] = [c for c in CASES if c.name == "one-long-word"]
    path = tmp_path / ("huge.rss" if verb == "ingest" else "huge.txt")
    path.write_text(_rss([case.text]) if verb == "ingest" else _seed_text([case.text]), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTBOT_")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), verb, str(path)],
            check=False, capture_output=True, text=True, timeout=5,
            env={**env, "DIGESTBOT_FEEDS": ""},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{verb} of one 100 KB word took more than 5 s")
    assert_one_line_outcome(done.returncode, done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    if verb == "ingest":
        assert _stored(tmp_path / "data") == 1  # stored whole: feeds cap no field
    else:  # a seed's title/author line is capped, and the record named by its line
        assert "huge.txt:2: the title/author line is 100,027 characters long" in done.stdout + done.stderr


def _best_time(read: Callable[[], object], *, runs: int = 3, give_up: float = 3.0) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        read()
        spent = time.process_time() - started
        if spent > give_up:
            pytest.fail(f"one reading took {spent:.1f} s of CPU")
        best = min(best, spent)
    return best


_LONG_WORD_READERS: dict[str, Callable[[str], object]] = {
    # feedparser's reading (no arXiv namespace): the word in title, abstract and author.
    "feed": lambda word: parse_feed(_rss([word]).encode(), source="t"),
    "feed, author with @": lambda word: parse_feed(_rss([word + "@"]).encode(), source="t"),
    "feed, arXiv reader": lambda word: parse_feed(
        _rss([word]).replace("<rss ", f'<rss xmlns:arxiv="{ARXIV_NS}" ').encode(), source="t"),
    "seed, title": lambda word: parse_seed_text(_seed_text([word]), path="s.txt"),
    "seed, abstract": lambda word: parse_seed_text(
        f"IVNov 27, 2026\nBreast MRIAnn Lee, Bob Roe\nbreast MRI {word}\n", path="s.txt"),
}


@pytest.mark.parametrize("reader", list(_LONG_WORD_READERS))
def test_one_long_word_costs_time_linear_in_its_length(reader: str) -> None:
    """Twice the word, at most ~twice the work (CPU time, best of three): a quadratic
    step costs four times as much, and at 100,000 characters seconds."""
    read = _LONG_WORD_READERS[reader]
    half, whole = (_best_time(lambda n=n: read("x" * n)) for n in (50_000, 100_000))
    assert whole < 3 * half + 0.05, f"50 KB: {half:.3f} s, 100 KB: {whole:.3f} s"
