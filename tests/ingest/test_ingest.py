"""Feed ingestion end to end: a real catalog, the real fetcher, a local feed server."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.cli import main
from bot.ingest.fetch import Fetcher
from bot.ingest.registry import MAX_FAILURES, FeedError, feed_name_for
from bot.model.papers import PaperRecord
from bot.store.catalog import get_paper, upsert_papers
from tests.fakes.feed_server import (
    Answer,
    FakeFeedServer,
    error,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the feed_server fixture)
    html_page,
    huge,
    redirect,
)

GENERAL = "console:local/general"
START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_service(db, index, clock, feeds=(), **fetch) -> Service:  # type: ignore[no-untyped-def]
    fetcher = Fetcher(connect_timeout=2, read_timeout=2, deadline=5, **fetch)
    return Service(db=db, index=index, clock=clock, feeds=feeds, fetcher=fetcher)


def item(arxiv: str, version: int, announce: str, title: str, *, categories=("cs.CV",),
         abstract: str = "", doi: str | None = None) -> str:  # type: ignore[no-untyped-def]
    cats = "".join(f"<category>{c}</category>" for c in categories)
    extra = f"<arxiv:DOI>{doi}</arxiv:DOI>" if doi else ""
    return f"""<item><title>{title}</title><link>https://arxiv.org/abs/{arxiv}</link>
<description>arXiv:{arxiv}v{version} Announce Type: {announce}
Abstract: {abstract or title + ' in detail.'}</description>
<guid isPermaLink="false">oai:arXiv.org:{arxiv}v{version}</guid>{cats}
<pubDate>Mon, 02 Nov 2026 00:00:00 -0500</pubDate>
<arxiv:announce_type>{announce}</arxiv:announce_type>{extra}
<dc:creator>Ann Lee, Bo Li</dc:creator></item>"""


def arxiv_feed(*items: str, **options) -> Answer:  # type: ignore[no-untyped-def]
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/"
 version="2.0"><channel><title>cs.CV updates on arXiv.org</title>
<link>http://rss.arxiv.org/rss/cs.CV</link><description>cs.CV updates</description>
{''.join(items)}</channel></rss>"""
    return Answer(body=body.encode(), **options)


def snapshot(service: Service) -> list[str]:
    """The catalog's papers as the export writes them."""
    out = io.StringIO()
    service.catalog.export(out)
    return [line for line in out.getvalue().splitlines() if '"kind": ' not in line]


# -- names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://rss.arxiv.org/rss/cs.CV", "cs.CV"),
        ("https://rss.arxiv.org/atom/cs.CV+eess.IV", "cs.CV+eess.IV"),
        ("http://export.arxiv.org/rss/eess.IV/", "eess.IV"),
        ("https://connect.biorxiv.org/biorxiv_xml/neuroscience.xml", "biorxiv-neuroscience"),
        ("https://www.nature.com/nm.rss", "nature-nm"),
        ("https://journal.example.org/feed/", "example"),
        ("http://127.0.0.1:8080/rss/cs.CV", "127.0.0.1-cs.CV"),
    ],
)
def test_feed_names_come_from_the_url(url: str, name: str) -> None:
    assert feed_name_for(url) == name


# -- fetching, conditional GET, reporting ------------------------------------


