"""The seed-file parser: text in, ``PaperRecord`` values and problems out.

I/O: reads seed files from disk (``read_seed_file``, ``seed_paths``); no
database access, which belongs to the loader that calls this module.

A seed file is a listing copied from a paper site, three lines a record::

    CVApr 15, 2023Code
    Beta-Rank: A Robust ... Image AnalysisMorteza Homayounfar, Reza Rawassizadeh et al.
    As deep neural networks include ...

Line 1 is a category code glued to the date, then an optional ``Code`` flag.
Line 2 is the title glued, with no separator, to the author list. Line 3 is
the abstract. Both are cleaned as a feed's text is
(``bot.ingest.markup.clean_text``), line 2 before it is split. Blank lines, CRLF, a BOM (at the start of the file or of any
line, as where two files were pasted together) and trailing spaces are
tolerated.
A listing names no link: a record's ``url`` is arXiv's search for its
title. Bad content never raises: each malformed record becomes a
``SeedProblem`` (file and line) and is skipped, and parsing resumes at the
next header line; so is a record with a title or abstract line that is not
UTF-8.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePath
from urllib.parse import urlencode

from bot.ingest.authors import read_author_list
from bot.ingest.identity import paper_id_for
from bot.ingest.markup import clean_text
from bot.model.links import extract_code_urls
from bot.model.papers import SEED_SOURCE, PaperRecord, normalize_category

__all__ = [
    "MAX_TITLE_LINE",
    "SeedFile",
    "SeedProblem",
    "parse_seed_text",
    "read_seed_file",
    "seed_paths",
    "split_title_authors",
    "title_search_url",
]

log = logging.getLogger(__name__)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_NAMES = (
    "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
    "Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
# The code is matched lazily so that "MAMay 3, 2023" reads as MA + May.
_HEADER = re.compile(
    rf"(?P<code>[A-Za-z][A-Za-z.\-]*?)\s*(?P<month>{_MONTH_NAMES})\.?\s*"
    r"(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\s*(?P<flag>Code)?"
)
_HEADER_EXAMPLE = "'CVApr 15, 2023Code' (category, date, optional Code)"
# Longer than any title with its authors: finding where a title ends tries
# every capital glued to a word, each against the rest of the line, so the
# work grows with the square of the line's length.
MAX_TITLE_LINE = 2_000


@dataclass(frozen=True)
class SeedProblem:
    """A record that was skipped, and where: ``seeds/x.txt:12: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class SeedFile:
    """What one seed file yielded: its good records and its problems."""

    path: str
    records: tuple[PaperRecord, ...]
    problems: tuple[SeedProblem, ...]


def _glue_points(text: str) -> list[int]:
    """Positions inside a token where a title could end and a name begin.

    ``LearningFuying`` (lowercase, digit or punctuation before a capital) and
    ``MRILuyang`` / ``MRIJ. Smith`` (the last capital of an uppercase run
    that starts a capitalized word or an initial).
    """
    points = []
    for p in range(1, len(text)):
        here, before = text[p], text[p - 1]
        if not here.isupper() or before.isspace():
            continue
        if not before.isupper():
            points.append(p)
        elif p + 1 < len(text) and (text[p + 1].islower() or text[p + 1] == "."):
            points.append(p)
    return points


def split_title_authors(line: str) -> tuple[str, tuple[str, ...], bool] | None:
    """``(title, authors, truncated)`` from a glued title/author line, or None.

    Every glue point is tried from the left; the first one after which the
    rest of the line reads as an author list wins. Since the glued token
    itself (``LearningFuying``) is never a valid name, an earlier point can
    only win when the title's tail really forms part of the first name (the
    ``Mc`` of ``McDonald``), so the first valid point gives the longest first
    author; it also never picks a point inside a later name (``Jean-Pierre``).
    What reads as an author list is ``bot.ingest.authors.read_author_list``'s.
    A line longer than ``MAX_TITLE_LINE`` characters is none.
    """
    text = " ".join(line.split())
    if len(text) > MAX_TITLE_LINE:
        return None
    for p in _glue_points(text):
        title = text[:p].strip()
        if not any(c.isalnum() for c in title):
            continue
        authors = read_author_list(text[p:])
        if authors is not None:
            return title, *authors
    return None


