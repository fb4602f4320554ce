"""Author names: one parser for every source's author lists. No I/O.

``split_authors`` reads one string that lists authors, the way feeds and
seed files write them: LaTeX accents, ``;`` or ``,`` lists, ``and`` / ``&``,
affiliations in parentheses, suffixes (``Jr.``), a final ``et al.``. What
differs by source is one parameter, ``listing``, because the sources write
different things:

- A feed's author field is known to hold authors, written any way:
  ``Last, First`` (bioRxiv's ``Smith, J.``, a ``;`` list of ``Last,
  First``), with affiliations in parentheses. The parser turns names round
  where the list says so and drops the affiliations (the default).
- A seed file is a listing copied from a paper site, which writes ``First
  Last`` names and nothing else, and the text handed over may be no author
  list at all: the tail of a title/author line, tried at every point the
  title might end. There only a comma or ``and`` separates two authors,
  and parentheses and semicolons stay: turning ``Net, Anna Berg`` round,
  or dropping the ``(v2)`` of ``ResNet (v2)Anna Berg``, would let the end
  of a title read as an author's name.

``read_author_list`` adds the check a seed file needs: every name must read
as a person's name (``is_person_name``), else the text is no author list.
``authors_of`` reads a feed entry's author strings, one or several.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.ingest.markup import collapse

__all__ = [
    "SUFFIXES",
    "authors_of",
    "is_initials",
    "is_person_name",
    "one_author",
    "read_author_list",
    "split_authors",
    "tex_to_unicode",
]

_TEX_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a",
}  # fmt: skip
_TEX_LETTERS = {
    "ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
    "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}  # fmt: skip
# A mark over a letter: \'e, \'{e}, {\'e}, \"{\i}, \c{c}, \v s ...
_TEX_ACCENT = re.compile(
    r"\\(?:(?P<sym>[`'^\"~=.])\s*|(?P<word>[uvHckr])(?:\s+|(?=\{)))"
    r"(?:\{\s*(?P<a>\\[ij]|[A-Za-z])\s*\}|(?P<b>\\[ij]|[A-Za-z]))"
)
# ... and letters of their own: {\o}, \ss{}, \L.
_TEX_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|aa|AA|o|O|l|L|i|j)(?![A-Za-z])(?:\{\})?")

# Compared lowercase: "Jr.", "JR", "III".
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_INITIALS = re.compile(r"(?:[^\W\d_]{1,2}\.[\s-]*)+")  # "J.", "A. B.", "C.-D.", "Th."
# One word of a listed name: "J.", "J.-P.", "J". One letter a dot, not two: in a
# seed file's "Results in 3DJ. Smith" the title's "D" would pass for one.
_INITIAL_WORD = re.compile(r"(?:[^\W\d_]\.-?)+|[^\W\d_]")
_ET_AL = re.compile(r"(?:^|[\s,;]+)(?:et\.?\s*al\.?|and\s+others)\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+(?:and|&)\s+")
_AND_WORD = re.compile(r"(?:^|[\s,])and\s")  # where _AND or _LEADING_AND could match
_LEADING_AND = re.compile(r"^(?:and|&)\s+")
_AFFILIATION = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")

# Lowercase name particles: "Ludwig van Beethoven", "Juan de la Cruz".
_PARTICLES = frozenset(
    "al bin binti da das de del della den der di do dos du e el la le ten ter van von y zu".split()
)
# Surname prefixes after which a second capital is normal: McDonald, LeCun.
_CAPITAL_PREFIXES = ("Mc", "Mac", "Le", "La", "De", "Di", "Da", "Du", "Van", "Von", "Fitz", "St")
_MAX_NAME_TOKENS = 6


def tex_to_unicode(text: str) -> str:
    """``M\\'elodie`` -> ``Mélodie``, ``{\\O}stergaard`` -> ``Østergaard``."""
    if "\\" not in text:
        return text

    def accent(match: re.Match[str]) -> str:
        letter = match["a"] or match["b"]
        return letter[-1] + _TEX_MARKS[match["sym"] or match["word"]]  # \'\i is an í

    text = _TEX_LETTER.sub(lambda m: _TEX_LETTERS[m[1]], _TEX_ACCENT.sub(accent, text))
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def is_initials(piece: str) -> bool:
    """``J.``, ``A. B.``, ``C.-D.``: initials only, the first a capital."""
    return bool(_INITIALS.fullmatch(piece)) and piece[0].isupper()


