"""Text fitting shared by every renderer: widths, cleaning, shortening, chunking, packing.

The escaping here is a toy (``*`` gets a backslash, ``&`` becomes an
entity, a ``>`` at a line start a guard), enough to show that text is
only ever cut between pieces; each platform's own escaping is tested with
its renderer.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.text.fitting import (
    ELLIPSIS,
    blank_controls,
    chunks,
    clean_line,
    clean_lines,
    escaped_pieces,
    fit,
    fit_line,
    has_unsafe,
    pack,
    unwrap,
    width,
)

PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def toy_escape(char: str, line_start: bool) -> str:
    if char == "&":
        return "&amp;"
    if char == "*":
        return "\\*"
    return "\\>" if line_start and char == ">" else char


def toy(text: str) -> list[str]:
    return escaped_pieces(text, toy_escape)


def guard(chunk: str) -> str:
    return "\\" + chunk if chunk.startswith(">") else chunk


# -- width --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("é", 1),  # precomposed
        ("e\u0301", 2),  # e and a combining acute: one glyph, two code points
        ("漢字", 2),  # wide on a terminal, one code unit each
        ("😀", 2),  # astral: a surrogate pair
        ("👍🏽", 4),  # an emoji and its skin tone modifier
        ("\u200b\u2060", 2),  # invisible, but counted
    ],
)
def test_width_counts_utf16_code_units(text: str, expected: int) -> None:
    assert width(text) == expected


@PROPERTY
@given(st.text())
def test_width_is_never_less_than_len(text: str) -> None:
    assert width(text) >= len(text)
    assert width(text) == len(text.encode("utf-16-le", "surrogatepass")) // 2


# -- cleaning -----------------------------------------------------------------


def test_clean_line_blanks_controls_and_bidi_and_collapses_white_space() -> None:
    assert clean_line(" a\x1b[2Jb\u202e c\t\n d \ud800 ") == "a [2Jb c d \ufffd"


def test_clean_lines_keeps_lines_and_one_blank_line() -> None:
    text = "one\r\ntwo\rthree\u2028four\n\n\n\n  five  \x07six\n"
    assert clean_lines(text) == "one\ntwo\nthree\nfour\n\nfive six"


def test_blank_controls_keeps_lines_only_when_asked() -> None:
    assert blank_controls("a\tb\nc\x1bd\u2066e") == "a b c d e"
    assert blank_controls("a\tb\nc\x1bd", lines=True) == "a\tb\nc d"


def test_has_unsafe_ignores_tab_and_newline() -> None:
    assert not has_unsafe("https://example.org/a b\tc\n")
    assert has_unsafe("https://example.org/\x00")
    assert has_unsafe("left\u202eright")
    assert has_unsafe("lone \udc00")


def test_unwrap_joins_wrapped_lines_and_keeps_paragraphs() -> None:
    abstract = "We study\n  breast MRI.\n\n\n  Results\nfollow.\n \n\n"
    assert unwrap(abstract) == "We study breast MRI.\n\nResults follow."


@PROPERTY
@given(st.text())
def test_cleaned_text_is_safe_and_stays_clean(text: str) -> None:
    line = clean_line(text)
    assert not has_unsafe(line) and "\n" not in line
    assert clean_line(line) == line
    lines = clean_lines(text)
    assert not has_unsafe(lines)
    assert clean_lines(lines) == lines


# -- pieces and fit -----------------------------------------------------------


def test_escaped_pieces_are_one_a_character_and_know_line_starts() -> None:
    assert toy("> a & *\n  > b > c") == [
        "\\>", " ", "a", " ", "&amp;", " ", "\\*", "\n", " ", " ", "\\>", " ", "b", " ", ">",
        " ", "c",
    ]


def test_fit_leaves_text_that_fits_alone() -> None:
    assert fit(toy("short & sweet"), 17) == "short &amp; sweet"


def test_fit_shortens_at_a_word_boundary() -> None:
    assert fit(toy("the quick brown fox jumps"), 21) == "the quick brown fox…"
    # Without the space after it, "fox" might be the start of "foxes": it goes.
    assert fit(toy("the quick brown fox jumps"), 20) == "the quick brown…"


def test_fit_cuts_a_long_word_anywhere_rather_than_lose_it() -> None:
    # No space in the last third: keep as much of the word as fits.
    assert fit(toy("a supercalifragilistic"), 12) == "a supercali…"


def test_fit_drops_trailing_punctuation_but_never_half_an_entity() -> None:
    assert fit(toy("one, two; three"), 10) == "one, two…"
    # "&amp;" is one piece of five: it goes whole, its ";" is not "punctuation".
    assert fit(toy("ab&&&&&&"), 10) == "ab&amp;…"


def test_fit_counts_emoji_twice() -> None:
    assert fit(toy("😀😀😀😀"), 6) == "😀😀…"
    assert width(fit(toy("😀" * 10), 7)) <= 7


def test_fit_may_part_a_combining_mark_from_its_letter() -> None:
    # Pieces are code points: a mark is its own piece (kept as the renderers have it).
    assert fit(toy("cafe\u0301 au lait"), 5) == "cafe…"


def test_fit_line_cleans_defaults_and_fits() -> None:
    assert fit_line("  \x1b ", 10, toy, default="(untitled)") == "(untitled)"
    assert fit_line("a *b*\nc", 20, toy) == "a \\*b\\* c"
    assert fit_line("x" * 10_000, 50, toy) == "x" * 49 + ELLIPSIS


pieces_lists = st.lists(st.sampled_from(["a", "b", " ", ",", "&amp;", "\\*", "😀", "e\u0301"]))


@PROPERTY
@given(pieces_lists, st.integers(min_value=1, max_value=60))
def test_fit_keeps_to_its_limit_and_cuts_between_pieces(parts: list[str], limit: int) -> None:
    fitted = fit(parts, limit)
    assert width(fitted) <= limit
    if fitted == "".join(parts):
        return
    assert fitted.endswith(ELLIPSIS)
    kept = fitted.removesuffix(ELLIPSIS)
    prefixes = {"".join(parts[:n]) for n in range(len(parts) + 1)}
    assert kept in prefixes


# -- chunks -------------------------------------------------------------------


def test_chunks_cut_at_line_breaks_then_spaces_then_anywhere() -> None:
    assert chunks(toy("one two\nthree four"), 12) == ["one two", "three four"]
    assert chunks(toy("one two three four"), 12) == ["one two", "three four"]
    assert chunks(toy("abcdefghij"), 4) == ["abcd", "efgh", "ij"]


def test_chunks_guard_a_chunk_that_starts_with_markup() -> None:
    # The second ">" was mid-line, unescaped; starting a chunk, it gets its guard.
    parts = toy("abc >d")
    assert parts[4] == ">"
    assert chunks(parts, 5, guard=guard, guard_width=1) == ["abc", "\\>d"]


def test_chunks_keep_an_entity_whole_and_refuse_a_piece_too_wide() -> None:
    assert chunks(toy("&&&"), 6) == ["&amp;", "&amp;", "&amp;"]
    with pytest.raises(ValueError, match="cannot fit chunks of 5"):
        chunks(toy("&"), 5, guard=guard, guard_width=1)


@PROPERTY
@given(
    st.text(alphabet="ab &*>\n😀\u0301", max_size=300),
    st.integers(min_value=6, max_value=80),
)
def test_chunks_keep_to_the_limit_and_lose_nothing_but_white_space(
    text: str, limit: int
) -> None:
    parts = toy(clean_lines(text))
    result = chunks(parts, limit, guard=guard, guard_width=1)
    assert all(chunk and width(chunk) <= limit for chunk in result)
    assert all(chunk == chunk.strip() for chunk in result)

    def bare(s: str) -> str:  # no white space, no backslashes (escapes and guards)
        return "".join(s.split()).replace("\\", "")

    assert bare("".join(result)) == bare("".join(parts))


# -- pack ---------------------------------------------------------------------


def _sizes(previous: int | None, part: int) -> tuple[int, int]:
    return 1, part


def test_pack_groups_in_order_within_every_limit() -> None:
    assert pack([3, 4, 2, 5, 1], _sizes, (3, 7)) == [[3, 4], [2, 5], [1]]
    assert pack([1, 1, 1, 1, 1], _sizes, (2, 100)) == [[1, 1], [1, 1], [1]]


def test_pack_gives_a_part_too_big_alone_its_own_group() -> None:
    assert pack([2, 50, 2], _sizes, (10, 10)) == [[2], [50], [2]]


def test_pack_of_nothing_is_no_groups() -> None:
    assert pack([], _sizes, (1, 1)) == []


def test_pack_costs_a_part_by_what_precedes_it() -> None:
    # Odd numbers are "items": one between two items costs an extra block (a divider).
    def cost(previous: int | None, part: int) -> tuple[int]:
        return (1 + (previous is not None and previous % 2 == 1 and part % 2 == 1),)

    assert pack([1, 3, 5, 2], cost, (4,)) == [[1, 3], [5, 2]]
    assert pack([2, 1, 4, 3], cost, (4,)) == [[2, 1, 4, 3]]


@PROPERTY
@given(
    st.lists(st.integers(min_value=0, max_value=30), max_size=40),
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=60),
)
def test_pack_is_greedy_ordered_and_within_limits(
    parts: list[int], most: int, budget: int
) -> None:
    groups = pack(parts, _sizes, (most, budget))
    assert [p for group in groups for p in group] == parts
    for index, group in enumerate(groups):
        assert group
        assert len(group) == 1 or (len(group) <= most and sum(group) <= budget)
        if index + 1 < len(groups):  # the next group's first part would not have fit
            after = groups[index + 1][0]
            assert len(group) + 1 > most or sum(group) + after > budget