def _preview(text: str, limit: int = 60, *, tail: bool = False) -> str:
    """``text`` shortened for a message; ``tail`` keeps the end, where authors are."""
    if len(text) <= limit:
        return text
    return "\u2026" + text[-(limit - 1) :] if tail else text[: limit - 1] + "\u2026"


def _expected_header(path: str, lineno: int, line: str) -> SeedProblem:
    message = f"expected a header line such as {_HEADER_EXAMPLE}, got {_preview(line)!r}"
    return SeedProblem(path, lineno, message)


def _record(
    header: tuple[int, re.Match[str]], body: list[tuple[int, str]], path: str
) -> tuple[PaperRecord | None, list[SeedProblem]]:
    """One record from its header match and the non-blank lines up to the next header."""
    lineno, match = header

    def problem(line: int, message: str) -> SeedProblem:
        return SeedProblem(path, line, message)

    month = _MONTHS[match["month"][:3].lower()]
    try:
        published = date(int(match["year"]), month, int(match["day"]))
    except ValueError:
        when = f"{match['month']} {match['day']}, {match['year']}"
        return None, [problem(lineno, f"impossible date {when!r}; the record is skipped")]
    if not body:
        return None, [problem(lineno, "record has no title/author line and no abstract")]
    # Cleaned as a feed's text is (bot.ingest.markup.clean_text), the
    # title/author line before it is split: names read after decoding.
    title_no, title_line = body[0][0], clean_text(body[0][1])
    if (length := len(title_line)) > MAX_TITLE_LINE:
        message = (
            f"the title/author line is {length:,} characters long, more than a title "
            f"and its authors take ({MAX_TITLE_LINE:,} at most); the record is skipped"
        )
        return None, [problem(title_no, message)]
    split = split_title_authors(title_line)
    if len(body) == 1:
        if split is None:
            message = f"record has no title/author line (line {title_no} is not one)"
        else:
            message = f"record has no abstract after its title/author line (line {title_no})"
        return None, [problem(lineno, message)]
    if split is None:
        message = (
            f"cannot split the title from the authors in {_preview(title_line, tail=True)!r}; "
            "expected the title glued to 'First Last, First Last et al.'"
        )
        return None, [problem(title_no, message)]
    problems: list[SeedProblem] = []
    abstract_no, abstract = body[1][0], clean_text(body[1][1])
    if len(body) > 2:
        if split_title_authors(abstract) is not None:
            # A title/author line in the abstract's place: this record lost
            # its abstract and the next one lost its header. Report both.
            return None, [
                problem(lineno, "record has no abstract; the record is skipped"),
                _expected_header(path, abstract_no, body[1][1]),
            ]
        # A complete record followed by stray lines: keep the record, report
        # the strays (a second abstract paragraph, or a record without header).
        problems.append(_expected_header(path, *body[2]))
    title, authors, truncated = split
    code_urls = extract_code_urls(abstract)
    record = PaperRecord(
        id=paper_id_for(title=title),
        title=title,
        authors=authors,
        authors_truncated=truncated,
        abstract=abstract,
        categories=(normalize_category(match["code"]),),
        published=published,
        url=title_search_url(title),
        code_urls=code_urls,
        has_code=match["flag"] is not None or bool(code_urls),
        source=f"{SEED_SOURCE}{PurePath(path).name}",
    )
    return record, problems


def title_search_url(title: str) -> str:
    """arXiv's search for ``title``: a seed listing names no link of its own,
    and this one finds the paper (its abstract page, PDF and versions)."""
    return "https://arxiv.org/search/?" + urlencode({"query": title, "searchtype": "title"})