def _split_top(text: str, separator: str) -> list[str]:
    """Split at ``separator`` outside parentheses and brackets (affiliations)."""
    if "(" not in text and "[" not in text:
        return text.split(separator)  # nothing opens a group: no need to count
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth = max(0, depth + (char in "([") - (char in ")]"))
        if char == separator and depth == 0:
            pieces.append(text[start:index])
            start = index + 1
    return [*pieces, text[start:]]


def _clean_name(name: str, *, affiliations: bool = True) -> str:
    # The tests before each pattern only spare it the names it cannot match.
    if affiliations and ("(" in name or "[" in name):
        while _AFFILIATION.search(name):  # nested ones too: "(Dept. (CS), MIT)"
            name = _AFFILIATION.sub(" ", name)
    name = collapse(name)
    if name.startswith(("and", "&")):
        name = _LEADING_AND.sub("", name)
    return name.strip(" ,;")


def _split_and(name: str) -> list[str]:
    return _AND.split(name) if "and" in name or "&" in name else [name]


def split_authors(text: str, *, listing: bool = False) -> tuple[tuple[str, ...], bool]:
    """``(names, truncated)`` from one string that lists authors.

    - LaTeX accents become letters (``M\\'elodie`` -> ``Mélodie``).
    - The list is split at ``;`` if it has one, else at ``,``, never inside
      parentheses or brackets, then at a standalone ``and`` or ``&``.
      Affiliations in parentheses go: ``Xiaojun Bi (Minzu University,
      Beijing)`` -> ``Xiaojun Bi``.
    - A final ``et al.`` or ``and others`` goes and sets ``truncated``.
    - A piece that is only a suffix (``Jr.``, ``III``) joins the name before.
    - ``Last, First`` is turned round only where the list says so: each
      piece of a ``;`` list that has one comma; a ``,`` list whose every
      second piece is initials (bioRxiv's ``Smith, J., Jones, A. B.``); a
      list of exactly ``Surname, Given Names``. Otherwise each comma
      separates two authors, as in arXiv's ``Alice Smith, Bob Jones``.

    A ``listing`` (a seed file's) writes ``First Last`` names and nothing
    else: only commas and ``and`` separate them, nothing is turned round,
    and parentheses and semicolons stay, to fail as names.
    """
    text = tex_to_unicode(text)
    # Only a list that ends in "al", "al." or "others" can end in "et al." (casefold()
    # reads "ſ" as IGNORECASE does).
    tail = text.rstrip()[-6:].casefold()
    et_al = _ET_AL.search(text) if tail.endswith(("al", "al.", "others")) else None
    if et_al:  # the one match there can be: it runs to the end
        text = text[: et_al.start()] + text[et_al.end() :]
    if any(mark in text for mark in "([;&") or ("and" in text and _AND_WORD.search(text)):
        semicolons = not listing and ";" in text and ";" in _AFFILIATION.sub("", text)
        separator = ";" if semicolons else ","
        affiliations = not listing
        pieces = [
            part
            for raw in _split_top(text, separator)
            for piece in _split_and(_clean_name(raw, affiliations=affiliations))
            if (part := _clean_name(piece, affiliations=affiliations))
        ]
    else:  # arXiv's "A B, C D": cleaning the names would change only their spacing
        separator = ","
        pieces = [name for name in map(collapse, text.split(",")) if name]
    names: list[str] = []
    for piece in pieces:
        if names and piece.lower() in SUFFIXES:
            names[-1] += " " + piece
        else:
            names.append(piece)
    return tuple(names if listing else _turned_round(names, separator)), et_al is not None


