"""Backfill from the arXiv API, as a user runs it: `digestbot backfill` and `digestbot ingest`
after downtime, against a local fake of the API (tests/fakes/arxiv_api.py).

The command runs in this process (``bot.cli.main``) with a clock that moves
only when the code sleeps, so the API's 3 s spacing and its Retry-After
waits are checked without waiting. "Now" is ``DIGESTBOT_FIXED_NOW``: every
date is written out.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.registry import arxiv_categories
from tests.fakes.arxiv_api import ApiPaper, FakeArxivApi
from tests.fakes.feed_server import (
    FakeFeedServer,
    feed,
    feed_server_fixture,  # noqa: F401  (registers the feed_server fixture)
)
from tests.ingest.backfill_helpers import (
    MONDAY,
    SUN,
    THU,
    WED,
    Cli,
    api_fixture,  # noqa: F401  (registers the api fixture)
    cli_fixture,  # noqa: F401  (registers the cli fixture)
    clock_fixture,  # noqa: F401  (registers the clock fixture)
)


def papers(prefix: str, when: datetime, count: int, **fields: object) -> list[ApiPaper]:
    return [
        ApiPaper(f"2503.{prefix}{n:02d}", when + timedelta(minutes=n), **fields)  # type: ignore[arg-type]
        for n in range(count)
    ]


def starts(api: FakeArxivApi) -> list[int]:
    return [q.start for q in api.queries()]


def catalog(cli: Cli) -> list[dict[str, object]]:
    code, out, err = cli("search", "segmentation", "--json", "--limit", "100")
    assert code == 0, err
    return list(json.loads(out))


# -- digestbot backfill ---------------------------------------------------------------


def test_backfill_fetches_each_announcement_day_paged_and_spaced(cli, api) -> None:
    api.add(*papers("150", WED, 10), *papers("160", THU, 2), *papers("170", SUN, 1))
    api.add(*papers("180", WED, 3, categories=("eess.IV",)))  # another category
    api.add(ApiPaper("2503.19000", datetime(2025, 3, 23, 12, tzinfo=UTC)))  # Monday's, not out yet

    code, out, err = cli("backfill", "--days", "5", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 3 days, 13 papers (13 new), 5 requests"]
    assert [(q.window, q.start) for q in api.queries()] == [
        (("202503181800", "202503191800"), 0),  # Wednesday's announcement
        (("202503181800", "202503191800"), 4),  # the fake gave 4 of the 500 asked for
        (("202503181800", "202503191800"), 8),
        (("202503191800", "202503201800"), 0),  # Thursday's
        (("202503201800", "202503211800"), 0),  # Sunday's: Thursday 14:00 to Friday 14:00
    ]
    queries = api.queries()
    assert all(q.search_query.startswith("cat:cs.CV AND submittedDate:[") for q in queries)
    assert all(q.params["sortBy"] == "submittedDate" for q in queries)
    assert min(api.gaps()) >= 3.0
    found = {p["id"] for p in catalog(cli)}
    assert found == {p.arxiv_id for p in api._papers if "cs.CV" in p.categories} - {"2503.19000"}


def test_backfill_never_doubles_a_paper(cli, api) -> None:
    api.add(*papers("150", WED, 6, version=2))
    assert cli("backfill", "--days", "5", "--category", "cs.CV")[1].startswith(
        "cs.CV: 3 days, 6 papers (6 new)")

    code, out, err = cli("backfill", "--days", "5", "--category", "cs.CV")

    assert code == 0, err
    assert out.startswith("cs.CV: 3 days, 6 papers (0 new)")
    stored = catalog(cli)
    assert len(stored) == 6
    code, out, _ = cli("show", "2503.15003", "--json")
    shown = json.loads(out)
    assert shown["url"] == "https://arxiv.org/abs/2503.15003" and shown["categories"] == ["cs.CV"]


def test_backfilled_papers_are_news_for_a_channel(cli, api) -> None:
    api.add(*papers("150", WED, 3))
    assert cli("subscribe", "console:local/general", "segmentation")[0] == 0
    cli("backfill", "--days", "5", "--category", "cs.CV")

    code, out, err = cli("digest", "--channel", "console:local/general", "--json")

    assert code == 0, err
    assert {item["id"] for item in json.loads(out)["papers"]} >= {"2503.15000", "2503.15002"}


def test_a_503_with_retry_after_is_waited_out_and_the_same_page_asked_again(
    cli, api, clock
) -> None:
    api.add(*papers("150", SUN, 10))
    api.fail(503, retry_after=7, after=1)  # the second request

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 10 papers (10 new), 4 requests"]
    assert starts(api) == [0, 4, 4, 8]
    assert [q.status for q in api.queries()] == [200, 503, 200, 200]
    assert 7.0 in clock.sleeps
    assert api.gaps()[1] >= 7.0


def test_server_errors_are_retried_then_reported_with_what_was_kept(cli, api) -> None:
    api.add(*papers("150", SUN, 10))
    api.fail(500, times=4, after=1)

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 1
    assert out.splitlines() == [(
        "cs.CV: 0 of 1 days, 4 papers (4 new), 5 requests; stopped: HTTP 500 Internal Server "
        "Error at Sun 23 Mar (start=4), 4 tries; kept what was fetched, the next ingest goes "
        "on from there"
    )]
    assert starts(api) == [0, 4, 4, 4, 4]
    assert len(catalog(cli)) == 4

    # The next run goes on from the page that failed.
    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")
    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 6 papers (6 new), 2 requests"]
    assert starts(api)[5:] == [4, 8]
    assert len(catalog(cli)) == 10


def test_an_api_that_does_not_answer_is_retried_like_a_5xx(cli, api, monkeypatch) -> None:
    monkeypatch.setenv("DIGESTBOT_ARXIV_API_URL", "http://127.0.0.1:9/api/query")  # nobody there

    code, out, _ = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 1
    assert out.startswith("cs.CV: 0 of 1 days, 0 papers (0 new), 4 requests; stopped: "
                          "connection refused at Sun 23 Mar (start=0), 4 tries")


def test_an_empty_page_mid_way_is_asked_again(cli, api) -> None:
    api.add(*papers("150", SUN, 10))
    api.empty_page(times=2, after=1)

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 10 papers (10 new), 5 requests"]
    assert starts(api) == [0, 4, 4, 4, 8]


def test_empty_pages_that_go_on_are_taken_as_the_end(cli, api) -> None:
    api.add(*papers("150", SUN, 10))
    api.empty_page(times=3, after=1)

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 4 papers (4 new), 4 requests"]
    assert starts(api) == [0, 4, 4, 4]


def test_a_day_with_no_papers_costs_one_request(cli, api) -> None:
    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")
    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 0 papers (0 new), 1 request"]


def test_a_garbage_answer_is_asked_again(cli, api) -> None:
    api.add(*papers("150", SUN, 3))
    api.garbage()

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 3 papers (3 new), 2 requests"]


def test_malformed_xml_says_so_in_one_line_and_keeps_what_came_before(cli, api) -> None:
    api.add(*papers("150", SUN, 10))
    api.truncated(times=4, after=1)  # the second page, cut off in its second entry, 4 times

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 1
    [line] = out.splitlines()
    assert line.startswith("cs.CV: 0 of 1 days, 5 papers (5 new), 5 requests; stopped: the API's "
                           "page for Sun 23 Mar (start=4) is malformed XML (not well-formed XML "
                           "at line ")
    assert "; 1 of its entries kept; kept what was fetched" in line
    # The first page whole, and the first entry of the cut one.
    assert {p["id"] for p in catalog(cli)} == {f"2503.150{n:02d}" for n in range(5)}

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")
    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 6 papers (5 new), 2 requests"]
    assert starts(api)[5:] == [4, 8]  # that page again, whole this time


def test_backfill_takes_the_categories_of_the_arxiv_feeds(cli, monkeypatch) -> None:
    monkeypatch.setenv("DIGESTBOT_FEEDS",
                       "https://rss.arxiv.org/rss/cs.CV+eess.IV https://journal.example.org/rss")
    code, out, err = cli("backfill", "--days", "2")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == ["cs.CV", "eess.IV"]


def test_backfill_without_arxiv_feeds_asks_for_categories(cli) -> None:
    code, _, err = cli("backfill", "--days", "2")
    assert code == 1
    assert "No arXiv feeds to backfill; name the categories: digestbot backfill --category" in err


# -- ingest after downtime ------------------------------------------------------------------


@pytest.fixture
def arxiv_feed(feed_server: FakeFeedServer, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """arXiv's cs.CV feed served from the fake feed host (its title names the category)."""
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-announce.xml"))
    monkeypatch.setenv("DIGESTBOT_FEEDS", url)
    return url


