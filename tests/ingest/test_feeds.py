"""The feed parser: arXiv's feeds and API, generic RSS/Atom, and bad documents.

Each fixture under tests/ingest/feeds/ says in its header what the case is and what
to expect; the tests below hold the parser to it, record by record and field
by field. Nothing here touches the network or the database.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.synth_feed import synth_feed
from bot.ingest.arxiv import read_announcement
from bot.ingest.authors import split_authors
from bot.ingest.entries import ANNOUNCE_TYPES, FeedEntry, _links
from bot.ingest.feeds import ParsedFeed, _parse_with_feedparser, parse_feed
from bot.ingest.identity import normalize_doi, paper_id_for
from bot.ingest.identity import paper_id_for as feed_paper_id
from bot.ingest.markup import ASCII_SPACES as _ASCII_SPACES
from bot.ingest.markup import collapse as _collapse
from bot.ingest.markup import html_to_text
from bot.model.links import extract_links
from bot.model.papers import PaperRecord
from tests.model.test_links import EXTRACT_CASES, LINKS_CASES

FEEDS = Path(__file__).resolve().parent / "feeds"
FEB_12 = date(2024, 2, 12)


def parse(name: str, source: str = "cs.CV", **kwargs: Any) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), source=source, **kwargs)


def assert_record(actual: PaperRecord, expected: PaperRecord) -> None:
    """Every field, ``extra`` included (it is left out of ``==``), named on failure."""
    for field in dataclasses.fields(PaperRecord):
        got, want = getattr(actual, field.name), getattr(expected, field.name)
        assert got == want, f"{expected.id}: {field.name} is {got!r}, expected {want!r}"


def arxiv(paper_id: str, version: int, title: str, **fields: Any) -> PaperRecord:
    return PaperRecord(
        id=paper_id,
        version=version,
        title=title,
        url=f"https://arxiv.org/abs/{paper_id}",
        **{"published": FEB_12, "source": "cs.CV", **fields},
    )


# -- every fixture describes itself --------------------------------------------


@pytest.mark.parametrize("path", sorted(FEEDS.iterdir()), ids=lambda p: p.name)
def test_fixture_starts_with_its_description(path: Path) -> None:
    head = path.read_bytes()[:2000].decode("utf-8", "replace")
    assert head.startswith("<!--\nCase: ")
    assert "Expect" in head.split("-->")[0]


# -- arXiv's announcement feeds ------------------------------------------------

ANNOUNCED = [
    arxiv(
        "2402.10001",
        1,
        "SegNet-X: Promptable Segmentation of Breast MRI",
        authors=("Wei Zhang", "Mélodie Desbos", "Ana Lima"),
        abstract=(
            "We present SegNet-X, a promptable model for breast MRI segmentation. It reaches "
            "a Dice score of 0.91. Code: https://github.com/lab-x/seg-net.git. Project page: "
            "https://lab-x.github.io/seg-net/."
        ),
        categories=("cs.CV", "eess.IV"),
        code_urls=("https://github.com/lab-x/seg-net",),
        has_code=True,
        extra={"project_urls": ("https://lab-x.github.io/seg-net",)},
    ),
    arxiv(
        "2402.09002",
        1,
        "Order Constraints for Self-Supervised Depth",
        authors=("Omar Haddad", "Lena Fischer"),
        abstract=(
            "We learn depth with the order constraint $a<b$ and $c>d$ between neighbouring pixels."
        ),
        categories=("cs.LG", "cs.CV"),
    ),
    arxiv(
        "2307.04003",
        3,
        "A Foundation Model for Chest Radiographs",
        authors=("Priya Natarajan", "John Smith Jr.", "Sara Rossi"),
        abstract="We pretrain a vision transformer on one million chest radiographs.",
        categories=("cs.CV",),
        extra={
            "doi": "10.1109/tmi.2024.1234567",
            "journal_ref": "IEEE Transactions on Medical Imaging 43 (2024) 1-12",
        },
    ),
    arxiv(
        "2311.05004",
        2,
        "Sparse Attention for Gigapixel Pathology",
        authors=("Kenji Tanaka",),
        abstract="Sparse attention makes whole-slide images tractable.",
        categories=("eess.IV", "cs.CV"),
        extra={"doi": "10.1016/j.media.2024.103001"},
    ),
]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("arxiv-rss-announce.xml", "rss20"), ("arxiv-atom-announce.xml", "atom10")],
)
def test_arxiv_announcement(name: str, fmt: str) -> None:
    feed = parse(name)
    assert (feed.ok, feed.malformed, feed.not_a_feed, feed.error) == (True, None, False, None)
    assert (feed.title, feed.format, feed.seen, feed.skipped) == (
        "cs.CV updates on arXiv.org",
        fmt,
        4,
        (),
    )
    assert len(feed.records) == len(ANNOUNCED)
    for actual, expected in zip(feed.records, ANNOUNCED, strict=True):
        assert_record(actual, expected)


def test_arxiv_announce_types_and_what_they_mean() -> None:
    entries = parse("arxiv-rss-announce.xml").entries
    assert [e.announce for e in entries] == list(ANNOUNCE_TYPES)
    # Replacements update a paper in place; they announce nothing new.
    assert [e.is_replacement for e in entries] == [False, False, True, True]
    assert [e.entry_id for e in entries] == [
        "oai:arXiv.org:2402.10001v1",
        "oai:arXiv.org:2402.09002v1",
        "oai:arXiv.org:2307.04003v3",
        "oai:arXiv.org:2311.05004v2",
    ]
    assert [e.position for e in entries] == [1, 2, 3, 4]


def test_arxiv_entry_keeps_what_the_record_has_no_field_for() -> None:
    first, _, third, fourth = parse("arxiv-atom-announce.xml").entries
    assert first.project_urls == ("https://lab-x.github.io/seg-net",)
    assert (first.doi, first.journal_ref, first.comment, first.pdf_url) == (None,) * 4
    assert third.doi == "10.1109/tmi.2024.1234567"
    assert third.journal_ref == "IEEE Transactions on Medical Imaging 43 (2024) 1-12"
    assert fourth.doi == "10.1016/j.media.2024.103001"  # the first of two listed


def test_an_unknown_announce_type_is_not_news() -> None:
    record = ANNOUNCED[0]
    entry = FeedEntry(record=record, position=1, entry_id="x", announce="absonly")
    assert entry.is_replacement
    assert not FeedEntry(record=record, position=1, entry_id="x").is_replacement


def test_weekend_feed_is_empty_not_failing() -> None:
    feed = parse("arxiv-rss-weekend-empty.xml")
    assert (feed.ok, feed.not_a_feed, feed.error, feed.malformed) == (True, False, None, None)
    assert (feed.seen, feed.records, feed.skipped) == (0, (), ())
    assert feed.summary() == "feed=cs.CV seen=0 parsed=0 skipped=0"


def test_arxiv_error_feed_is_an_error() -> None:
    feed = parse("arxiv-error-feed.xml", source="cs.XX")
    assert not feed.ok and not feed.not_a_feed and feed.records == ()
    assert feed.error == (
        "arXiv answered with an error: Feed error for query: "
        "https://rss.arxiv.org/rss/cs.XX Invalid archive or category: cs.XX"
    )


# -- the arXiv API -------------------------------------------------------------


def test_arxiv_api_page() -> None:
    feed = parse("arxiv-api-page.xml", source="api")
    assert (feed.ok, feed.malformed, feed.seen, feed.skipped) == (True, None, 2, ())
    first, second = feed.entries
    comment = (
        "12 pages, 5 figures. Code: github.com/alima/mri-recon.git, weights at "
        r"\url{https://huggingface.co/alima/mri-recon}; project page alima.github.io/mri-recon"
    )
    assert_record(
        first.record,
        PaperRecord(
            id="2402.10011",
            version=2,
            title="Unrolled Networks for Accelerated MRI Reconstruction",
            authors=("Ana Lima", "Jean-Pierre Dupont", "Zoë Ødegaard"),
            abstract=(
                "We unroll a proximal gradient method into a network for accelerated MRI "
                "reconstruction."
            ),
            categories=("eess.IV", "cs.CV"),
            published=FEB_12,
            url="https://arxiv.org/abs/2402.10011",
            code_urls=(
                "https://github.com/alima/mri-recon",
                "https://huggingface.co/alima/mri-recon",
            ),
            has_code=True,
            source="api",
            extra={
                "doi": "10.1016/j.media.2024.103100",
                "journal_ref": "Medical Image Analysis 93 (2024) 103100",
                "comment": comment,
                "pdf_url": "http://arxiv.org/pdf/2402.10011v2",
                "project_urls": ("https://alima.github.io/mri-recon",),
            },
        ),
    )
    assert (first.announce, first.comment, first.pdf_url) == (
        None,
        comment,
        "http://arxiv.org/pdf/2402.10011v2",
    )
    assert_record(
        second.record,
        PaperRecord(
            id="hep-th/0601001",
            version=1,
            title="Strings on a Lattice",
            authors=("Max Keller",),
            abstract=(
                "We put strings on a lattice. Scripts: https://gitlab.com/cern/th/strings/-/tree/main."
            ),
            categories=("hep-th",),
            published=date(2006, 1, 1),
            url="https://arxiv.org/abs/hep-th/0601001",
            code_urls=("https://gitlab.com/cern/th/strings",),
            has_code=True,
            source="api",
            extra={"pdf_url": "http://arxiv.org/pdf/hep-th/0601001v1"},
        ),
    )
    assert (second.doi, second.journal_ref) == (None, None)


def test_arxiv_api_error_is_an_error_not_a_paper() -> None:
    feed = parse("arxiv-api-error.xml", source="api")
    assert not feed.ok and feed.records == () and not feed.not_a_feed
    assert feed.error == "the arXiv API answered with an error: incorrect id format for 1234.12345v"


# -- generic RSS and Atom ------------------------------------------------------


def test_biorxiv_rss10_with_dois_and_html() -> None:
    feed = parse("generic-biorxiv-rss10.xml", source="biorxiv")
    assert (feed.ok, feed.format, feed.seen, feed.skipped) == (True, "rss10", 2, ())
    first, second = feed.records
    assert_record(
        first,
        PaperRecord(
            id="doi:10.1101/2024.02.10.579001",
            title="Deep learning of cell morphology",
            authors=("J. Smith", "A. B. Jones", "C.-D. van der Berg"),
            abstract=(
                "Cells & tissues change shape under H2O stress <in vitro>. We train a "
                "café-sized model. Code: https://github.com/cellab/morpho."
            ),
            published=date(2024, 2, 13),
            url="http://biorxiv.org/cgi/content/short/2024.02.10.579001v1?rss=1",
            code_urls=("https://github.com/cellab/morpho",),
            has_code=True,
            source="biorxiv",
            extra={"doi": "10.1101/2024.02.10.579001"},
        ),
    )
    assert_record(
        second,
        PaperRecord(
            id="doi:10.1101/2024.02.11.579123",
            title="Protein language models for enzyme kinetics",
            authors=("Y. Okafor",),
            abstract="We predict kcat from sequence.",
            published=date(2024, 2, 14),
            url="http://biorxiv.org/cgi/content/short/2024.02.11.579123v1?rss=1",
            source="biorxiv",
            extra={"doi": "10.1101/2024.02.11.579123"},
        ),
    )
    assert [e.announce for e in feed.entries] == [None, None]


def test_journal_rss20() -> None:
    feed = parse("generic-journal-rss20.xml", source="ryai")
    assert (feed.ok, feed.malformed, feed.seen, len(feed.records)) == (True, None, 6, 5)
    doi_link, doi_only, link_only, guid_only, from_arxiv = feed.records
    assert_record(
        doi_link,
        PaperRecord(
            id="doi:10.1148/ryai.230001",
            title="Deep Learning Triage of Head CT",
            authors=("Maria Garcia",),
            abstract="Results & methods for triage.",
            categories=("Radiology", "Artificial Intelligence"),
            published=date(2024, 2, 13),
            url="https://journal.example.org/doi/10.1148/ryai.230001",
            source="ryai",
            extra={"doi": "10.1148/ryai.230001"},
        ),
    )
    assert_record(
        doi_only,
        PaperRecord(
            id="doi:10.1148/ryai.230002",
            title="External Validation of a Mammography Model",
            abstract="A multicenter study.",
            published=date(2024, 2, 13),
            url="https://doi.org/10.1148/RYAI.230002",
            source="ryai",
            extra={"doi": "10.1148/ryai.230002"},
        ),
    )
    clean_link = "https://journal.example.org/article/77"
    assert_record(
        link_only,
        PaperRecord(
            id=feed_paper_id(title="any", url=clean_link),
            title="Editorial: Foundation Models in the Clinic",
            abstract="An editorial.",
            published=date(2024, 2, 13),  # 08:00 at +0900, the 12th in UTC
            url=clean_link,
            source="ryai",
        ),
    )
    assert re.fullmatch(r"u[0-9a-f]{16}", link_only.id)
    assert_record(
        guid_only,
        PaperRecord(
            id=paper_id_for(title="Erratum: Triage of Head CT"),
            title="Erratum: Triage of Head CT",
            abstract="Corrects a table.",
            source="ryai",
        ),
    )
    assert_record(
        from_arxiv,
        PaperRecord(
            id="2402.10001",
            version=1,
            title="SegNet-X: Promptable Segmentation of Breast MRI",
            abstract="Preprint highlighted by the editors.",
            published=date(2024, 2, 14),
            url="https://arxiv.org/abs/2402.10001",
            source="ryai",
        ),
    )
    # One paper, whichever feed brings it.
    assert from_arxiv.id == parse("arxiv-rss-announce.xml").records[0].id
    [skipped] = feed.skipped
    assert (skipped.position, skipped.reason) == (5, "no id, link or DOI; skipped")
    assert str(skipped) == (
        "entry 5 (title 'An entry with nothing to identify it'): no id, link or DOI; skipped"
    )


def test_journal_atom10() -> None:
    feed = parse("generic-journal-atom10.xml", source="natmed")
    assert (feed.ok, feed.format, feed.seen, feed.skipped) == (True, "atom10", 2, ())
    first, second = feed.records
    assert_record(
        first,
        PaperRecord(
            id="doi:10.1038/s41591-024-00001-x",
            title="AI-supported breast cancer screening",
            authors=("Yuki Nakamura", "Lars Eriksson"),
            abstract="Screening with AI halves reading time & keeps sensitivity.",
            categories=("Oncology",),
            published=FEB_12,
            url="https://journal.example.org/articles/s41591-024-00001-x",
            source="natmed",
            extra={"doi": "10.1038/s41591-024-00001-x"},
        ),
    )
    assert_record(
        second,
        PaperRecord(
            id=feed_paper_id(title="any", url="https://journal.example.org/articles/88"),
            title="Federated learning across hospitals",
            authors=("Amina Diallo",),
            abstract="Text in bold and a list: one two",
            published=date(2024, 2, 10),
            url="https://journal.example.org/articles/88",
            source="natmed",
        ),
    )
    assert feed.entries[1].entry_id == "tag:journal.example.org,2024:article-88"


def test_headers_give_the_charset_and_the_base_of_relative_links() -> None:
    headers = {
        "content-TYPE": "application/rss+xml; charset=ISO-8859-1",
        "Content-Location": "https://revue.example.fr/flux.xml",
    }
    feed = parse("generic-latin1-rss20.xml", source="revue", headers=headers)
    assert (feed.ok, feed.malformed, feed.skipped) == (True, None, ())
    assert_record(
        feed.records[0],
        PaperRecord(
            id=feed_paper_id(title="any", url="https://revue.example.fr/articles/12"),
            title="Réseaux de neurones pour l'IRM",
            authors=("François Müller",),
            abstract="Étude préliminaire.",
            published=date(2024, 2, 15),
            url="https://revue.example.fr/articles/12",
            source="revue",
        ),
    )


def test_a_feed_served_as_html_is_still_a_clean_feed() -> None:
    plain = parse("arxiv-rss-announce.xml")
    served = parse("arxiv-rss-announce.xml", headers={"Content-Type": "text/html; charset=utf-8"})
    assert (served.ok, served.malformed) == (True, None)
    assert served.records == plain.records


# -- bad documents -------------------------------------------------------------


def test_malformed_xml_keeps_what_parsed_cleanly() -> None:
    feed = parse("malformed-entity.xml", source="eess.IV")
    assert feed.ok and feed.malformed is not None
    assert feed.malformed.startswith("not well-formed XML at line 26, column ")
    assert feed.seen == 3
    assert [r.id for r in feed.records] == ["2402.20001", "2402.20003"]
    assert_record(
        feed.records[1],
        arxiv(
            "2402.20003",
            2,
            "Self-Supervised Retinal Vessel Segmentation",
            authors=("Fatima Zahra", "Tom Becker"),
            abstract="Vessels without labels.",
            categories=("eess.IV", "cs.CV"),
            published=date(2024, 2, 13),
            source="eess.IV",
        ),
    )
    assert feed.entries[1].announce == "replace"
    [skipped] = feed.skipped
    assert (skipped.position, skipped.entry_id) == (2, "oai:arXiv.org:2402.20002v1")
    assert skipped.reason == "the XML error at line 26 damaged it; skipped"
    assert feed.summary() == "feed=eess.IV seen=3 parsed=2 skipped=1 malformed"


def test_truncated_document_never_stores_half_an_entry() -> None:
    feed = parse("malformed-truncated.xml", source="cs.LG")
    assert feed.ok and feed.malformed is not None and "no element found" in feed.malformed
    assert_record(
        feed.records[0],
        arxiv(
            "2402.30001",
            1,
            "Calibrated Uncertainty for Medical Classifiers",
            authors=("Nora Lindqvist",),
            abstract="Temperature scaling is not enough.",
            categories=("cs.LG",),
            published=date(2024, 2, 13),
            source="cs.LG",
        ),
    )
    assert [(s.position, s.entry_id) for s in feed.skipped] == [(2, "oai:arXiv.org:2402.30002v1")]
    assert feed.seen == 2


@pytest.mark.parametrize("headers", [None, {"Content-Type": "text/html; charset=utf-8"}])
def test_html_error_page_is_not_a_feed(headers: dict[str, str] | None) -> None:
    feed = parse("html-error-page.html", headers=headers)
    assert (feed.ok, feed.not_a_feed, feed.seen, feed.records) == (False, True, 0, ())
    assert feed.error == (
        "the server sent an HTML page ('503 Service Unavailable'), not an RSS or Atom feed"
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "the response was empty, not a feed"),
        (b"  \n", "the response was empty, not a feed"),
        (b'{"error": "rate limited"}', "the document is not an RSS or Atom feed"),
    ],
)
def test_other_non_feeds(data: bytes, error: str) -> None:
    feed = parse_feed(data, source="x")
    assert feed.not_a_feed and not feed.ok and feed.records == ()
    assert feed.error is not None and feed.error.startswith(error)


def test_bytes_naming_a_file_are_data_never_opened() -> None:
    # feedparser opens a file or fetches a URL when handed its name; the
    # parser must read the bytes it is given and nothing else.
    path = FEEDS / "arxiv-rss-announce.xml"
    feed = parse_feed(str(path).encode(), source="x")
    assert feed.not_a_feed and feed.records == ()


def test_entries_missing_title_or_id_are_skipped_and_counted() -> None:
    feed = parse("arxiv-rss-missing-fields.xml")
    assert (feed.ok, feed.malformed, feed.seen) == (True, None, 4)
    assert [r.id for r in feed.records] == ["2402.40001", "2402.40004"]
    assert [e.announce for e in feed.entries] == ["new", "cross"]
    assert [str(s) for s in feed.skipped] == [
        "entry 2 (id 'oai:arXiv.org:2402.40002v1'): no title; skipped",
        "entry 3 (title 'A Paper Without Any Identifier'): "
        "no arXiv id in an arXiv announcement; skipped",
    ]
    assert feed.summary() == "feed=cs.CV seen=4 parsed=2 skipped=2"


# -- the rules, one by one -----------------------------------------------------

AUTHOR_CASES = [
    pytest.param("Alice Smith, Bob Jones", ("Alice Smith", "Bob Jones"), False, id="arxiv list"),
    pytest.param("Kenji Tanaka", ("Kenji Tanaka",), False, id="one author"),
    pytest.param(
        "Wei Zhang (Fudan University, Shanghai), Ana Lima (INESC TEC [Porto])",
        ("Wei Zhang", "Ana Lima"),
        False,
        id="affiliations with commas",
    ),
    pytest.param(
        "A Smith, B Jones, and C White", ("A Smith", "B Jones", "C White"), False, id="oxford and"
    ),
    pytest.param("A Smith and B Jones", ("A Smith", "B Jones"), False, id="and alone"),
    pytest.param("A Smith & B Jones", ("A Smith", "B Jones"), False, id="ampersand"),
    pytest.param(
        "Ann Anderson, Sandra Randall",
        ("Ann Anderson", "Sandra Randall"),
        False,
        id="and inside words",
    ),
    pytest.param("A Smith, B Jones, et al.", ("A Smith", "B Jones"), True, id="et al piece"),
    pytest.param("A Smith, B Jones et al", ("A Smith", "B Jones"), True, id="et al glued"),
    pytest.param("A Smith and others", ("A Smith",), True, id="and others"),
    pytest.param("John Smith, Jr., Ana Lima", ("John Smith Jr.", "Ana Lima"), False, id="suffix"),
    pytest.param(
        "Smith, J., Jones, A. B., van der Berg, C.-D.",
        ("J. Smith", "A. B. Jones", "C.-D. van der Berg"),
        False,
        id="biorxiv surname initials",
    ),
    pytest.param("Okafor, Y.", ("Y. Okafor",), False, id="one surname initials"),
    pytest.param("Nakamura, Yuki", ("Yuki Nakamura",), False, id="surname given"),
    pytest.param(
        "Smith, John; Doe, Jane Q.", ("John Smith", "Jane Q. Doe"), False, id="semicolon list"
    ),
    pytest.param(
        r"M\'elodie Desbos, Zo\"e {\O}degaard, Fran\c{c}ois Ch\^ateau, {\L}ukasz G\'{o}rski",
        ("Mélodie Desbos", "Zoë Ødegaard", "François Château", "Łukasz Górski"),
        False,
        id="latex accents",
    ),
    pytest.param("  Ana   Lima ,  ", ("Ana Lima",), False, id="spaces and trailing comma"),
    pytest.param(
        "Alexander Sandoval,  Fernando\nAndersen",
        ("Alexander Sandoval", "Fernando Andersen"),
        False,
        id="and inside words, odd spacing",
    ),
    pytest.param(
        "and Bob Smith, Carol Jones", ("Bob Smith", "Carol Jones"), False, id="leading and"
    ),
    pytest.param("A Smith, B Jones, ET AL.", ("A Smith", "B Jones"), True, id="et al in capitals"),
    pytest.param("A Smith, B Jones and otherſ", ("A Smith", "B Jones"), True, id="long s"),
    pytest.param("", (), False, id="empty"),
]


@pytest.mark.parametrize(("text", "names", "truncated"), AUTHOR_CASES)
def test_split_authors(text: str, names: tuple[str, ...], truncated: bool) -> None:
    assert split_authors(text) == (names, truncated)


@pytest.mark.parametrize(
    ("value", "doi"),
    [
        ("10.1101/2024.01.01.123456", "10.1101/2024.01.01.123456"),
        ("doi:10.1101/2024.01.01.123456", "10.1101/2024.01.01.123456"),
        ("DOI: 10.1109/TMI.2024.1", "10.1109/tmi.2024.1"),
        ("info:doi/10.1000/xyz", "10.1000/xyz"),
        ("https://doi.org/10.1038/S41591-024-00001-X", "10.1038/s41591-024-00001-x"),
        ("http://dx.doi.org/10.1016/S0550-3213(01)00405-9", "10.1016/s0550-3213(01)00405-9"),
        ("https://doi.org/10.1000/a%2Fb", "10.1000/a/b"),
        ("10.1000/xyz.", "10.1000/xyz"),
        ("https://www.biorxiv.org/content/10.1101/2024.01.01.123456v1", None),
        ("tag:journal.example.org,2024:88", None),
        ("10.12/too-short-prefix", None),
    ],
)
def test_normalize_doi(value: str, doi: str | None) -> None:
    assert normalize_doi(value) == doi


def test_feed_paper_id_order_and_forms() -> None:
    title = "A Title"
    everything = {"arxiv_id": "arXiv:2402.12345v2", "doi": "10.1/x", "url": "https://x.org/a"}
    assert feed_paper_id(title=title, **everything) == "2402.12345"
    assert feed_paper_id(title=title, doi="10.1101/AbC", url="https://x.org/a") == "doi:10.1101/abc"
    assert feed_paper_id(title=title) == paper_id_for(title=title)
    long_doi = "10.1002/" + "x" * 80
    assert re.fullmatch(r"d[0-9a-f]{16}", feed_paper_id(title=title, doi=long_doi))
    same = {
        feed_paper_id(title=title, url=url)
        for url in (
            "https://journal.example.org/a/1",
            "http://www.journal.example.org/a/1/",
            "https://JOURNAL.example.org/a/1#abstract",
            "https://journal.example.org/a/1?utm_source=rss&utm_campaign=x",
        )
    }
    assert len(same) == 1
    assert feed_paper_id(title=title, url="https://journal.example.org/a?id=2") != feed_paper_id(
        title=title, url="https://journal.example.org/a?id=3"
    )


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("H<sub>2</sub>O and E = mc<sup>2</sup>", "H2O and E = mc2"),
        ("a &amp; b &lt;c&gt; caf&eacute;&nbsp;x", "a & b <c> café x"),
        ("<script>alert(1)</script><style>p{}</style>kept", "kept"),
        ("&lt;p&gt;escaped &amp;amp; twice&lt;/p&gt;", "escaped & twice"),
        ("<b>unclosed <i>tags", "unclosed tags"),
        ("line\n\n  breaks\tand   tabs", "line breaks and tabs"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


# -- the fast reader of arXiv's announcement feeds -----------------------------
#
# parse_feed reads arXiv's announcement feeds with bot.ingest.arxiv and any
# other document with feedparser. The two readings must never differ: every
# document below is read both ways and the results compared whole, records'
# ``extra`` included; the odd ones must go to feedparser and keep its result.

ANNOUNCEMENTS = [
    "arxiv-atom-announce.xml",
    "arxiv-rss-announce.xml",
    "arxiv-rss-missing-fields.xml",
    "arxiv-rss-weekend-empty.xml",
]


def assert_same_reading(data: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    """parse_feed's result, checked equal to feedparser's reading of ``data``."""
    fast = parse_feed(data, source="cs.CV", headers=headers)
    slow = _parse_with_feedparser(data, source="cs.CV", headers=headers)
    assert fast == slow
    for mine, theirs in zip(fast.entries, slow.entries, strict=True):
        assert mine.record.extra == theirs.record.extra, mine.record.id
    return fast


def read_fast(data: bytes, headers: dict[str, str] | None = None) -> bool:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return read_announcement(data, lowered) is not None


@pytest.mark.parametrize("path", sorted(FEEDS.iterdir()), ids=lambda p: p.name)
def test_every_fixture_reads_as_feedparser_reads_it(path: Path) -> None:
    data = path.read_bytes()
    assert read_fast(data) == (path.name in ANNOUNCEMENTS)
    assert_same_reading(data)


SERVED_AS = [
    None,
    {"Content-Type": "application/rss+xml; charset=utf-8"},
    {"Content-Type": "text/html; charset=UTF-8", "Content-Location": "https://rss.arxiv.org/x"},
    {"Content-Type": "application/xml", "Content-Location": "http://export.arxiv.org:8080/"},
]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_announcements_read_as_feedparser_reads_them(fmt: str, seed: int) -> None:
    data = synth_feed(entries=120, fmt=fmt, seed=seed)
    headers = SERVED_AS[seed % len(SERVED_AS)]
    assert read_fast(data, headers)
    feed = assert_same_reading(data, headers)
    assert (feed.seen, feed.skipped, feed.malformed) == (120, (), None)
    assert {e.announce for e in feed.entries} == set(ANNOUNCE_TYPES)
    assert any(r.code_urls for r in feed.records) and any(e.doi for e in feed.entries)


RSS = (FEEDS / "arxiv-rss-announce.xml").read_text("utf-8")
ATOM = (FEEDS / "arxiv-atom-announce.xml").read_text("utf-8")
FIRST_TITLE = "<title>SegNet-X: Promptable Segmentation of Breast MRI</title>"
FIRST_ABSTRACT = "Abstract: We present SegNet-X"
FIRST_CREATOR = "<dc:creator>Wei Zhang (Fudan University, Shanghai, China)"


def variant(text: str, old: str, new: str) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


# Documents the fast reader takes, each with something it must read as feedparser does.
READ_FAST = [
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: <![CDATA[We <b>present</b>]]> SegNet-X"), id="cdata"
    ),
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: We <!-- note --> present SegNet-X"), id="comment"
    ),
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: We present &#x201C;SegNet-X&#x201D;"), id="charrefs"
    ),
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: We present Ã© SegNet-X"), id="mojibake repaired"
    ),
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: We present &#x93;SegNet-X&#x94;"), id="c1 as cp1252"
    ),
    pytest.param(
        variant(RSS, FIRST_TITLE, "<title>Segment &amp; Track: x &lt; y</title>"),
        id="ampersand title",
    ),
    pytest.param(b'<?xml version="1.0" encoding="UTF-8"?>\n' + RSS.encode(), id="declaration"),
    pytest.param(b"\xef\xbb\xbf" + RSS.encode("utf-8"), id="utf-8 bom"),
    pytest.param(
        variant(RSS, "</item>", "<arxiv:comment>12 pages, github.com/a/b</arxiv:comment></item>"),
        id="comment element",
    ),
    pytest.param(
        variant(RSS, "</item>", '<arxiv:primary_category term="eess.IV"/></item>'),
        id="primary category",
    ),
    pytest.param(variant(RSS, "   It reaches", "\n\tIt reaches"), id="whitespace"),
    pytest.param(
        variant(
            ATOM,
            '<link href="https://arxiv.org/abs/2402.10001" rel="alternate" type="text/html"/>',
            '<link href="https://arxiv.org/pdf/2402.10001v1" rel="related" type="application/pdf" title="pdf"/>',
        ),
        id="atom pdf link only",
    ),
    pytest.param(
        variant(ATOM, "<title>SegNet-X", "<title>Fast &lt;i&gt;MRI&lt;/i&gt; SegNet-X"),
        id="atom title with tags",
    ),
    pytest.param(
        variant(
            ATOM, "</entry>", '<category term="cs.CV" scheme="x" label="Computer Vision"/></entry>'
        ),
        id="atom repeated category",
    ),
]


@pytest.mark.parametrize("data", READ_FAST)
def test_fast_reading_of_unusual_but_readable_documents(data: bytes) -> None:
    assert read_fast(data)
    assert_same_reading(data)


# Documents the fast reader must refuse: feedparser reads them, as before.
FALL_BACK = [
    pytest.param(variant(RSS, "<rss ", "<!DOCTYPE rss>\n<rss "), id="doctype"),
    pytest.param(
        variant(
            RSS, "<rss ", '<!DOCTYPE rss [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<rss '
        ).replace(b"Abstract: We present", b"Abstract: &b;&b; We present"),
        id="nested entities",
    ),
    pytest.param(
        variant(RSS, FIRST_TITLE, "<title>Fast &lt;i&gt;MRI&lt;/i&gt;</title>"), id="html title"
    ),
    pytest.param(
        variant(RSS, FIRST_TITLE, "<title>Fast &amp;eacute; MRI</title>"), id="entity-like title"
    ),
    pytest.param(
        variant(RSS, FIRST_CREATOR, "<dc:creator>wei@fudan.edu.cn (Wei Zhang)"), id="e-mail author"
    ),
    pytest.param(
        variant(
            RSS, "</item>", "<content:encoded>&lt;p&gt;Full text&lt;/p&gt;</content:encoded></item>"
        ),
        id="content",
    ),
    pytest.param(
        variant(RSS, "</item>", "<dc:creator>Second Creator</dc:creator></item>"), id="two creators"
    ),
    pytest.param(variant(RSS, "</item>", "<title>Second Title</title></item>"), id="two titles"),
    pytest.param(variant(RSS, "<item>", '<item xml:base="https://example.org/">'), id="xml base"),
    pytest.param(variant(RSS, 'isPermaLink="false"', 'isPermaLink="true"'), id="permalink guid"),
    pytest.param(
        variant(
            RSS, "<link>https://arxiv.org/abs/2402.10001</link>", "<link>/abs/2402.10001</link>"
        ),
        id="relative link",
    ),
    pytest.param(
        variant(
            RSS,
            "<link>https://arxiv.org/abs/2402.10001</link>",
            "<link>https://arxiv.org/abs/2402.10001?a=1&amp;b=2</link>",
        ),
        id="link with query",
    ),
    pytest.param(
        variant(
            RSS,
            'xmlns:arxiv="http://arxiv.org/schemas/atom"',
            'xmlns:ax="http://arxiv.org/schemas/atom"',
        ).replace(b"arxiv:", b"ax:"),
        id="other prefix",
    ),
    pytest.param(variant(RSS, 'version="2.0"', 'version="0.91"'), id="rss 0.91"),
    pytest.param(
        variant(
            RSS,
            "<pubDate>Mon, 12 Feb 2024 00:00:00 -0500</pubDate>",
            "<pubDate>12/02/2024</pubDate>",
        ),
        id="odd date",
    ),
    pytest.param(
        variant(RSS, "<docs>", "<image><url>https://arxiv.org/logo.png</url></image><docs>"),
        id="channel image",
    ),
    pytest.param(
        variant(
            RSS,
            "<item>",
            "<item><title>Twice</title>",
        ).replace(b"<title>Twice</title>", b"<bogus/>", 1),
        id="unknown element",
    ),
    pytest.param(
        variant(ATOM, "<title>SegNet-X", '<title type="html">SegNet-X'), id="atom html title"
    ),
    pytest.param(
        variant(ATOM, "<id>oai:arXiv.org:2402.10001v1</id>", "<id>tag:arxiv.org,2024:x</id>"),
        id="atom other id",
    ),
    pytest.param(
        variant(ATOM, "</entry>", "<author><name>Ana Lima</name></author></entry>"),
        id="atom author",
    ),
    pytest.param(RSS.encode("utf-16"), id="utf-16"),
    pytest.param(
        variant(RSS, FIRST_ABSTRACT, "Abstract: We présent SegNet-X").decode().encode("latin-1"),
        id="latin-1 undeclared",
    ),
    pytest.param((FEEDS / "malformed-entity.xml").read_bytes(), id="not well-formed"),
    pytest.param((FEEDS / "malformed-truncated.xml").read_bytes(), id="truncated"),
    pytest.param((FEEDS / "arxiv-error-feed.xml").read_bytes(), id="error feed"),
]


@pytest.mark.parametrize("data", FALL_BACK)
def test_anything_unusual_goes_to_feedparser(data: bytes) -> None:
    assert_same_reading(data)


@pytest.mark.parametrize("data", [p.values[0] for p in FALL_BACK if p.id != "odd date"])
def test_the_fast_reader_refuses_what_it_cannot_read_exactly(data: bytes) -> None:
    assert not read_fast(data)


def test_charset_headers_decide_which_reader() -> None:
    ascii_only = RSS.replace("M\\'elodie", "Melodie").encode("ascii", "replace")
    accented = variant(RSS, FIRST_ABSTRACT, "Abstract: We présent SegNet-X")
    assert read_fast(ascii_only, {"Content-Type": "text/xml"})  # us-ascii: the same characters
    assert not read_fast(accented, {"Content-Type": "text/xml"})  # us-ascii cannot read it
    assert not read_fast(accented, {"Content-Type": "application/rss+xml; charset=iso-8859-1"})
    assert not read_fast(accented, {"ETag": '"x"'})  # no Content-Type: feedparser reads Latin-1
    assert read_fast(accented, {"Content-Type": "application/rss+xml; charset=utf-8"})
    assert not read_fast(RSS.encode(), {"Content-Location": "relative/path"})
    for headers in [{"Content-Type": "text/xml"}, {"ETag": '"x"'}, {"Content-Location": "x/y"}]:
        assert_same_reading(accented, headers)
        assert_same_reading(ascii_only, headers)


def test_doctype_entities_are_never_fetched() -> None:
    feed = parse("arxiv-rss-doctype-entities.xml")
    assert feed.ok and feed.malformed is not None and "undefined entity" in feed.malformed
    assert feed.seen == 2 and [r.id for r in feed.records] == ["2402.10001"]
    record = feed.records[0]
    assert record.title == "SegNet-X: Promptable Segmentation of Breast MRI"
    assert record.abstract.startswith("We present SegNet-X, a promptable model")
    assert [(s.position, s.entry_id) for s in feed.skipped] == [(2, "oai:arXiv.org:2402.10002v1")]
    hostname = Path("/etc/hostname")
    if hostname.exists() and (secret := hostname.read_text().strip()):
        assert all(secret not in r.abstract for r in feed.records)


def test_a_slip_in_the_fast_reader_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, headers: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.ingest.feeds.read_announcement", broken)
    assert parse("arxiv-rss-announce.xml") == _parse_with_feedparser(
        (FEEDS / "arxiv-rss-announce.xml").read_bytes(), source="cs.CV"
    )


# _links only spares extract_links the words that cannot hold a link.
LINK_TEXTS = [
    *(p.values[0] for p in EXTRACT_CASES + LINKS_CASES),
    "Code: HTTPS://GitHub.COM/Owner/Repo. Page: https://Owner.GitHub.io/x/.",
    "See github.com/a/b and gitlab.com/g/s/p/-/tree/main, or hf.co/org/m.",
    "A ſ-long s: https://gitſ.com/a/b; a Kelvin sign: bitbuc\u212aet.org/a/b; "
    "a dotless \u0131: g\u0131thub.com/a/b; İstanbul github.com/x/y.",
    r"Weights at \url{https://huggingface.co/a/b}\_v2 and my\_repo github.com/a/my\_repo.",
    "tabs\tand\nnewlines\u00a0https://github.com/a/b\u2003https://github.com/c/d",
    "no link at all, only words: github, com, io.",
    "",
]


@pytest.mark.parametrize("text", LINK_TEXTS)
def test_links_are_extract_links(text: str) -> None:
    assert _links(text) == extract_links(text)


def test_links_of_synthetic_abstracts_are_extract_links() -> None:
    feed = parse_feed(synth_feed(entries=200, fmt="rss", seed=7), source="cs.CV")
    assert sum(bool(r.code_urls) for r in feed.records) > 20
    for record in feed.records:
        assert _links(record.abstract) == extract_links(record.abstract)


COLLAPSE_TEXTS = [
    "",
    " ",
    "one",
    " lead",
    "trail ",
    "a  b",
    "x" * 300,
    "word " * 60 + "end",
    "word " * 60 + " end",
    ("word " * 60).strip() + "\x1c",
    ("word " * 60).strip() + "\u00a0é",
    ("mot " * 60).strip() + " é",
    ("word " * 60).strip().replace(" ", "\u2003", 1),
    ("line\n" * 60).strip(),
]


@pytest.mark.parametrize("text", COLLAPSE_TEXTS)
def test_collapse_is_split_and_join(text: str) -> None:
    assert _collapse(text) == " ".join(text.split())


def test_every_whitespace_character_but_the_space_is_unprintable() -> None:
    # _collapse trusts this to pass printable non-ASCII text through untouched.
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    assert [c for c in spaces if c.isprintable()] == [" "]
    assert {c for c in spaces if c.isascii()} == set(_ASCII_SPACES) - {"  "} | {" "}


def test_a_document_of_many_comments_is_refused_at_once() -> None:
    # Recognising an HTML page once used a regular expression that backtracked
    # exponentially on a run of comments: 1 KB of them took minutes.
    data = b"<!-- a -->" * 100 + b"<!--" + b" x" * 300
    started = time.perf_counter()
    parsed = parse_feed(data, source="comments")
    assert time.perf_counter() - started < 2.0
    assert parsed.error is not None and not parsed.entries


@pytest.mark.parametrize("head", [
    b"<!DOCTYPE html><html><title>x</title>",
    b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- proxy --><html>",
    b"  <!doctype   HTML>",
])
def test_html_pages_behind_declarations_and_comments_are_named(head: bytes) -> None:
    assert "HTML page" in (parse_feed(head + b"<body>down</body></html>", source="x").error or "")