def test_a_feed_is_ingested_once_then_unchanged_with_a_conditional_get(
    db, index, clock, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml", etag='"v1"'))
    service = make_service(db, index, clock, feeds=[url])
    [first] = service.ingestion.run_feeds()
    assert first.line() == "feed=127.0.0.1-cs.CV status=200 seen=4 new=4 updated=0 skipped=0"
    assert service.catalog.search("segnet").hits[0].paper.id == "2402.10001"
    [again] = service.ingestion.run_feeds()
    assert again.line() == "feed=127.0.0.1-cs.CV status=304 unchanged"
    first_request, second_request = feed_server.requests_to("/rss/cs.CV")
    assert first_request.if_none_match is None and second_request.if_none_match == '"v1"'
    assert (first_request.user_agent or "").startswith("digestbot/")
    [info] = service.feeds.all()
    assert (info.status, info.papers_added, info.last_status) == ("unchanged", 4, "304")


def test_doi_journal_reference_and_project_page_are_stored(
    db, index, clock, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    service = make_service(db, index, clock, feeds=[url])
    service.ingestion.run_feeds()
    replaced = service.catalog.get("2307.04003")
    assert replaced is not None
    assert replaced.doi == "10.1109/tmi.2024.1234567"
    assert replaced.journal_ref == "IEEE Transactions on Medical Imaging 43 (2024) 1-12"
    segnet = service.catalog.get("2402.10001")
    assert segnet is not None
    assert segnet.project_url == "https://lab-x.github.io/seg-net"
    assert segnet.code_urls == ("https://github.com/lab-x/seg-net",)


def test_an_empty_weekend_feed_is_not_an_error(db, index, clock, feed_server) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-weekend-empty.xml"))
    service = make_service(db, index, clock, feeds=[url])
    [report] = service.ingestion.run_feeds()
    assert report.line() == "feed=127.0.0.1-cs.CV status=200 seen=0 new=0 updated=0 skipped=0"
    assert service.feeds.all()[0].failures == 0


def test_entries_without_title_or_id_are_skipped_and_counted(
    db, index, clock, feed_server
) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-missing-fields.xml"))
    service = make_service(db, index, clock, feeds=[url])
    [report] = service.ingestion.run_feeds()
    assert (report.seen, report.new, report.skipped) == (4, 2, 2)
    assert service.catalog.count() == 2


# -- identity and updates ----------------------------------------------------


def test_a_replacement_updates_in_place_and_is_not_news(
    db, index, clock, feed_server: FakeFeedServer
) -> None:
    url = feed_server.route(
        "/rss/cs.CV",
        arxiv_feed(item("2611.00001", 1, "new", "Breast MRI segmentation")),
        arxiv_feed(item("2611.00001", 2, "replace", "Breast MRI segmentation, revised",
                        abstract="Now with code at https://github.com/lab/seg.")),
    )
    service = make_service(db, index, clock, feeds=[url])
    service.channels.subscribe(GENERAL, "breast")
    service.ingestion.run_feeds()
    first = service.deliverer.digest(GENERAL, send=lambda d: None)
    assert first is not None and [p.paper_id for p in first.items] == ["2611.00001"]
    before = service.catalog.get("2611.00001")
    clock.now += timedelta(days=1)
    [report] = service.ingestion.run_feeds()
    assert (report.new, report.updated) == (0, 1)
    after = service.catalog.get("2611.00001")
    assert after is not None and before is not None
    assert (after.title, after.version) == ("Breast MRI segmentation, revised", 2)
    assert after.code_urls == ("https://github.com/lab/seg",)
    assert after.published == before.published  # the first announcement's date stays
    assert service.catalog.search("revised").hits[0].paper.id == "2611.00001"  # the index follows
    assert service.deliverer.digest(GENERAL, send=lambda d: None) is None  # nothing new


def test_a_replacement_of_a_paper_never_seen_is_stored_but_not_news(
    db, index, clock, feed_server
) -> None:
    url = feed_server.route(
        "/rss/cs.CV",
        arxiv_feed(
            item("2401.00009", 3, "replace", "Old breast paper revised"),
            item("2401.00010", 2, "replace-cross", "Old breast paper cross-listed"),
            item("2611.00002", 1, "new", "New breast paper"),
            item("2611.00003", 1, "cross", "Breast paper from another field",
                 categories=("cs.LG", "cs.CV")),
        ),
    )
    service = make_service(db, index, clock, feeds=[url])
    service.channels.subscribe(GENERAL, "breast")
    service.ingestion.run_feeds()
    assert service.catalog.count() == 4
    assert service.catalog.search("old breast").hits  # in the catalog, searchable
    digest = service.deliverer.digest(GENERAL, send=lambda d: None)
    assert digest is not None
    assert sorted(p.paper_id for p in digest.items) == ["2611.00002", "2611.00003"]


def test_an_older_version_never_lowers_the_stored_one(db, index, clock, feed_server) -> None:
    url = feed_server.route(
        "/rss/cs.CV",
        arxiv_feed(item("2611.00001", 3, "replace", "Version three")),
        arxiv_feed(item("2611.00001", 2, "replace", "Version two")),
    )
    service = make_service(db, index, clock, feeds=[url])
    service.ingestion.run_feeds()
    [report] = service.ingestion.run_feeds()
    assert report.updated == 0
    stored = service.catalog.get("2611.00001")
    assert stored is not None and (stored.version, stored.title) == (3, "Version three")


def test_a_cross_list_adds_categories_and_two_feeds_make_one_paper(
    db, index, clock, feed_server
) -> None:
    cv = feed_server.route("/rss/cs.CV", arxiv_feed(
        item("2611.00004", 1, "new", "Depth from video", categories=("cs.CV",))))
    lg = feed_server.route("/rss/cs.LG", arxiv_feed(
        item("2611.00004", 1, "cross", "Depth from video", categories=("cs.LG", "stat.ML"),
             abstract="Worded differently in this feed.")))
    service = make_service(db, index, clock, feeds=[cv, lg])
    reports = service.ingestion.run_feeds()
    assert [(r.new, r.updated) for r in reports] == [(1, 0), (0, 1)]
    stored = service.catalog.get("2611.00004")
    assert stored is not None
    assert stored.categories == ("cs.CV", "cs.LG", "stat.ML")
    assert stored.source == cv  # the first feed keeps it
    assert stored.abstract == "Depth from video in detail."  # another feed's wording does not win
    again = service.ingestion.run_feeds([cv, lg])
    assert [r.line().split()[1] for r in again] == ["status=200", "status=200"]
    assert [(r.new, r.updated) for r in again] == [(0, 0), (0, 0)]  # no flip-flop


def test_feed_merge_fills_what_the_stored_paper_lacks(db) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    stored = PaperRecord(id="2611.00005", title="T", categories=("cs.CV",), source="a",
                         version=1, published=date(2026, 11, 1))
    later = PaperRecord(id="2611.00005", title="T", categories=("eess.IV",), source="b",
                        version=1, doi="10.1/x", code_urls=("https://github.com/o/r",),
                        published=date(2026, 11, 2))
    with db.session() as session:
        upsert_papers(session, [stored], now=now)
        result = upsert_papers(session, [later], now=now, merge=True)
        assert result.updated == 1
        merged = get_paper(session, "2611.00005")
    assert merged is not None
    assert merged.categories == ("cs.CV", "eess.IV")
    assert (merged.doi, merged.code_urls, merged.has_code) == ("10.1/x", later.code_urls, True)
    assert (merged.source, merged.published) == ("a", date(2026, 11, 1))


# -- failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (error(503, retry_after=7200), "HTTP 503 Service Unavailable"),
        (html_page(), "not a feed"),
        (feed("arxiv-error-feed.xml"), "Feed error for query"),
        (huge(3 * 2**20), "larger than"),
        (Answer(body=b"<rss><channel><item><title>x", content_type="application/rss+xml"),
         ""),
    ],
    ids=["503", "html-page", "arxiv-error-feed", "oversized", "truncated"],
)
def test_a_bad_feed_changes_nothing_in_the_catalog(
    db, index, clock, feed_server, answer: Answer, reason: str
) -> None:
    good = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    bad = feed_server.route("/bad", answer)
    service = make_service(db, index, clock, feeds=[good], max_bytes=2**20)
    service.ingestion.run_feeds()
    before = snapshot(service)
    service.feeds.add(bad, name="bad")
    [report] = service.ingestion.run_feeds(["bad"])
    assert snapshot(service) == before
    if reason:
        assert report.failed and reason in (report.error or "")
        [info] = [f for f in service.feeds.all() if f.name == "bad"]
        assert info.status == "failing" and reason in (info.last_error or "")