def parse_seed_text(text: str, *, path: str) -> SeedFile:
    """Parse seed-file text; ``path`` names the file in sources and problems."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _parse_lines(text.split("\n"), path=path, undecodable={})


def _undecodable(lineno: int, byte: int, path: str, *, record: bool = False) -> SeedProblem:
    skipped = "; the record is skipped" if record else ""
    message = (
        f"not valid UTF-8 (byte {byte:,} of the file){skipped}; save the file as UTF-8 "
        "and load it again"
    )
    return SeedProblem(path, lineno, message)


def _parse_lines(lines: Iterable[str], *, path: str, undecodable: Mapping[int, int]) -> SeedFile:
    """Parse the lines of a seed file, numbered from 1.

    ``undecodable`` maps the number of each line that was not UTF-8 to the
    file offset of its first bad byte: such a line (read with U+FFFD in
    place of its bad bytes) is never a header, and the record it is a title
    or abstract of is skipped.
    """
    records: list[PaperRecord] = []
    problems: list[SeedProblem] = []
    header: tuple[int, re.Match[str]] | None = None
    body: list[tuple[int, str]] = []

    def finish() -> None:
        if header is None:
            return
        bad = [(n, undecodable[n]) for n, _ in body if n in undecodable]
        if bad and bad[0][0] in (n for n, _ in body[:2]):
            problems.append(_undecodable(*bad[0], path, record=True))
            return
        record, found = _record(header, body, path)
        for problem in found:
            byte = undecodable.get(problem.line)
            problems.append(problem if byte is None else _undecodable(problem.line, byte, path))
        if record is not None:
            records.append(record)

    for lineno, raw in enumerate(lines, start=1):
        # A BOM starts the file, or a file pasted onto the end of another.
        line = raw.replace("\ufeff", "").strip()
        if not line:
            continue
        match = _HEADER.fullmatch(line)
        if match:
            finish()
            header, body = (lineno, match), []
        elif header is None:
            if lineno in undecodable:
                problems.append(_undecodable(lineno, undecodable[lineno], path))
            elif not problems:  # one report for the whole run before the first header
                problems.append(_expected_header(path, lineno, line))
        else:
            body.append((lineno, line))
    finish()
    return SeedFile(path=path, records=tuple(records), problems=tuple(problems))


def _decoded_lines(data: bytes) -> tuple[list[str], dict[int, int]]:
    """``data``'s lines decoded one by one, and where each undecodable one goes wrong.

    No UTF-8 sequence holds a line break byte, so a bad byte spoils its own
    line alone; that line is read with U+FFFD in its place.
    """
    lines: list[str] = []
    undecodable: dict[int, int] = {}
    offset = 0
    for lineno, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            undecodable[lineno] = offset + exc.start
            lines.append(raw.decode("utf-8", "replace"))
        offset += len(raw)
    return lines, undecodable


def read_seed_file(path: Path) -> SeedFile:
    """Read and parse one seed file; a line that is not UTF-8 costs its record alone."""
    data = path.read_bytes()
    try:
        seed_file = parse_seed_text(data.decode("utf-8"), path=str(path))
    except UnicodeDecodeError:
        lines, undecodable = _decoded_lines(data)
        seed_file = _parse_lines(lines, path=str(path), undecodable=undecodable)
    log.debug(
        "seed file %s: %d records, %d problems",
        path,
        len(seed_file.records),
        len(seed_file.problems),
    )
    return seed_file


def seed_paths(paths: Sequence[Path]) -> list[Path]:
    """Files to load: each directory expands to its ``*.txt`` files, sorted."""
    found: dict[Path, None] = {}  # an ordered set: a file named twice loads once
    for path in paths:
        if path.is_dir():
            for child in sorted(path.glob("*.txt")):
                # Editors leave hidden files such as ".#notes.txt" beside real ones.
                if child.is_file() and not child.name.startswith("."):
                    found.setdefault(child)
        elif path.exists():
            found.setdefault(path)
        else:
            raise FileNotFoundError(
                f"seed path not found: {path} (give a seed file or a directory of *.txt files)"
            )
    return list(found)
