"""Papers as reference managers import them: BibTeX, RIS and CSV.

``bibtex`` writes one entry: an arXiv paper as ``@misc`` with ``eprint``,
``archivePrefix`` and ``primaryClass`` (what arXiv's own "Export BibTeX
citation" gives and biblatex reads), or as ``@article`` with ``journal``
and ``doi`` when the paper names its journal. Catalog text is untrusted:
every value is written inside braces with BibTeX's special characters
escaped (``& % $ # _ ~ ^ \\`` and unbalanced braces), accented Latin
letters as their LaTeX accents (``é`` → ``{\\'e}``, so classic BibTeX
sorts and prints them), other characters as UTF-8 (biblatex and
Zotero read it). ``ris`` writes the RIS tags Zotero, Mendeley and
EndNote read; ``csv_rows`` a spreadsheet's columns. Pure functions.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.ingest.identity import split_arxiv_id
from bot.model.papers import PaperRecord

__all__ = ["CSV_COLUMNS", "Cited", "bibtex", "bibtex_file", "bibtex_key", "csv_text", "ris"]


@dataclass(frozen=True)
class Cited:
    """A paper of a reading list, with who saved it and who has read it."""

    record: PaperRecord
    saved_by: str = ""
    saved_at: datetime | None = None
    read_by: tuple[str, ...] = ()


# BibTeX's special characters and what stands for each inside a braced value.
_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "{": r"\{", "}": r"\}",
}
# Combining accents LaTeX writes as a command on the letter.
_ACCENTS = {
    "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0308": '"',
    "\u0304": "=", "\u0307": ".", "\u030a": "r", "\u030b": "H", "\u030c": "v",
    "\u0306": "u", "\u0327": "c", "\u0328": "k",
}
# Letters with no decomposition that LaTeX names.
_LETTERS = {
    "ß": r"{\ss}", "æ": r"{\ae}", "Æ": r"{\AE}", "ø": r"{\o}", "Ø": r"{\O}",
    "œ": r"{\oe}", "Œ": r"{\OE}", "å": r"{\aa}", "Å": r"{\AA}", "ł": r"{\l}",
    "Ł": r"{\L}", "ı": r"{\i}", "đ": r"{\dj}", "Đ": r"{\DJ}",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _latex(text: str) -> str:
    """``text`` safe inside a braced BibTeX value."""
    out: list[str] = []
    for char in unicodedata.normalize("NFC", _CONTROL.sub(" ", text)):
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
        elif char in _LETTERS:
            out.append(_LETTERS[char])
        elif ord(char) > 127:
            decomposed = unicodedata.normalize("NFD", char)
            base, marks = decomposed[0], decomposed[1:]
            if marks and base.isascii() and base.isalpha() and all(m in _ACCENTS for m in marks):
                letter = r"\i" if base == "i" else base
                for mark in marks:
                    accent = _ACCENTS[mark]
                    letter = f"\\{accent}{letter}" if not accent.isalpha() else f"\\{accent}{{{letter}}}"
                out.append("{" + letter + "}")
            else:
                out.append(char)
        else:
            out.append(char)
    return " ".join("".join(out).split())


def _verbatim(text: str) -> str:
    """A URL or DOI as biblatex reads it, verbatim: no braces, backslashes or spaces."""
    return re.sub(r"[{}\\\s\x00-\x1f\x7f]", "", text)


def _ascii_word(text: str) -> str:
    """The letters and digits of ``text`` as ASCII (accents dropped), lower case."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _last_name(author: str) -> str:
    name = author.strip()
    if "," in name:
        return name.split(",", 1)[0]
    return name.split()[-1] if name.split() else ""


_SKIP = {"a", "an", "the", "on", "of", "for", "and", "to", "in", "with", "towards", "toward"}


def _year(record: PaperRecord) -> int | None:
    if record.published is not None:
        return record.published.year
    found = split_arxiv_id(record.id)
    if found and re.fullmatch(r"\d{4}\.\d{4,5}", found[0]):
        return 2000 + int(found[0][:2])
    return None


def bibtex_key(record: PaperRecord) -> str:
    """``chen2025prostate``: first author's last name, year, first telling title word."""
    author = _ascii_word(_last_name(record.authors[0])) if record.authors else ""
    word = next((w for w in (_ascii_word(t) for t in record.title.split())
                 if w and w not in _SKIP), "")
    year = _year(record)
    key = f"{author or 'anon'}{year or ''}{word}"
    return key[:60]


