"""The feed parser on arXiv's documents: its announcement feeds and its API."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.ingest.entries import ANNOUNCE_TYPES, FeedEntry
from bot.model.papers import PaperRecord
from tests.ingest.feed_helpers import FEB_12, FEEDS, arxiv, assert_record, parse

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
