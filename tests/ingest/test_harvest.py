"""`digestbot harvest` against a local fake of arXiv's OAI-PMH interface (tests/fakes/oai_pmh.py).

The command runs in this process (``bot.cli.main``) with a clock that moves
only when the code sleeps, so the 3 s between requests and the Retry-After
waits are checked without waiting. The flow tests serve pages the test
writes in today's format; those with the real 2016 pages skip when
``../shared/real-data/`` is absent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.cli.output import HarvestBar
from bot.config import load_settings
from tests.fakes.oai_pmh import FakeOaiPmh, OaiRecord, oai_page
from tests.ingest.backfill_helpers import StepClock, clock_fixture  # noqa: F401  (the clock fixture)
from tests.ingest.harvest_helpers import (
    REAL,
    Cli,
    cli_fixture,  # noqa: F401  (registers the cli fixture)
    oai_fixture,  # noqa: F401  (registers the oai fixture)
    real_pages,
)

CHANNEL = "console:local/general"
FEEDS = Path(__file__).resolve().parent / "feeds"


def records(first: int, count: int, **fields: object) -> list[OaiRecord]:
    return [OaiRecord(f"2511.{n:05d}", **fields) for n in range(first, first + count)]  # type: ignore[arg-type]


def three_pages() -> list[bytes]:
    """A list of 7 records on three pages: 3, 3, then the last 1."""
    return [
        oai_page(records(0, 3), token="list1|4", cursor=0, size=7),
        oai_page(records(3, 3), token="list1|7", cursor=3, size=7),
        oai_page(records(6, 1), cursor=6, size=7),
    ]


def ids(cli: Cli, query: str = "segmentation") -> list[str]:
    code, out, err = cli("search", query, "--json", "--limit", "100")
    assert code == 0, err
    return sorted(p["id"] for p in json.loads(out))


def tokens(oai: FakeOaiPmh) -> list[str | None]:
    return [r.token for r in oai.requests()]


# -- a whole list ---------------------------------------------------------------------------


def test_a_harvest_follows_the_tokens_to_the_end_paced(cli, oai: FakeOaiPmh) -> None:
    oai.serve(three_pages())

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert out.splitlines() == ["harvest set=cs pages=3 seen=7 new=7 updated=0 skipped=0"]
    assert tokens(oai) == [None, "list1|4", "list1|7"]
    first = oai.requests()[0].params
    assert first == {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs"}
    assert min(oai.gaps()) >= 3.0
    assert ids(cli) == [f"2511.{n:05d}" for n in range(7)]
    assert "Harvest complete" in err and "since 2026-12-01" in err


def test_the_progress_bar_shows_records_pages_rate_and_eta(cli, oai: FakeOaiPmh) -> None:
    oai.serve(three_pages())

    code, _, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    # Not a terminal: the first page's line, then one a minute.
    bar = next(line for line in err.splitlines() if line.startswith("harvest cs:"))
    assert bar.startswith("harvest cs: [##########--------------]  43% 3 of 7 records, 1 page")
    # Later pages, with time gone by: the rate, and the time the rest will take at it.
    later = HarvestBar("cs").text(pages=40, done=40_000, total=102_133, run_records=39_000,
                                  elapsed=130.0)
    assert later == ("harvest cs: [#########---------------]  39% 40,000 of 102,133 records, "
                     "40 pages, 300 records/s, ETA 3 min 27 s")


@pytest.mark.skipif(not REAL.is_dir(), reason=f"no real OAI-PMH pages in {REAL}")
def test_the_real_pages_chain_by_their_own_tokens(cli, oai: FakeOaiPmh) -> None:
    last = oai_page(records(0, 2), cursor=50_000, size=50_002)
    oai.serve([*real_pages(), last])

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert out.splitlines() == ["harvest set=cs pages=3 seen=2002 new=2002 updated=0 skipped=0"]
    assert tokens(oai) == [None, "1114880|1001", "1122234|50001"]
    code, out, _ = cli("show", "0704.0046", "--json")
    shown = json.loads(out)
    assert shown["doi"] == "10.1063/1.2779138" and shown["categories"] == ["quant-ph", "cs.IT",
                                                                           "math.IT"]
    assert "0704.0002" in ids(cli, "pebble")


# -- catalog, not news ----------------------------------------------------------------------


def test_harvested_papers_are_never_news_in_a_digest(cli, oai: FakeOaiPmh) -> None:
    assert cli("subscribe", CHANNEL, "segmentation")[0] == 0
    oai.serve(three_pages())
    assert cli("harvest")[0] == 0

    assert json.loads(cli("digest", "--channel", CHANNEL, "--json", "--dry-run")[1]) is None
    # A feed's paper, stored after them, is news beside them.
    assert cli("ingest", str(FEEDS / "arxiv-rss-announce.xml"))[0] == 0

    code, out, err = cli("digest", "--channel", CHANNEL, "--json")

    assert code == 0, err
    assert [p["id"] for p in json.loads(out)["papers"]] == ["2402.10001"]
    assert len(ids(cli)) == 8  # the harvested ones are in the catalog all the same


def test_a_paper_harvested_and_announced_is_one_paper_its_version_never_going_back(
    cli, oai: FakeOaiPmh
) -> None:
    oai.serve([oai_page([OaiRecord("2511.00001", versions=3, title="Third version")],
                        prefix="arXivRaw")])
    assert cli("harvest", "--format", "arXivRaw")[0] == 0
    oai.serve([oai_page([OaiRecord("2511.00001", versions=2, title="Second version")],
                        prefix="arXivRaw", response_date="2026-12-05T10:00:00Z")])

    code, out, err = cli("harvest", "--format", "arXivRaw", "--from", "2026-11-01")

    assert code == 0, err
    assert out.splitlines() == ["harvest set=all pages=1 seen=1 new=0 updated=0 skipped=0 "
                                "from=2026-11-01"]
    shown = json.loads(cli("show", "2511.00001", "--json")[1])
    assert shown["title"] == "Third version"


# -- resuming and incremental ---------------------------------------------------------------


def test_a_later_harvest_asks_only_for_what_changed_since(cli, oai: FakeOaiPmh) -> None:
    oai.serve(three_pages())
    assert cli("harvest", "--set", "cs")[0] == 0
    oai.oai_error("noRecordsMatch", "no records match")

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert oai.requests()[-1].params == {"verb": "ListRecords", "metadataPrefix": "arXiv",
                                         "set": "cs", "from": "2026-12-01"}
    assert out.splitlines() == ["harvest set=cs pages=1 seen=0 new=0 updated=0 skipped=0 "
                                "from=2026-12-01"]


def test_a_harvest_stopped_by_server_errors_goes_on_from_the_page_it_stopped_at(
    cli, oai: FakeOaiPmh, clock: StepClock
) -> None:
    oai.serve(three_pages())
    oai.fail(500, times=4, after=1)  # the second page, four times

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 1
    assert out.startswith("harvest set=cs pages=1 seen=3 new=3 ")
    assert "HTTP 500" in err and "page 2 (resumptionToken list1|4), 4 tries" in err
    assert "1 page of this list is stored; run `digestbot harvest` again to go on" in err
    assert sorted(clock.sleeps)[-3:] == [5.0, 15.0, 30.0]  # the waits between tries

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert out.splitlines() == ["harvest set=cs pages=2 seen=4 new=4 updated=0 skipped=0 "
                                "resumed"]
    assert tokens(oai)[-2:] == ["list1|4", "list1|7"]
    assert len(ids(cli)) == 7


def test_a_503_with_retry_after_is_waited_out_and_the_same_page_asked_again(
    cli, oai: FakeOaiPmh, clock: StepClock
) -> None:
    oai.serve(three_pages())
    oai.fail(503, retry_after=7, after=1)

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert [r.status for r in oai.requests()] == [200, 503, 200, 200]
    assert tokens(oai) == [None, "list1|4", "list1|4", "list1|7"]
    assert 7.0 in clock.sleeps and oai.gaps()[1] >= 7.0
    assert out.startswith("harvest set=cs pages=3 seen=7 new=7 ")


def test_a_retry_after_longer_than_digestbot_waits_stops_and_says_so(cli, oai: FakeOaiPmh) -> None:
    oai.serve(three_pages())
    oai.fail(503, retry_after=3600, after=1)

    code, _, err = cli("harvest", "--set", "cs")

    assert code == 1
    assert "the server asked to wait 3600 s at page 2" in err
    assert "run `digestbot harvest` again later" in err


def test_malformed_xml_is_asked_again_then_stops_saying_where(cli, oai: FakeOaiPmh) -> None:
    oai.serve(three_pages())
    oai.truncated(after=1)  # once: asked again, and fine

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert tokens(oai) == [None, "list1|4", "list1|4", "list1|7"]

    oai.truncated(times=4)
    code, out, err = cli("harvest", "--set", "cs", "--from", "2026-01-01")

    assert code == 1
    assert "is no OAI-PMH page: malformed XML at line" in err and "4 tries" in err


def test_an_expired_token_says_what_to_do_and_the_next_harvest_starts_the_list_again(
    cli, oai: FakeOaiPmh
) -> None:
    oai.serve(three_pages())
    oai.fail(500, times=4, after=1)
    assert cli("harvest", "--set", "cs")[0] == 1  # one page stored, the token with it
    oai.oai_error("badResumptionToken", "The resumptionToken list1|4 has expired")

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 1
    assert "refused the stored resumption token (badResumptionToken: The resumptionToken " \
        "list1|4 has expired)" in err
    assert "run `digestbot harvest` again to ask for this list again from its beginning" in err

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 0, err
    assert oai.requests()[-3].params == {"verb": "ListRecords", "metadataPrefix": "arXiv",
                                         "set": "cs"}
    assert out.splitlines() == ["harvest set=cs pages=3 seen=7 new=4 updated=0 skipped=0"]
    assert "starts again from its beginning" in err
    assert len(ids(cli)) == 7


def test_no_records_for_a_first_harvest_is_no_failure(cli, oai: FakeOaiPmh) -> None:
    oai.serve([])  # the fake answers noRecordsMatch

    code, out, err = cli("harvest", "--set", "cs", "--from", "2030-01-01")

    assert code == 0, err
    assert out.splitlines() == ["harvest set=cs pages=1 seen=0 new=0 updated=0 skipped=0 "
                                "from=2030-01-01"]


@pytest.mark.parametrize("code_, advice", [
    ("cannotDisseminateFormat", "does not serve that metadata format"),
    ("badArgument", "check --set, --from and --until"),
    ("noSetHierarchy", "harvest without --set"),
])
def test_an_oai_error_stops_with_what_to_do(cli, oai: FakeOaiPmh, code_: str, advice: str) -> None:
    oai.oai_error(code_, "the fake says no")

    code, out, err = cli("harvest", "--set", "cs")

    assert code == 1
    assert f"the OAI-PMH error {code_}: the fake says no at page 1" in err and advice in err
    assert f'error="the server answered the OAI-PMH error {code_}' in out


def test_a_url_that_is_no_oai_pmh_interface_says_so(cli, oai: FakeOaiPmh) -> None:
    code, _, err = cli("harvest", "--url", oai.url + "/nothing-here")

    assert code == 1
    assert "HTTP 404" in err and "check the OAI-PMH base URL" in err


def test_dates_are_checked_before_any_request(cli, oai: FakeOaiPmh, capsys) -> None:
    with pytest.raises(SystemExit):
        cli("harvest", "--from", "yesterday")
    assert "'yesterday' is not a day written YYYY-MM-DD" in capsys.readouterr().err
    code, _, err = cli("harvest", "--from", "2026-02-01", "--until", "2026-01-01")
    assert code == 1 and "is after --until" in err
    assert not oai.requests()


# -- digestbot run keeps harvests up to date ------------------------------------------------


def test_the_running_bot_brings_each_harvest_up_to_date_once_its_interval_passed(
    cli, oai: FakeOaiPmh, clock: StepClock, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2026-12-01T12:00+00:00")
    oai.serve(three_pages())
    assert cli("harvest", "--set", "cs")[0] == 0
    asked = len(oai.requests())
    now = [datetime(2026, 12, 2, 6, 0, tzinfo=UTC)]  # 18 hours later
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    service = Service.open(settings, clock=lambda: now[0], sleep=clock.sleep, monotonic=clock)
    try:
        assert service.harvester.run_due(service.oai_url, timedelta(days=1)) == []
        assert len(oai.requests()) == asked  # not due yet

        now[0] += timedelta(hours=7)
        oai.serve([oai_page(records(7, 2))])
        reports = service.harvester.run_due(service.oai_url, timedelta(days=1))
    finally:
        service.close()

    assert [r.line() for r in reports] == [
        "harvest set=cs pages=1 seen=2 new=2 updated=0 skipped=0 from=2026-12-01"]
    assert oai.requests()[-1].params["from"] == "2026-12-01"
    assert len(ids(cli)) == 9