def test_ingest_after_downtime_backfills_the_missed_days(cli, api, arxiv_feed, monkeypatch) -> None:
    api.add(*papers("150", datetime(2025, 3, 18, 12, tzinfo=UTC), 2),  # Tuesday's announcement
            *papers("160", WED, 3), *papers("170", THU, 1), *papers("180", SUN, 5))
    monkeypatch.setenv("DIGESTBOT_BACKFILL_MAX_DAYS", "7")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-18T12:00+00:00")  # Tuesday
    code, out, err = cli("ingest")
    assert code == 0, err
    assert "backfill" not in out and api.queries() == []  # the feed's first read misses nothing

    # Down from Tuesday to Monday: the feeds of Wed, Thu and Fri were never read.
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", MONDAY)
    code, out, err = cli("ingest")

    assert code == 0, err
    assert out.splitlines()[1:] == ["backfill cs.CV: 3 days, 6 papers (6 new), 3 requests"]
    assert [q.window for q in api.queries()] == [
        ("202503171800", "202503181800"),  # Tuesday's announcement, in Wednesday's feed
        ("202503181800", "202503191800"),
        ("202503191800", "202503201800"),  # Thursday's; Sunday's is today's feed
    ]
    assert "6 new from the arXiv API for missed announcement days" in err

    # Read again the same day: nothing more is owed.
    code, out, err = cli("ingest")
    assert code == 0, err
    assert "backfill" not in out and len(api.queries()) == 3