def test_failures_back_off_then_disable_the_feed_and_others_go_on(
    db, index, clock, feed_server: FakeFeedServer
) -> None:
    good = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    down = feed_server.route("/down", error(500))
    service = make_service(db, index, clock, feeds=[down, good])
    waits = []
    for attempt in range(1, MAX_FAILURES + 1):
        reports = {r.feed: r for r in service.ingestion.run()}
        assert reports["127.0.0.1-cs.CV"].failed is False
        failing = reports["127.0.0.1-down"]
        assert failing.failures == attempt
        # Within its backoff, the scheduled job leaves the feed alone.
        [info] = [f for f in service.feeds.all() if f.name == "127.0.0.1-down"]
        if info.enabled:
            assert info.next_fetch_at is not None
            waits.append(info.next_fetch_at - clock.now)
            assert "127.0.0.1-down" not in {r.feed for r in service.ingestion.run()}
            clock.now = info.next_fetch_at
    assert waits == [timedelta(hours=h) for h in (1, 2, 4, 8)]
    assert failing.disabled
    assert failing.line() == (
        'feed=127.0.0.1-down status=error error="HTTP 500 Internal Server Error" '
        "failures=5 disabled"
    )
    [info] = [f for f in service.feeds.all() if f.name == "127.0.0.1-down"]
    assert info.status == "disabled"
    assert "5 failures in a row, the last: HTTP 500" in (info.disabled_reason or "")
    assert "digestbot feeds enable 127.0.0.1-down" in (info.disabled_reason or "")
    clock.now += timedelta(days=2)
    assert "127.0.0.1-down" not in {r.feed for r in service.ingestion.run()}
    feed_server.route("/down", feed("arxiv-rss-weekend-empty.xml"))
    service.feeds.enable("127.0.0.1-down")
    assert {r.feed: r.failed for r in service.ingestion.run()}["127.0.0.1-down"] is False


