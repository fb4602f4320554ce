"""The OAI-PMH page reader (bot/ingest/oai.py): real arXiv pages, today's format, arXivRaw,
and pages that are no page.

The real pages are two 2016 ``ListRecords`` responses of arXiv's interface
(set=cs, 1,000 records each), outside the repository in
``../shared/real-data/arxiv_metadata/oai_pmh/`` (see its MANIFEST.md); those
tests skip when it is absent.
"""

from __future__ import annotations

import re
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from bot.ingest.feeds import parse_feed
from bot.ingest.oai import OaiPageError, parse_oai_page
from tests.fakes.oai_pmh import OaiRecord, error_page, oai_page

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "real-data" / "arxiv_metadata" / "oai_pmh"
FEEDS = Path(__file__).resolve().parent / "feeds"
SOURCE = "https://oaipmh.arxiv.org/oai"
real = pytest.mark.skipif(not REAL.is_dir(), reason=f"no real OAI-PMH pages in {REAL}")


def real_pages() -> list[Path]:
    return sorted(REAL.glob("*.xml")) if REAL.is_dir() else []


# -- real pages ---------------------------------------------------------------------------


@real
@pytest.mark.parametrize("path", real_pages(), ids=lambda p: p.name)
def test_every_record_of_a_real_page_becomes_a_paper(path: Path) -> None:
    data = path.read_bytes()
    text = data.decode("utf-8")
    identifiers = re.findall(r"<identifier>oai:arXiv\.org:([^<]+)</identifier>", text)
    categories = re.findall(r"<categories>([^<]+)</categories>", text)
    token = re.search(r"<resumptionToken[^>]*>([^<]*)<", text)

    page = parse_oai_page(data, source=SOURCE)

    assert len(identifiers) == 1000 and page.seen == 1000
    assert not page.skipped and not page.errors
    assert [e.record.id for e in page.entries] == identifiers
    assert [e.record.categories for e in page.entries] == [tuple(c.split()) for c in categories]
    assert page.token == token[1]  # type: ignore[index]
    assert not page.last and page.list_size and page.list_size > 100_000
    assert all(e.record.url == f"https://arxiv.org/abs/{e.record.id}" for e in page.entries)
    assert all(e.record.title and e.record.abstract and e.record.authors for e in page.entries)
    assert all(e.record.source == SOURCE and e.record.version is None for e in page.entries)


@real
def test_a_real_record_reads_whole() -> None:
    page = parse_oai_page((REAL / "shishir167_arxiv_cs_ListRecords_page1.xml").read_bytes(),
                          source=SOURCE)
    first, second = page.entries[:2]
    assert first.record.id == "0704.0002"
    assert first.record.title == "Sparsity-certifying Graph Decompositions"
    assert first.record.authors == ("Ileana Streinu", "Louis Theran")
    assert first.record.categories == ("math.CO", "cs.CG")
    assert first.record.published == date(2007, 3, 30)  # created: the first version's day
    assert first.comment == "To appear in Graphs and Combinatorics"
    assert first.record.abstract.startswith("We describe a new algorithm, the $(k,\\ell)$-pebble")
    assert "\n" not in first.record.abstract
    assert second.doi == "10.1063/1.2779138"
    assert second.journal_ref == "J. Math. Phys. 48(2007), 092102."
    assert (page.cursor, page.list_size, page.token) == (0, 102133, "1114880|1001")
    assert page.response_date == "2016-03-01T23:19:39Z"


# -- today's format -----------------------------------------------------------------------


def test_the_current_format_page_reads_as_its_header_says() -> None:
    page = parse_oai_page((FEEDS / "oai-pmh-listrecords-current.xml").read_bytes(), source=SOURCE)

    assert (page.seen, len(page.entries), len(page.skipped)) == (4, 3, 1)
    assert page.last and page.token is None and not page.errors
    assert (page.list_size, page.cursor, page.latest_datestamp) == (2004, 2000, "2026-12-01")
    one, two, old = page.entries
    assert one.record.authors == ("Ana Lima", "Jean Dupont Jr.")
    assert one.record.categories == ("cs.CV", "eess.IV")
    assert one.record.published == date(2026, 11, 3)
    assert one.record.title == "SegNet-X: Promptable Segmentation of Breast MRI"
    assert one.record.code_urls == ("https://github.com/lab-x/seg-net",)
    assert one.project_urls == ("https://lab-x.github.io/seg-net",)
    assert two.doi == "10.1109/tmi.2026.1234567"
    assert two.journal_ref == "IEEE Trans. Med. Imaging 45 (2026) 1-12"
    assert page.skipped[0].reason == "deleted at the source; skipped"
    assert old.record.id == "cs/0601001" and old.record.authors == ("Mélodie Desbos",)