def _names(authors: Sequence[str]) -> str:
    # Names stay unbraced, so BibTeX finds first and last names; an "and"
    # inside one is braced, so it does not split the name.
    return " and ".join(
        re.sub(r"(?i)(?<=\s)and(?=\s)", "{and}", _latex(a).replace(",", "{,}"))
        for a in authors if a.strip()
    )


def bibtex(record: PaperRecord, *, key: str | None = None, note: str | None = None) -> str:
    """One BibTeX entry for ``record``."""
    fields: list[tuple[str, str]] = [("title", "{" + _latex(record.title) + "}")]
    if record.authors:
        names = _names(record.authors)
        fields.append(("author", names + (" and others" if record.authors_truncated else "")))
    year = _year(record)
    if year is not None:
        fields.append(("year", str(year)))
    if record.published is not None:
        fields.append(("month", record.published.strftime("%b").lower()))
    arxiv = split_arxiv_id(record.id)
    kind = "misc"
    if record.journal_ref:
        kind = "article"
        fields.append(("journal", _latex(record.journal_ref)))
    if arxiv is not None:
        eprint = arxiv[0] + (f"v{record.version}" if record.version else "")
        fields += [("eprint", eprint), ("archivePrefix", "arXiv")]
        if record.categories:
            fields.append(("primaryClass", _latex(record.categories[0])))
    if record.doi:
        fields.append(("doi", _verbatim(record.doi)))
    if record.url:
        fields.append(("url", _verbatim(record.url)))
    if note:
        fields.append(("note", _latex(note)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key or bibtex_key(record)},\n{body}\n}}\n"


def bibtex_file(cited: Iterable[Cited]) -> str:
    """Every paper of ``cited`` as one BibTeX file, each key once."""
    entries, used = [], set[str]()
    for each in cited:
        base = key = bibtex_key(each.record)
        suffix = ord("a")
        while key in used:
            key = f"{base}{chr(suffix)}"
            suffix += 1
        used.add(key)
        entries.append(bibtex(each.record, key=key, note=_saved_note(each)))
    return "\n".join(entries)


def _saved_note(cited: Cited) -> str | None:
    if not cited.saved_by:
        return None
    return f"Saved by {cited.saved_by}" + (
        f" on {cited.saved_at.date().isoformat()}" if cited.saved_at else "")


def _ris_value(text: str) -> str:
    # One line a tag: line breaks and control characters become spaces.
    return " ".join(_CONTROL.sub(" ", text).split())


def ris(cited: Iterable[Cited]) -> str:
    """Every paper of ``cited`` as RIS records (``TY`` ... ``ER``)."""
    lines: list[str] = []
    for each in cited:
        record = each.record
        lines.append("TY  - " + ("JOUR" if record.journal_ref else "UNPB"))
        lines.append("TI  - " + _ris_value(record.title))
        lines += ["AU  - " + _ris_value(a) for a in record.authors if a.strip()]
        year = _year(record)
        if record.published is not None:
            lines.append("DA  - " + record.published.strftime("%Y/%m/%d"))
        if year is not None:
            lines.append(f"PY  - {year}")
        if record.abstract:
            lines.append("AB  - " + _ris_value(record.abstract))
        if record.journal_ref:
            lines.append("JO  - " + _ris_value(record.journal_ref))
        arxiv = split_arxiv_id(record.id)
        if arxiv is not None:
            lines.append("PB  - arXiv")
            lines.append("M1  - arXiv:" + arxiv[0])
        if record.doi:
            lines.append("DO  - " + _ris_value(record.doi))
        if record.url:
            lines.append("UR  - " + _ris_value(record.url))
        lines += ["L2  - " + _ris_value(u) for u in record.code_urls]
        lines += ["KW  - " + _ris_value(c) for c in record.categories]
        note = _saved_note(each)
        if note:
            lines.append("N1  - " + _ris_value(note))
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines)


CSV_COLUMNS = ("id", "title", "authors", "published", "url", "code", "doi", "journal",
               "saved_by", "saved_at", "read_by")


def csv_text(cited: Iterable[Cited]) -> str:
    """Every paper of ``cited`` as CSV with a header row (``CSV_COLUMNS``).

    A cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@`` first) starts with an apostrophe, so opening the file runs nothing.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for each in cited:
        record = each.record
        writer.writerow([_cell(v) for v in (
            record.id, record.title, "; ".join(record.authors),
            record.published.isoformat() if isinstance(record.published, date) else "",
            record.url or "", " ".join(record.code_urls), record.doi or "",
            record.journal_ref or "", each.saved_by,
            each.saved_at.isoformat(timespec="seconds") if each.saved_at else "",
            "; ".join(each.read_by),
        )])
    return out.getvalue()


def _cell(value: str) -> str:
    value = _CONTROL.sub(" ", value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
