"""The query language parser: operators, precedence, canonical form, hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.query import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    Author,
    Category,
    Clause,
    DateBound,
    HasCode,
    ParsedQuery,
    Phrase,
    QueryError,
    Word,
    parse_query,
)

FILTERS_LINE = "Filters are author:, cat:, has:code, after:YYYY-MM-DD, before:YYYY-MM-DD."


def clauses(text: str) -> tuple[Clause, ...]:
    return parse_query(text).clauses


def one(term: object, negated: bool = False) -> Clause:
    return Clause((term,), negated)  # type: ignore[arg-type]


def error(text: str) -> str:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    return str(info.value)


# --- operators -------------------------------------------------------------


def test_words_must_all_match_in_order() -> None:
    assert clauses("breast MRI") == (one(Word("breast")), one(Word("mri")))


def test_quoted_phrase() -> None:
    assert clauses('"Breast MRI" screening') == (one(Phrase("breast mri")), one(Word("screening")))


def test_or_binds_tighter_than_and() -> None:
    assert clauses("breast OR prostate mri") == (
        Clause((Word("breast"), Word("prostate"))),
        one(Word("mri")),
    )
    assert clauses("mri breast OR prostate OR lung") == (
        one(Word("mri")),
        Clause((Word("breast"), Word("prostate"), Word("lung"))),
    )


def test_parentheses_separate_like_spaces() -> None:
    assert clauses("(breast OR prostate) AND mri") == clauses("breast OR prostate mri")


def test_lowercase_or_and_not_are_words() -> None:
    # Plain words, and stop words at that: they are dropped, not operators.
    assert clauses("cats or dogs") == (one(Word("cats")), one(Word("dogs")))
    assert clauses("cats not dogs") == (one(Word("cats")), one(Word("dogs")))


def test_exclusions() -> None:
    assert clauses('mri -prostate -"deep learning" -author:luo -cat:CV -has:code') == (
        one(Word("mri")),
        one(Word("prostate"), True),
        one(Phrase("deep learning"), True),
        one(Author("luo"), True),
        one(Category("cs.CV"), True),
        one(HasCode(), True),
    )


def test_not_means_minus_and_and_is_noise() -> None:
    assert clauses("mri NOT prostate") == clauses("mri -prostate")
    assert clauses("breast AND mri") == clauses("breast mri")


def test_only_exclusions_is_a_query() -> None:
    parsed = parse_query("-mouse")
    assert parsed.clauses == (one(Word("mouse"), True),)
    assert not parsed.scored


def test_filters_alone_are_not_scored() -> None:
    assert not parse_query("has:code cat:CV author:luo after:2024").scored
    assert parse_query("has:code mri").scored


def test_author_forms() -> None:
    assert clauses('author:Luo AUTHOR:"Luyang Luo"') == (
        one(Author("luo")),
        one(Author("luyang luo")),
    )


def test_category_codes_are_normalized_case_insensitively() -> None:
    expected = one(Category("cs.CV"))
    for text in ("cat:cs.CV", "cat:CV", "cat:cv", "cat:CS.cv", 'cat:"cs.CV"'):
        assert clauses(text) == (expected,), text
    assert clauses("cat:iv") == (one(Category("eess.IV")),)
    # A well-formed arXiv name we hold no table entry for is searched as given.
    assert clauses("cat:math.ST") == (one(Category("math.st")),)


def test_has_code() -> None:
    assert clauses("has:code HAS:Code") == (one(HasCode()),)


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("after:2024", DateBound("after", date(2024, 1, 1))),
        ("after:2024-03", DateBound("after", date(2024, 3, 1))),
        ("after:2024-03-15", DateBound("after", date(2024, 3, 15))),
        ("before:2025", DateBound("before", date(2025, 1, 1))),
        ("before:2025-2-3", DateBound("before", date(2025, 2, 3))),
    ],
)
def test_dates(text: str, bound: DateBound) -> None:
    assert clauses(text) == (one(bound),)


def test_prefix() -> None:
    assert clauses("segm* MRI") == (one(Word("segm", prefix=True)), one(Word("mri")))


def test_punctuated_words_stay_one_word_and_outer_punctuation_goes() -> None:
    assert clauses("low-dose 3D-UNet (mri), “CT”") == (
        one(Word("low-dose")),
        one(Word("3d-unet")),
        one(Word("mri")),
        one(Phrase("ct")),
    )


def test_other_syntaxes_boost_suffix_is_ignored() -> None:
    assert clauses("mri^2 +ct~1") == (one(Word("mri")), one(Word("ct")))


def test_repeated_clauses_count_once() -> None:
    assert clauses("mri MRI mri, ct OR ct") == (one(Word("mri")), one(Word("ct")))


# --- canonical form ---------------------------------------------------------


def test_canonical_form_ignores_case_and_spacing() -> None:
    a = parse_query('"Breast MRI"  has:code')
    b = parse_query('"breast mri" has:code')
    assert a == b
    assert str(a) == str(b) == '"breast mri" has:code'


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Breast OR Prostate  MRI", "breast OR prostate mri"),
        ("NOT mouse AND rat", "-mouse rat"),
        ('author:"Luyang  Luo" author:Luo', 'author:"luyang luo" author:luo'),
        ("cat:CV after:2024 before:2025-03", "cat:cs.CV after:2024-01-01 before:2025-03-01"),
        ("Segm* low-dose", "segm* low-dose"),
        ('-"Deep Learning', '-"deep learning"'),
        ("Müller", "müller"),
    ],
)
def test_canonical_strings(text: str, canonical: str) -> None:
    parsed = parse_query(text)
    assert str(parsed) == canonical
    assert parse_query(canonical) == parsed


# --- errors and hostile input -------------------------------------------------


def test_unknown_filter() -> None:
    assert error("col:x") == f'Unknown filter "col:". {FILTERS_LINE}'
    assert error("arXiv:2401.00001") == (
        "Search does not take arXiv ids; to see that paper, use show: show 2401.00001"
    )
    assert error("mri TITLE:x") == f'Unknown filter "title:". {FILTERS_LINE}'


def test_empty_query() -> None:
    message = 'Type something to search for, e.g. "breast MRI" has:code'
    assert error("") == message
    assert error(" \t\n ") == message


def test_nothing_searchable() -> None:
    message = (
        "There is nothing to search for in that query: use letters or digits, and "
        'more than common words like "the", e.g. "breast MRI" has:code'
    )
    for text in ("🙂", "* ^ ~ + ( )", "AND OR NOT", '""', "-", "?!", "the of", '"of the"'):
        assert error(text) == message, text


def test_too_long() -> None:
    assert error("a" * 5000) == (
        f"That query is 5,000 characters long; the limit is {MAX_QUERY_CHARS}. "
        "Shorten it and try again."
    )
    assert parse_query("x " * 16 + "b" * (MAX_QUERY_CHARS - 32))


def test_too_many_terms() -> None:
    text = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 8))
    assert error(text) == (
        f"That query has {MAX_QUERY_TERMS + 8} terms; the limit is {MAX_QUERY_TERMS}. "
        "Remove some words or filters and try again."
    )
    assert len(clauses(" ".join(f"w{i}" for i in range(MAX_QUERY_TERMS)))) == MAX_QUERY_TERMS


def test_exclusion_inside_or() -> None:
    message = (
        "An exclusion can't be part of an OR. Exclude separately, e.g. breast OR prostate -mouse."
    )
    assert error("-breast OR prostate") == message
    assert error("breast OR NOT prostate") == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("after:2024-13-01", '"after:2024-13-01" is not a date. Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. after:2024-01-01.'),
        ("before:yesterday", '"before:yesterday" is not a date. Use YYYY, YYYY-MM or YYYY-MM-DD, e.g. before:2024-01-01.'),
        ("has:data", 'Unknown has: value "data". The only one is has:code.'),
        ("cat:'x'", "Unknown category \"'x'\". Use an arXiv name like cat:cs.CV or a short code like cat:CV."),
        ("author:", '"author:" needs a value, e.g. author:luo or author:"Luyang Luo".'),
        ("author:🙂", 'author: needs a name, e.g. author:luo or author:"Luyang Luo".'),
        ("a*", '"a*" is too short for a prefix: use 2 or more letters before the *, e.g. segm*.'),
        ("low-do*", '"low-do*": a * prefix works on a single word, e.g. segm*. Quote the rest as a phrase.'),
    ],
)
def test_error_messages(text: str, message: str) -> None:
    assert error(text) == message


def test_a_word_too_long_for_the_index_says_so() -> None:
    long = "x" * 200
    message = (f'"{long[:39]}…" is longer than any word the index holds (up to 40 '
               "characters in any script): search for other words of the paper.")
    assert error(long) == message
    assert error(f'"{long}"') == message
    # Beside other words it is left out, as a stop word is.
    assert clauses(f"mri {long}") == (one(Word("mri")),)
    # Forty characters of any script (Gothic takes 4 bytes each) are a word the index holds.
    for word in ("x" * 40, "ж" * 40, "\U00010330" * 40, "ก" * 40):
        assert clauses(word) == (one(Word(word)),), word


def test_unclosed_quote_runs_to_the_end() -> None:
    assert clauses('"breast mri') == (one(Phrase("breast mri")),)
    assert clauses('author:"Luyang Luo') == (one(Author("luyang luo")),)


def test_sql_fragment_is_just_words() -> None:
    assert str(parse_query("'; DROP TABLE papers; --")) == "drop table papers"


def test_control_and_invisible_characters() -> None:
    assert clauses("mri\x00ct\u200bx\x07y") == (one(Word("mri")), one(Word("ctx")), one(Word("y")))
    assert clauses("seg\u00admentation") == (one(Word("segmentation")),)


def test_emoji_words_are_dropped() -> None:
    assert clauses("🙂 mri 🔬🔬") == (one(Word("mri")),)
    assert clauses("mri OR 🙂 ct") == (one(Word("mri")), one(Word("ct")))


def test_non_latin_text() -> None:
    assert clauses("乳腺 MRI") == (one(Word("乳腺")), one(Word("mri")))


HOSTILE = [
    "NEAR(breast, mri)",
    "*",
    "^",
    "col:x",
    "AND OR NOT",
    "title:x",
    "(",
    ")",
    "~",
    "+",
    "breast~2 mri^3 +ct",
    "'; DROP TABLE papers; --",
    '" OR 1=1 --',
    "🙂🙂🙂",
    "\x00\x01\x1b[31m",
    "a" * 5000,
    "",
    "   ",
    '"unbalanced',
    'a"b"c"d',
    "-",
    "--",
    "NOT",
    "OR mri OR",
    "-mri",
    "after:",
    "after:0000",
    "before:99999",
    "cat:",
    "has:",
    "author:\"\"",
    "http://example.com/x",
    "\ud800 lone surrogate",
    "K:x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_parses_or_says_one_line(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        message = str(exc)
        assert message and len(message.splitlines()) == 1
    else:
        assert parsed.clauses
        assert parse_query(str(parsed)) == parsed


FRAGMENTS = st.sampled_from(
    ['"', "-", "NOT", "OR", "AND", "(", ")", "*", "author:", "cat:", "has:", "after:",
     "before:", "2024", "cv", "code", "mri", "x*", "low-dose", ":", " ", "🙂", "\x00", "^2"]
)
QUERY_TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=12).map("".join),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=12).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(QUERY_TEXT)
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert isinstance(parsed, ParsedQuery) and parsed.clauses
    # The canonical form is a fixed point: same topic, same string.
    again = parse_query(str(parsed))
    assert again == parsed
    assert str(again) == str(parsed)
