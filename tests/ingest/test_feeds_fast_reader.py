"""The fast reader of arXiv's announcement feeds reads every document as feedparser does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.synth_feed import synth_feed
from bot.ingest.arxiv import read_announcement
from bot.ingest.entries import ANNOUNCE_TYPES, _links
from bot.ingest.feeds import ParsedFeed, _parse_with_feedparser, parse_feed
from bot.model.links import extract_links
from tests.ingest.feed_helpers import FEEDS, parse
from tests.model.test_links import EXTRACT_CASES, LINKS_CASES

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
