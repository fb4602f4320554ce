"""Fitting untrusted text to a platform's limits, whatever its markup. No I/O.

Every chat renderer does the same three things to the strings it is given:
makes them safe to show (``clean_line``, ``clean_lines``), escapes them for
its markup, and fits them to its limits (``fit``, ``fit_line``, ``chunks``,
and ``pack`` for whole messages). This module owns the first and the last;
the escaping, and the limits themselves, belong to each adapter and come in
as parameters:

- An escaping scheme is a function ``escape(char, line_start)`` giving the
  *piece* a character becomes: the character, or it with a backslash, an
  entity, an invisible guard. ``escaped_pieces`` applies one to a text.
  Text is only ever shortened or split between pieces, so a character is
  never parted from its escape (a ``;`` from its ``&amp``).
- Lengths are counted by ``width``, in UTF-16 code units, as Slack and
  Discord count them: never fewer than ``len``, so an emoji counts twice
  and a title full of them cannot slip past a limit. A wide (CJK)
  character counts once, a combining mark once more than its base.
- Cleaning turns control characters and bidirectional embeddings,
  overrides and isolates into spaces, and lone surrogates into U+FFFD, so
  nothing can move a terminal's cursor, reorder text or hide it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = [
    "ELLIPSIS",
    "blank_controls",
    "chunks",
    "clean_line",
    "clean_lines",
    "escaped_pieces",
    "fit",
    "fit_line",
    "has_unsafe",
    "pack",
    "unwrap",
    "width",
]

ELLIPSIS = "…"

# Punctuation not worth keeping just before the "…" of a shortened field.
_TRAILING = frozenset(" ,;:")
_BIDI = "\u202a-\u202e\u2066-\u2069"
# C0 controls (ESC starts terminal escape sequences), DEL, C1 controls, and
# the bidirectional embeddings, overrides and isolates; the second spares
# tab and newline.
_CONTROLS = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROLS_BUT_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAK = re.compile(r"\r\n?|[\u2028\u2029]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Feeds wrap abstracts inside a paragraph; only a blank line ends one.
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

Part = TypeVar("Part")


def width(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as limits are counted here."""
    if text.isascii():  # the common case, and much cheaper
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def blank_controls(text: str, *, lines: bool = False) -> str:
    """``text`` with control and bidirectional characters as spaces.

    With ``lines``, tab and newline stay, for text whose lines are kept.
    """
    return (_CONTROLS_BUT_LINES if lines else _CONTROLS).sub(" ", text)


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character ``clean_line`` would replace, but for whitespace."""
    return bool(_CONTROLS_BUT_LINES.search(text) or _SURROGATE.search(text))


def clean_line(text: str) -> str:
    """``text`` on one line: unsafe characters gone, whitespace collapsed."""
    return " ".join(_SURROGATE.sub("\ufffd", blank_controls(text, lines=True)).split())


def clean_lines(text: str) -> str:
    """``text`` with its lines kept, each cleaned, blank runs at most one line."""
    lines = [clean_line(line) for line in _LINE_BREAK.sub("\n", text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def unwrap(text: str) -> str:
    """``text`` (an abstract) with the line wraps inside each paragraph joined.

    Feeds wrap abstracts at about 80 columns; paragraphs stay apart, one
    blank line between them, and blank ones go.
    """
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def escaped_pieces(text: str, escape: Callable[[str, bool], str]) -> list[str]:
    """One piece per character of ``text`` (already cleaned): ``escape(char, line_start)``.

    ``line_start`` is true for a character with nothing but white space
    before it on its line, where markup such as a quote's ``>`` would act.
    """
    result: list[str] = []
    line_start = True
    for char in text:
        result.append(escape(char, line_start))
        if char == "\n":
            line_start = True
        elif not char.isspace():
            line_start = False
    return result


def fit(parts: Sequence[str], limit: int) -> str:
    """Pieces ``parts`` joined, shortened with "…" to at most ``limit`` characters.

    A shortened text ends at a word boundary when the last space is in its
    final third, and drops a trailing space, comma, colon or semicolon
    before the "…" (whole pieces only: a strip would eat the ``;`` of ``&amp;``).
    """
    if width("".join(parts)) <= limit:
        return "".join(parts)
    kept: list[str] = []
    used = 0
    for piece in parts:
        used += width(piece)
        if used > limit - len(ELLIPSIS):
            break
        kept.append(piece)
    for back in range(len(kept) - 1, len(kept) * 2 // 3, -1):
        if kept[back] == " ":
            kept = kept[:back]
            break
    while kept and kept[-1] in _TRAILING:
        kept.pop()
    return "".join(kept) + ELLIPSIS


def fit_line(
    text: str, limit: int, pieces: Callable[[str], list[str]], *, default: str = ""
) -> str:
    """One line of untrusted ``text``, escaped by ``pieces``, at most ``limit`` characters.

    ``default`` stands in for a text that cleans to nothing.
    """
    # Every character takes at least one: past limit + 1 nothing can change the result.
    return fit(pieces((clean_line(text) or default)[: limit + 1]), limit)


def _unguarded(chunk: str) -> str:
    return chunk


def chunks(
    parts: Sequence[str],
    limit: int,
    *,
    guard: Callable[[str], str] = _unguarded,
    guard_width: int = 0,
) -> list[str]:
    """Pieces ``parts`` (lines kept) in chunks of at most ``limit`` characters, stripped.

    Each cut falls at the last line break in reach, else the last space,
    else anywhere between two pieces. Every chunk then goes through
    ``guard``, which may add up to ``guard_width`` characters in front: a
    chunk starts a new section or message, so markup that acts at a line
    start needs escaping there even where it was mid-line before.
    ``ValueError`` when a piece is too wide for any chunk.
    """
    room = limit - guard_width
    result: list[str] = []
    start = 0
    while start < len(parts):
        end, used = start, 0
        while end < len(parts) and used + width(parts[end]) <= room:
            used += width(parts[end])
            end += 1
        if end == start:
            raise ValueError(f"a piece of {width(parts[end])} cannot fit chunks of {limit}")
        if end < len(parts):
            window = parts[start:end]
            for mark in ("\n", " "):
                if mark in window[1:]:
                    end = start + len(window) - 1 - window[::-1].index(mark)
                    break
        chunk = "".join(parts[start:end]).strip()
        if chunk:
            result.append(guard(chunk))
        start = end
    return result


def pack(
    parts: Iterable[Part],
    cost: Callable[[Part | None, Part], Sequence[int]],
    limits: Sequence[int],
) -> list[list[Part]]:
    """``parts`` grouped into messages, in order, no group's total cost over ``limits``.

    ``cost(previous, part)`` is what ``part`` adds to each measure (blocks,
    characters, papers...) after ``previous``, None at a message's start
    (a divider between two papers costs a block only between them). A
    part too costly alone still gets a message of its own: its limits are
    the renderer's to keep. No parts, no groups.
    """
    groups: list[list[Part]] = []
    used = [0] * len(limits)
    for part in parts:
        costs = cost(groups[-1][-1], part) if groups else None
        if costs is None or any(u + c > top for u, c, top in zip(used, costs, limits, strict=True)):
            groups.append([])
            used = [0] * len(limits)
            costs = cost(None, part)
        groups[-1].append(part)
        used = [u + c for u, c in zip(used, costs, strict=True)]
    return groups