def _turned_round(names: list[str], separator: str) -> list[str]:
    """The names with ``Last, First`` turned round, where the list says it writes them so."""
    if separator == ";":
        return [one_author(name) for name in names]
    if len(names) % 2 == 0 and names and all(map(is_initials, names[1::2])):
        return [f"{given} {family}" for family, given in zip(names[::2], names[1::2], strict=True)]
    if len(names) == 2 and " " not in names[0] and not is_initials(names[0]):
        return [f"{names[1]} {names[0]}"]
    return names


def one_author(name: str) -> str:
    """One author's name given on its own; ``Last, First`` turned round."""
    parts = [p for p in map(_clean_name, _split_top(tex_to_unicode(name), ",")) if p]
    if len(parts) == 2 and parts[1].lower() not in SUFFIXES:
        return f"{parts[1]} {parts[0]}"
    return " ".join(parts)


def authors_of(names: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """``(names, truncated)`` from a feed entry's author strings.

    One string lists them all (arXiv's ``dc:creator``, bioRxiv's); several
    name one author each, and a last one that is only ``et al.`` truncates.
    """
    if len(names) == 1:
        return split_authors(names[0])
    authors = [a for a in map(one_author, names) if a]
    truncated = bool(authors) and not _ET_AL.sub("", authors[-1])
    return tuple(authors[:-1] if truncated else authors), truncated


# -- what reads as a person's name ------------------------------------------------


def _is_cased(word: str) -> bool:
    """``Luyang``, ``Łukasz``, ``McDonald``: a capital, then lowercase."""
    if not word.isalpha() or not word[0].isupper():
        return False
    if len(word) == 1 or word[1:].islower():
        return True
    return any(
        word.startswith(prefix)
        and len(word) > len(prefix) + 1
        and word[len(prefix)].isupper()
        and word[len(prefix) + 1 :].islower()
        for prefix in _CAPITAL_PREFIXES
    )


def _is_name_word(token: str, *, first: bool) -> bool:
    """A name word: ``Jean-Pierre``, ``O'Brien``, ``Abdel-rahman``, ``al-Hassan``.

    Only a name's first word must be capitalized; later words may also be
    all capitals (``ZHANG``) or begin with a lowercase particle (``d'Alembert``).
    """
    if not first and len(token) > 1 and token.isalpha() and token.isupper():
        return True
    pieces = token.split("-")
    for index, piece in enumerate(pieces):
        parts = re.split(r"['\u2019]", piece)
        head_ok = _is_cased(parts[0]) or (
            # a lowercase piece: "Abdel-rahman", or a particle before "'" or "-"
            parts[0].isalpha()
            and parts[0].islower()
            and (index > 0 or (not first and (len(parts) > 1 or len(pieces) > 1)))
        )
        if not head_ok or not all(_is_cased(part) for part in parts[1:]):
            return False
    return True


def is_person_name(segment: str, *, first: bool) -> bool:
    """A person's name of 1-6 words (2-6 for a list's first author, to stay strict).

    Initials (``J.``, ``J.-P.``, a lone capital), lowercase particles
    (``van``) and a final suffix may stand among the words, but a name needs
    one word that is not an initial.
    """
    tokens = segment.split()
    if not (2 if first else 1) <= len(tokens) <= _MAX_NAME_TOKENS:
        return False
    has_word = False
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        if _INITIAL_WORD.fullmatch(token) and token[0].isupper():
            continue
        if index > 0 and last and token.lower() in SUFFIXES:
            continue
        if 0 < index and not last and token in _PARTICLES:
            continue
        if not _is_name_word(token, first=index == 0):
            return False
        has_word = True
    return has_word


def read_author_list(text: str) -> tuple[tuple[str, ...], bool] | None:
    """``(names, truncated)`` when all of ``text`` reads as a ``First Last`` author
    list, else None: ``split_authors`` of a ``listing``, and every name must be
    a person's (``is_person_name``)."""
    names, truncated = split_authors(text, listing=True)
    if names and all(is_person_name(name, first=i == 0) for i, name in enumerate(names)):
        return names, truncated
    return None