def test_a_harvested_paper_is_the_paper_a_feed_names() -> None:
    """The same id, link and categories from the RSS announcement and the harvest."""
    feed = parse_feed((FEEDS / "arxiv-rss-announce.xml").read_bytes(), source="cs.CV")
    announced = feed.entries[0].record
    harvested = parse_oai_page(oai_page([OaiRecord("2402.10001", categories=("cs.CV", "eess.IV"))]),
                               source=SOURCE).entries[0].record
    assert (harvested.id, harvested.url, harvested.categories) == (
        announced.id, announced.url, announced.categories)


def test_arxiv_raw_gives_the_latest_version_and_the_first_versions_day() -> None:
    record = OaiRecord("2511.03456", versions=3, authors=(("Lima", "Ana"), ("Fischer", "Lena")))
    page = parse_oai_page(oai_page([record], prefix="arXivRaw"), source=SOURCE)

    paper = page.entries[0].record
    assert (paper.id, paper.version) == ("2511.03456", 3)
    assert paper.published == date(2026, 12, 1)  # v1: Mon, 1 Dec 2026
    assert paper.authors == ("Ana Lima", "Lena Fischer")


def test_a_format_not_read_is_skipped_with_its_reason() -> None:
    data = oai_page([OaiRecord("2511.00001")]).replace(
        b'<arXiv xmlns="http://arxiv.org/OAI/arXiv/"', b'<dc xmlns="http://www.openarchives.org/OAI/2.0/oai_dc/"'
    ).replace(b"</arXiv>", b"</dc>")
    page = parse_oai_page(data, source=SOURCE)
    assert not page.entries
    assert "metadataPrefix arXiv or arXivRaw" in page.skipped[0].reason


def test_a_page_keeps_no_more_than_its_records_in_memory() -> None:
    """Streaming: the peak of a parse grows with the page, and stays near its records' size."""
    records = [OaiRecord(f"2511.{n:05d}", abstract="word " * 200) for n in range(500)]
    data = oai_page(records, token="t|1")
    tracemalloc.start()
    try:
        page = parse_oai_page(data, source=SOURCE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.seen == 500
    # The page's whole tree alone would take over 3.5 times its bytes; the
    # records it yields take about its size.
    assert peak < 2 * len(data), (peak, len(data))


# -- errors and pages that are no page ------------------------------------------------------


def test_an_oai_error_is_a_page_with_errors() -> None:
    page = parse_oai_page(error_page("noRecordsMatch", "no records match"), source=SOURCE)
    assert page.error("noRecordsMatch") is not None and not page.entries and page.last
    assert str(page.errors[0]) == "noRecordsMatch: no records match"


def test_malformed_xml_is_refused_whole_saying_where() -> None:
    data = oai_page([OaiRecord(f"2511.{n:05d}") for n in range(3)], token="t|4")
    with pytest.raises(OaiPageError, match=r"malformed XML at line \d+, column \d+ after 1 records"):
        parse_oai_page(data[: data.index(b"2511.00001</identifier>") + 200], source=SOURCE)


@pytest.mark.parametrize("body, message", [
    (b"", "the response is empty"),
    (b"<html><body><h1>Service Unavailable</h1></body></html>", "not OAI-PMH"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><OAI-PMH/>', "DOCTYPE"),
    (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>', "not OAI-PMH"),
])
def test_what_is_no_oai_pmh_page_is_refused(body: bytes, message: str) -> None:
    with pytest.raises(OaiPageError, match=message):
        parse_oai_page(body, source=SOURCE)