def test_the_backfill_reaches_back_at_most_backfill_max_days(
    cli, api, arxiv_feed, monkeypatch
) -> None:
    monkeypatch.setenv("DIGESTBOT_BACKFILL_MAX_DAYS", "4")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-18T12:00+00:00")
    cli("ingest")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", MONDAY)

    code, out, err = cli("ingest")

    assert code == 0, err
    assert out.splitlines()[1:] == ["backfill cs.CV: 1 day, 0 papers (0 new), 1 request"]
    assert [q.window for q in api.queries()] == [("202503191800", "202503201800")]


def test_a_failed_backfill_is_owed_to_the_next_ingest(cli, api, arxiv_feed, monkeypatch) -> None:
    api.add(*papers("160", WED, 3))
    monkeypatch.setenv("DIGESTBOT_BACKFILL_MAX_DAYS", "7")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-19T12:00+00:00")  # Wednesday
    cli("ingest")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-21T12:00+00:00")  # Friday: Thursday's missed
    api.fail(503, times=4)  # no Retry-After: a server error like any other

    code, out, err = cli("ingest")

    assert code == 0, err  # the feed itself was read
    assert out.splitlines()[1].startswith("backfill cs.CV: 0 of 1 days, 0 papers (0 new), "
                                          "4 requests; stopped: HTTP 503")
    assert "the backfill of cs.CV stopped (the next ingest goes on)" in err
    code, out, err = cli("feeds", "list")
    assert " ok " in out.splitlines()[1]  # the API's trouble is not the feed's

    # The feed was read since, yet the next ingest still owes the day.
    code, out, err = cli("ingest")
    assert out.splitlines()[1:] == ["backfill cs.CV: 1 day, 3 papers (3 new), 1 request"]