def test_retry_after_longer_than_the_backoff_is_honoured(db, index, clock, feed_server) -> None:
    url = feed_server.route("/rss", error(429, retry_after=6 * 3600))
    service = make_service(db, index, clock, feeds=[url])
    service.ingestion.run()
    [info] = service.feeds.all()
    assert info.next_fetch_at == clock.now + timedelta(hours=6)


def test_a_malformed_feed_keeps_what_parsed_and_says_so(db, index, clock, feed_server) -> None:
    url = feed_server.route("/rss", feed("malformed-truncated.xml"))
    service = make_service(db, index, clock, feeds=[url])
    [report] = service.ingestion.run_feeds()
    assert (report.new, report.skipped) == (1, 1)
    assert "malformed=" in report.line()
    [info] = service.feeds.all()
    assert info.failures == 0 and "malformed XML" in (info.last_error or "")


def test_a_permanent_redirect_updates_an_added_feed(db, index, clock, feed_server) -> None:
    new = feed_server.route("/new", feed("arxiv-rss-announce.xml"))
    old = feed_server.route("/old", redirect(new, status=301))
    service = make_service(db, index, clock)
    service.feeds.add(old, name="moved")
    [report] = service.ingestion.run_feeds(["moved"])
    assert report.new == 4 and f"moved_to={new}" in report.line()
    assert service.feeds.all()[0].url == new


# -- the feed list -----------------------------------------------------------


def test_configured_feeds_can_be_removed_and_added_back(db, index, clock) -> None:
    configured = ["https://rss.arxiv.org/rss/cs.CV", "https://rss.arxiv.org/rss/cs.LG"]
    service = make_service(db, index, clock, feeds=configured)
    assert [(f.name, f.origin) for f in service.feeds.all()] == [
        ("cs.CV", "config"), ("cs.LG", "config")]
    service.feeds.remove("cs.LG")
    assert [(f.name, f.status) for f in service.feeds.all()] == [
        ("cs.CV", "new"), ("cs.LG", "disabled")]
    assert [f.name for f in service.feeds.due()] == ["cs.CV"]
    info, done = service.feeds.add("https://rss.arxiv.org/rss/cs.LG")
    assert (info.name, done) == ("cs.LG", "enabled again")
    # A configuration that no longer lists a feed hides it, keeping its state.
    narrower = make_service(db, index, clock, feeds=configured[:1])
    assert [f.name for f in narrower.feeds.all()] == ["cs.CV"]


