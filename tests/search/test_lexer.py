"""The query lexer: token kinds and boundaries, and that no text makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.lexer import Token, clean, lex


def tokens(text: str) -> list[Token]:
    return lex(clean(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mri OR ct", [Token("word", "mri"), Token("operator", "OR"), Token("word", "ct")]),
        ("or -OR", [Token("word", "or"), Token("word", "OR", negated=True)]),
        ('-"breast mri"', [Token("phrase", "breast mri", negated=True)]),
        ("\u201cbreast mri\u201d", [Token("phrase", "breast mri")]),
        ('author:"Luyang Luo', [Token("filter", "Luyang Luo", name="author")]),
        ("CAT:CS.CV", [Token("filter", "cs.cv", name="cat")]),
        (":cat:x", [Token("filter", "x", name="cat")]),
        ("has:", [Token("filter", "", name="has")]),
        ("foo:", [Token("word", "foo:")]),
        ("title:x", [Token("filter", "x", name="title")]),
        ("(mri)ct - + +-x", [Token("word", "mri"), Token("word", "ct"), Token("word", "x", negated=True)]),
        ('a"b', [Token("word", "a"), Token("phrase", "b")]),
        ("mri\nct", [Token("word", "mri"), Token("word", "ct")]),
    ],
)
def test_tokens(text: str, expected: list[Token]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://github.com/LLYXC/MOME", [Token("phrase", "github.com/LLYXC/MOME")]),
        ("HTTP://x.org/a:b mri", [Token("phrase", "x.org/a:b"), Token("word", "mri")]),
        ("-https://x.org", [Token("phrase", "x.org", negated=True)]),
        ("(https://en.wikipedia.org/wiki/A_(b))", [Token("phrase", "en.wikipedia.org/wiki/A_(b))")]),
        ('https://x.org/"a b"', [Token("phrase", "x.org/"), Token("phrase", "a b")]),
        # Slack sends a pasted link as <url|label> or <url>; the label may hold spaces.
        ("<https://x.org/p|x.org/p> mri", [Token("phrase", "x.org/p"), Token("word", "mri")]),
        ("<https://x.org/p|my paper> ct", [Token("phrase", "x.org/p"), Token("word", "ct")]),
        ("<https://x.org/p>", [Token("phrase", "x.org/p")]),
        ("<https://x.org/p", [Token("phrase", "x.org/p")]),
        ("ftp://x.org", [Token("phrase", "x.org")]),
        ("https:x", [Token("filter", "x", name="https")]),  # no "//": a filter, if an unknown one
    ],
)
def test_urls_are_phrases_not_filters(text: str, expected: list[Token]) -> None:
    assert tokens(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_lexes_without_raising(text: str) -> None:
    for token in tokens(text):
        assert token.kind in ("operator", "word", "phrase", "filter")
        assert (token.name != "") == (token.kind == "filter")
