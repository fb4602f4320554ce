"""The parser's rules one by one: authors, DOIs, paper ids, HTML to text, whitespace."""

from __future__ import annotations

import re
import sys

import pytest

from bot.ingest.authors import split_authors
from bot.ingest.identity import normalize_doi, paper_id_for
from bot.ingest.identity import paper_id_for as feed_paper_id
from bot.ingest.markup import ASCII_SPACES as _ASCII_SPACES
from bot.ingest.markup import clean_text
from bot.ingest.markup import collapse as _collapse

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
        ("TeX's $a<b$ and $c>d$, <x, y> and a < b", "TeX's $a<b$ and $c>d$, <x, y> and a < b"),
        ("plain &amp;amp; decoded once, AT&T &copy 2024 &notit;",
         "plain &amp; decoded once, AT&T &copy 2024 &notit;"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;kept", "kept"),
        ("<script>left open, its tag alone goes", "left open, its tag alone goes"),
        ("<!-- a comment -->kept <!-- left open", "kept <!-- left open"),
        ("ESC\x1b[31m NUL\x00 DEL\x7f C1\x93quoted\x94 BOM\ufeff", "ESC[31m NUL DEL C1\u201cquoted\u201d BOM"),
    ],
)
def test_clean_text(html: str, text: str) -> None:
    assert clean_text(html) == text


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
