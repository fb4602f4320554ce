"""One cleaner for every format: the same hostile title and abstract, sent by
an RSS feed, an Atom feed, arXiv's RSS and Atom announcement feeds, an arXiv
API page and a seed file, are stored as the same text: markup gone, script
and style content dropped, entities decoded once, control characters gone.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.ingest.feeds import parse_feed
from bot.ingest.markup import clean_text
from bot.ingest.seeds import parse_seed_text
from bot.model.papers import PaperRecord

AUTHORS = "Anna Berg, Carl Dahl"


def rss(title: str, abstract: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        "<title>Journal</title><link>https://journal.example.org/</link>\n"
        f"<item><title>{escape(title)}</title><link>https://journal.example.org/1</link>"
        f"<description>{escape(abstract)}</description><author>{AUTHORS}</author>"
        "<guid>https://journal.example.org/1</guid></item></channel></rss>\n"
    ).encode()


def atom(title: str, abstract: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Journal</title><id>https://journal.example.org/</id>"
        "<updated>2024-02-12T10:00:00Z</updated>\n"
        f"<entry><title>{escape(title)}</title><id>https://journal.example.org/1</id>"
        "<updated>2024-02-12T10:00:00Z</updated>"
        f"<author><name>Anna Berg</name></author><author><name>Carl Dahl</name></author>"
        f'<summary type="html">{escape(abstract)}</summary></entry></feed>\n'
    ).encode()


def arxiv_rss(title: str, abstract: str) -> bytes:
    return (
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel>'
        "<title>cs.CV updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.CV</link>\n"
        f"<item><title>{escape(title)}</title><link>https://arxiv.org/abs/2402.10001</link>"
        "<description>arXiv:2402.10001v1 Announce Type: new \n"
        f"Abstract: {escape(abstract)}</description>"
        '<guid isPermaLink="false">oai:arXiv.org:2402.10001v1</guid><category>cs.CV</category>'
        "<pubDate>Mon, 12 Feb 2024 00:00:00 -0500</pubDate>"
        f"<arxiv:announce_type>new</arxiv:announce_type><dc:creator>{AUTHORS}</dc:creator>"
        "</item></channel></rss>\n"
    ).encode()


def arxiv_atom(title: str, abstract: str) -> bytes:
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<title>cs.CV updates on arXiv.org</title><id>http://rss.arxiv.org/atom/cs.CV</id>"
        "<updated>2024-02-12T00:00:00-05:00</updated>\n"
        f"<entry><id>oai:arXiv.org:2402.10001v1</id><title>{escape(title)}</title>"
        "<updated>2024-02-12T00:00:00-05:00</updated>"
        '<link href="https://arxiv.org/abs/2402.10001" rel="alternate" type="text/html"/>'
        "<summary>arXiv:2402.10001v1 Announce Type: new \n"
        f"Abstract: {escape(abstract)}</summary>"
        '<category term="cs.CV" scheme="http://arxiv.org/schemas/atom/"/>'
        "<published>2024-02-12T00:00:00-05:00</published>"
        f"<arxiv:announce_type>new</arxiv:announce_type><dc:creator>{AUTHORS}</dc:creator>"
        "</entry></feed>\n"
    ).encode()


def arxiv_api(title: str, abstract: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>ArXiv Query: id_list=2402.10001</title>"
        "<id>http://arxiv.org/api/x</id><updated>2024-02-15T00:00:00-05:00</updated>\n"
        "<entry><id>http://arxiv.org/abs/2402.10001v1</id>"
        "<published>2024-02-12T09:30:00Z</published>"
        f"<title>{escape(title)}</title><summary>{escape(abstract)}</summary>"
        "<author><name>Anna Berg</name></author><author><name>Carl Dahl</name></author>"
        '<link href="http://arxiv.org/abs/2402.10001v1" rel="alternate" type="text/html"/>'
        '<arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CV"/>'
        "</entry></feed>\n"
    ).encode()


FEEDS = {"rss": rss, "atom": atom, "arxiv-rss": arxiv_rss, "arxiv-atom": arxiv_atom,
         "arxiv-api": arxiv_api}


def seed(title: str, abstract: str) -> PaperRecord:
    text = f"CVFeb 12, 2024\n{title}{AUTHORS}\n{abstract}\n"
    (record,) = parse_seed_text(text, path="seeds/hostile.txt").records
    return record


def stored(title: str, abstract: str) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """What each route stores for this title and abstract: title, abstract, authors."""
    got = {}
    for name, document in FEEDS.items():
        parsed = parse_feed(document(title, abstract), source=name)
        assert not parsed.skipped and not parsed.malformed, (name, parsed.summary())
        (record,) = parsed.records
        got[name] = (record.title, record.abstract, record.authors)
    record = seed(title, abstract)
    got["seed"] = (record.title, record.abstract, record.authors)
    return got


HOSTILE = [
    "<script>alert(1)</script>", "<SCRIPT type='x'>alert(2)</SCRIPT >", "<style>p{}</style>",
    "<script>", "<b>", "</b>", "<p>", "<br/>", "<i>x</i>", '<a href="https://x.org/?a=1&amp;b=2">',
    "</a>", "<!-- note -->", "<!--", "<<b>b>", "&amp;", "&lt;", "&gt;", "&lt;b&gt;",
    "&lt;script&gt;alert(3)&lt;/script&gt;", "&amp;lt;b&amp;gt;", "&amp;amp;", "&#27;", "&#x1b;[31m",
    "&#0;", "&#x93;", "&nbsp;", "&eacute;", "&notit;", "&copy 2024", "AT&T", "$a<b$", "$c>d$",
    "<x, y>", "a < b", "\t", "  ", "\x7f", "\x93", "\x81", "\ufeff", "\u00a0", "\u2028", "é", "日本",
    "🙂", "MRI", "Word", "word", " ", "-", ",",
]
# Not U+0085 (NEL): feedparser strips it from an element's ends as white
# space and reads it as windows-1252's "…" elsewhere, before any cleaning, so
# at the start of an arXiv abstract (after "Abstract: ") it stays an "…".
# Ends in a lowercase word: the seed file glues the authors right after it.
texts = st.lists(st.sampled_from(HOSTILE), max_size=10).map(lambda parts: "".join(parts) + " end")


@pytest.mark.parametrize(
    ("title", "abstract", "expected"),
    [
        ("Robust <b>MRI</b> <script>alert(1)</script>triage",
         "We <i>segment</i> lesions.<script>alert(1)</script> <style>p{}</style>Done &amp; dusted.",
         ("Robust MRI triage", "We segment lesions. Done & dusted.")),
        ("Order &amp;amp; chaos", "Depth with $a<b$ and $c>d$ between pixels&#27;[31m.",
         ("Order &amp; chaos", "Depth with $a<b$ and $c>d$ between pixels[31m.")),
        ("&lt;p&gt;Escaped twice &amp;amp; read&lt;/p&gt; once more",
         "Caf\x93e\x7f and &notit; &copy 2024",
         ("Escaped twice & read once more", "Caf\u201ce and &notit; &copy 2024")),
    ],
    ids=["script", "entities-and-tex", "escaped-twice"],
)
def test_every_route_stores_the_same_clean_text(
    title: str, abstract: str, expected: tuple[str, str]
) -> None:
    got = stored(title, abstract)
    assert set(got.values()) == {(*expected, ("Anna Berg", "Carl Dahl"))}, got


@settings(max_examples=150, deadline=None)
@given(title=texts, abstract=texts)
@example(title="<script>alert(1)</script> end", abstract="x<script>alert(1)</script> end")
def test_every_route_gives_the_same_text_for_any_hostile_text(title: str, abstract: str) -> None:
    got = stored(title, abstract)
    assert len(set(got.values())) == 1, got
    title_got, abstract_got, _ = got["seed"]
    for text in (title_got, abstract_got):
        assert "alert" not in text and "p{}" not in text
        assert not any(c < " " or "\x7f" <= c <= "\x9f" for c in text), text
    assert (title_got, abstract_got) == (clean_text(title), clean_text(abstract))


@pytest.fixture
def cli(tmp_path: Path, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_FEEDS", "")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_an_arxiv_abstract_and_a_seed_line_are_stored_clean(cli, tmp_path: Path) -> None:
    feed = tmp_path / "cs.CV.rss"
    feed.write_bytes(arxiv_rss(
        "Promptable MRI segmentation",
        "We <b>segment</b> lesions.<script>alert(1)</script> Done &amp; dusted&#27;[31m.",
    ))
    assert cli("ingest", str(feed))[0] == 0
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(
        "CVFeb 12, 2024\nA <i>seeded</i>\x1b[31m paper\x00Anna Berg, Carl Dahl\n"
        "Its <script>alert(1)</script>abstract &amp; more\x07.\n", "utf-8")
    assert cli("seed", str(seeds))[0] == 0

    code, out, _ = cli("show", "2402.10001", "--json")
    assert code == 0
    assert json.loads(out)["abstract"] == "We segment lesions. Done & dusted[31m."
    code, out, _ = cli("search", "seeded", "--json")
    (paper,) = json.loads(out)
    assert (paper["title"], paper["abstract"]) == ("A seeded[31m paper", "Its abstract & more.")


def test_seed_record_date() -> None:  # the seed route above is a real record
    assert seed("A title end", "An abstract.").published == date(2024, 2, 12)


# -- author names: decoded once, then split ------------------------------------

MENTIONS = "&lt;@everyone&gt;, &lt;!here&gt;, Jones Smith"


def journal_item(number: int, title: str) -> str:
    return (
        f"<item><title>{title}</title><link>https://journal.example.org/{number}</link>"
        f"<description>Paper {number}.</description><dc:creator>{MENTIONS}</dc:creator>"
        f"<guid>https://journal.example.org/{number}</guid></item>\n"
    )


def journal(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>Journal</title><link>https://journal.example.org/</link>\n"
        + "".join(items) + "</channel></rss>\n"
    ).encode()


def test_a_malformed_feed_splits_author_names_after_decoding(cli, tmp_path: Path) -> None:
    # One character reference XML forbids makes the document malformed, and
    # feedparser's lenient reading of it leaves the entities undecoded.
    broken = tmp_path / "broken.rss"
    broken.write_bytes(journal(journal_item(1, "Escape&#27;d"), journal_item(2, "Second paper")))
    code, out, _ = cli("ingest", str(broken))
    assert code == 0 and "malformed=" in out, out
    code, out, _ = cli("search", "second", "--json")
    (paper,) = json.loads(out)
    assert paper["authors"] == ["<@everyone>", "<!here>", "Jones Smith"]

    whole = parse_feed(journal(journal_item(2, "Second paper")), source="whole")
    assert whole.records[0].authors == ("<@everyone>", "<!here>", "Jones Smith")