def test_feed_commands_refuse_bad_input_with_a_clear_message(db, index, clock) -> None:
    service = make_service(db, index, clock)
    with pytest.raises(FeedError, match="not a feed URL"):
        service.feeds.add("ftp://example.org/feed")
    with pytest.raises(FeedError, match="feed URLs are at most 2,000"):
        service.feeds.add("https://example.org/" + "x" * 2000)
    with pytest.raises(FeedError, match="not usable"):
        service.feeds.add("https://example.org/feed", name="two words")
    service.feeds.add("https://example.org/a.xml", name="a")
    with pytest.raises(FeedError, match="exists already"):
        service.feeds.add("https://example.org/b.xml", name="a")
    with pytest.raises(FeedError, match=r"No feed named 'nope' \(feeds: a\)"):
        service.feeds.remove("nope")
    with pytest.raises(FeedError, match="no feed name, URL or file"):
        service.ingestion.run_feeds(["nope"])


# -- the command line --------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_FEEDS", "")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_cli_feeds_and_ingest(cli, feed_server: FakeFeedServer) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml", etag='"1"'))
    code, out, err = cli("feeds")
    assert (code, out.strip()) == (0, "No feeds. Add one with: digestbot feeds add URL")
    code, out, _ = cli("feeds", "add", url, "--name", "cv", "--no-check")
    assert code == 0 and out.startswith(f"Added feed cv ({url}), unchecked.")
    code, out, err = cli("ingest")
    assert code == 0
    assert out.strip() == "feed=cv status=200 seen=4 new=4 updated=0 skipped=0"
    assert "1 feed: 4 new papers, 0 updated." in err
    code, out, _ = cli("ingest", "cv")
    assert out.strip() == "feed=cv status=304 unchanged"
    code, out, _ = cli("feeds", "list")
    header, row = out.strip().splitlines()
    assert header.split() == ["NAME", "STATUS", "LAST", "FETCH", "PAPERS", "URL"]
    assert row.split()[:2] == ["cv", "unchanged"] and row.endswith(url)
    code, out, _ = cli("feeds", "list", "--json")
    [listed] = json.loads(out)
    assert (listed["name"], listed["papers_added"], listed["status"]) == ("cv", 4, "unchanged")
    code, out, _ = cli("feeds", "remove", "cv")
    assert code == 0 and "its papers stay in the catalog" in out
    code, out, _ = cli("search", "segnet")
    assert "SegNet-X" in out


def test_cli_ingest_file_and_failures(cli, feed_server: FakeFeedServer) -> None:
    fixture = Path(__file__).parent / "feeds" / "arxiv-atom-announce.xml"
    code, out, _ = cli("ingest", str(fixture))
    assert code == 0 and out.strip() == (
        f"feed={fixture} status=file seen=4 new=4 updated=0 skipped=0")
    down = feed_server.route("/down", error(503))
    cli("feeds", "add", down, "--name", "down", "--no-check")
    code, out, err = cli("ingest", "down")
    assert code == 1
    assert out.strip().startswith('feed=down status=error error="HTTP 503 Service Unavailable"')
    assert "failed: down" in err
    code, out, _ = cli("feeds")
    assert "last error: HTTP 503 Service Unavailable (1 failure in a row; next try" in out
    code, _, err = cli("ingest", "nothing-like-this")
    assert code == 1 and "no feed name, URL or file" in err


def test_one_feed_batch_updates_papers_of_its_own_and_of_other_sources(db) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    with db.session() as session:
        upsert_papers(session, [
            PaperRecord(id="2611.00006", title="Mine", source="a", version=1),
            PaperRecord(id="2611.00007", title="Theirs", source="b", version=1),
            PaperRecord(id="2611.00008", title="Old", source="b", version=1),
        ], now=now)
        result = upsert_papers(session, [
            PaperRecord(id="2611.00006", title="Mine, reworded", source="a", version=1),
            PaperRecord(id="2611.00007", title="Theirs", source="a", version=1, doi="10.1/y"),
            PaperRecord(id="2611.00008", title="Old, revised", source="a", version=2),
        ], now=now, merge=True)
        assert (result.updated, result.unchanged) == (3, 0)
        stored = {i: get_paper(session, i) for i in ("2611.00006", "2611.00007", "2611.00008")}
    assert [(p.title, p.source, p.doi, p.version) for p in stored.values() if p] == [
        ("Mine, reworded", "a", None, 1),
        ("Theirs", "b", "10.1/y", 1),
        ("Old, revised", "b", None, 2),
    ]
