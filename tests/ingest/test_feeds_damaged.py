"""The feed parser on bad documents: malformed or cut-short XML, HTML pages, non-feeds."""

from __future__ import annotations

import time
from datetime import date

import pytest

from bot.ingest.feeds import parse_feed
from tests.ingest.feed_helpers import FEEDS, arxiv, assert_record, parse


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


JOURNAL = "https://journal.example.org/papers/"


@pytest.mark.parametrize(
    ("name", "malformed", "kept", "damaged"),
    [
        ("malformed-rss091-truncated.xml", "at line 23, column 10: unclosed token",
         ["knee-mri", "sparse-ct"], [3]),
        ("malformed-rss091-control-char.xml",
         "at line 22, column 33: not well-formed (invalid token)",
         ["knee-mri", "sparse-ct", "contours"], [3]),
        ("malformed-commented-item-truncated.xml", "at line 28, column 23: no element found",
         ["knee-mri", "sparse-ct"], [3]),
    ],
    ids=["truncated", "control-char", "commented-item"],
)
def test_the_entries_before_an_xml_error_are_kept_whole(
    name: str, malformed: str, kept: list[str], damaged: list[int]
) -> None:
    # Each break lies where feedparser's own report of it misleads: a DOCTYPE
    # it drops first (its line numbers one short), or an item named in a comment.
    feed = parse(name, source="journal")
    assert feed.ok and feed.malformed == f"not well-formed XML {malformed}"
    assert [r.url for r in feed.records] == [JOURNAL + slug for slug in kept]
    assert feed.records[1].title == "Sparse-View CT Reconstruction with Score Models"
    assert feed.records[1].abstract == "Score models fill in the missing views."
    line = malformed.split(",")[0].removeprefix("at line ")
    assert [(s.position, s.reason) for s in feed.skipped] == [
        (n, f"the XML error at line {line} damaged it; skipped") for n in damaged]
    assert all("\x01" not in r.title and r.abstract for r in feed.records)


def test_an_undeclared_prefix_damages_no_entry() -> None:
    # Not namespace-well-formed, yet every entry is whole: the lenient reading keeps them.
    data = (FEEDS / "arxiv-rss-announce.xml").read_bytes()
    data = data.replace(b' xmlns:dc="http://purl.org/dc/elements/1.1/"', b"")
    feed = parse_feed(data, source="cs.CV")
    assert feed.malformed is not None and "unbound prefix" in feed.malformed
    assert (feed.seen, len(feed.records), feed.skipped) == (4, 4, ())


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