def test_no_backfill_when_backfill_max_days_is_0(cli, api, arxiv_feed, monkeypatch) -> None:
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-18T12:00+00:00")
    cli("ingest")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", MONDAY)
    code, out, err = cli("ingest")
    assert code == 0, err
    assert "backfill" not in out and api.queries() == []


# -- the weekend -----------------------------------------------------------------------------


def test_an_empty_arxiv_feed_on_saturday_is_arxivs_calendar_not_a_failure(
    cli, api, feed_server: FakeFeedServer, monkeypatch
) -> None:
    url = feed_server.route("/rss/cs.CV", feed("arxiv-rss-weekend-empty.xml"))
    monkeypatch.setenv("DIGESTBOT_FEEDS", url)
    monkeypatch.setenv("DIGESTBOT_BACKFILL_MAX_DAYS", "7")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-21T12:00+00:00")  # Friday
    cli("ingest")
    assert cli("subscribe", "console:local/general", "segmentation")[0] == 0
    cli("digest", "--channel", "console:local/general")
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-22T12:00+00:00")  # Saturday

    code, out, err = cli("ingest")

    assert code == 0, err
    assert out.splitlines() == [(
        "feed=127.0.0.1-cs.CV status=200 seen=0 new=0 updated=0 skipped=0 "
        'quiet="arXiv announced nothing on the evening before Sat 22 Mar"'
    )]
    assert "failed" not in err and api.queries() == []  # Friday's feed was read: nothing missed
    code, out, err = cli("feeds", "list")
    assert out.splitlines()[1].split()[1] == "ok"
    code, out, err = cli("digest", "--channel", "console:local/general")
    assert code == 0, err
    assert out.startswith("Nothing new for console:local/general.")
    assert "feed" not in out and "broken" not in out


def test_a_retry_after_longer_than_the_backfill_waits_stops_it(cli, api, clock) -> None:
    api.add(*papers("150", SUN, 3))
    api.fail(503, retry_after=3600)

    code, out, _ = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 1
    assert out.startswith("cs.CV: 0 of 1 days, 0 papers (0 new), 1 request; stopped: the API "
                          "answered HTTP 503 Service Unavailable (retry after 3600 s) at Sun 23 "
                          "Mar (start=0)")
    assert 3600 not in clock.sleeps


def test_backfill_shows_its_progress_on_stderr(cli, api, clock) -> None:
    api.page_limit = None
    api.add(*(ApiPaper(f"2503.2{n:04d}", SUN + timedelta(seconds=n)) for n in range(501)))

    code, out, err = cli("backfill", "--days", "2", "--category", "cs.CV")

    assert code == 0, err
    assert out.splitlines() == ["cs.CV: 1 day, 501 papers (501 new), 2 requests"]
    assert "backfilled 500 papers…" in err.splitlines()


@pytest.mark.parametrize(
    ("url", "title", "categories"),
    [
        ("https://rss.arxiv.org/rss/cs.CV", "", ("cs.CV",)),
        ("https://rss.arxiv.org/atom/cs.CV+eess.IV", "", ("cs.CV", "eess.IV")),
        ("https://arxiv.org/rss/hep-th", "", ("hep-th",)),
        ("http://127.0.0.1:8000/rss/x", "cs.LG updates on arXiv.org", ("cs.LG",)),  # a mirror
        ("https://journal.example.org/rss/cs.CV", "", ()),
        ("https://journal.example.org/rss", "Journal of Examples", ()),
    ],
)
def test_which_feeds_are_arxivs_and_their_categories(url, title, categories) -> None:
    assert arxiv_categories(url, title) == categories
