"""A deterministic synthetic catalog: a million plausible papers in seconds.

``SyntheticCatalog(seed=...)`` yields ``PaperRecord`` values shaped like
arXiv listings: ~12-word titles, ~200-word abstracts, 3-10 authors (some
with accented names), categories among cs.CV/eess.IV/cs.LG/cs.AI/cs.CL/
stat.ML, publication days over 2015-2026, ~30% with a GitHub link, and
arXiv-style ids (``2401.01234``). The same seed always gives the same papers.

Words follow a Zipf law (50,000 words, s = 1.1) so that, as in real
abstracts, a few words are in most papers and most words are in few. The
vocabulary knows each word's expected share of papers, so a benchmark can
pick query words by class (``Vocabulary.common`` / ``mid`` / ``rare``)
without scanning the catalog.

Speed: drawing every word with ``random.choices`` is too slow for 1M papers
(see docs/benchmarks.md, section "Catalog: bulk import and search", What it
does, item 1). Instead, Zipf-distributed word *pools* are
drawn once (a few million words) and each abstract is a few slices of the
pool at random offsets. Word frequencies, and so the document frequencies a
search index sees, are unchanged; runs of words recur across papers, as
stock phrases do in real abstracts.

No I/O. The standard library, ``bot.model.papers`` for the record type, and
tantivy's English stemmer, used to keep the vocabulary free of words that
would stem to the same index term.
"""

from __future__ import annotations

import math
import random
import unicodedata
from array import array
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import tantivy

from bot.model.papers import PaperRecord

__all__ = [
    "CATEGORIES",
    "FIRST_NAMES",
    "STOPWORDS",
    "SURNAMES",
    "TOKENS_PER_PAPER",
    "SyntheticCatalog",
    "Vocabulary",
    "build_vocabulary",
    "plain_ascii",
]

CATEGORIES: tuple[tuple[str, float], ...] = (
    ("cs.CV", 0.34),
    ("eess.IV", 0.14),
    ("cs.LG", 0.22),
    ("cs.AI", 0.10),
    ("cs.CL", 0.12),
    ("stat.ML", 0.08),
)

# Mean title + abstract words of a generated paper: the basis of the
# expected document fractions below.
TITLE_WORDS = 12
ABSTRACT_WORDS = 200
TOKENS_PER_PAPER = TITLE_WORDS + ABSTRACT_WORDS

FIRST_DAY = date(2015, 1, 1)
LAST_DAY = date(2026, 10, 31)

# Real words take the top ranks (function words first, as in real text);
# pseudo-words fill the rest. Later words with an already-used index stem
# ("methods" after "method") are dropped.
_REAL_WORDS = """
the of and a learning to in model we for image data is network with method on
that deep results performance by this training our are from approach
segmentation an which neural proposed features based task can existing
framework medical as dataset state art accuracy using show attention large
tasks two language new feature models representation detection end
classification novel be it also experiments multiple information between
transformer generation further while such images has high different
improve evaluation video both across well prior scale loss than learned
object benchmark convolutional label however robust semantic into efficient
generative diffusion visual domain these self supervised recent analysis
structure each demonstrate through clinical graph space first work
problem temporal paper introduce extensive significantly achieve
reconstruction text contrastive quality spatial sequence patient mri
pretrained fine tuning downstream instance patch encoder decoder
resolution noise adversarial prediction inference context global local
module computational cost memory efficiency real world complex simple
scene point cloud depth motion estimation tracking retrieval embedding
alignment knowledge distillation policy reinforcement agent reward
optimization gradient stochastic convergence theoretical bound
probabilistic bayesian uncertainty calibration fairness privacy federated
clustering sparse low rank matrix kernel regression tumor lesion brain
lung cardiac ultrasound tomography radiology histopathology pathology
""".split()

# Words no one searches for alone: the query classes and phrases skip them.
# Lucene's English stop words (tantivy's "english" list) plus a few more.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the"
    " their then there these they this to was will with"
    " we our from which can also has both each than while well".split()
)

# Words -> stems, fixed here rather than taken from bot.search.index so that the
# catalog stays the same when the index's analyzer changes (stop words, say).
_STEMS = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.ascii_fold())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


def _stems(word: str) -> list[str]:
    return list(_STEMS.analyze(word))

_ONSETS = (
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v",
    "z", "br", "cr", "dr", "gr", "pr", "tr", "st", "sk", "pl", "bl", "fl", "ch",
    "sh", "th", "qu", "x", "w", "j",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "i", "o", "ea", "ou", "y")
_CODAS = ("", "", "", "n", "r", "l", "t", "k", "m", "x", "nd", "rt", "ng", "p")

FIRST_NAMES: tuple[str, ...] = tuple(
    """
Wei Jing Li Yang Hao Xin Yu Min Jun Lei Chen Fei Ying Zhi Hui Ming Tao Rui
Hiroshi Yuki Takeshi Sakura Haruto Aiko Ji-hoon Seo-yeon Min-jun Hye-jin
Priya Rahul Ananya Arjun Deepika Vikram Sanjay Kavya Rohan Aditi
Mohammed Fatima Ahmed Layla Omar Yasmin Karim Nour Hassan Amira
John Mary David Sarah Michael Emily James Laura Robert Anna Thomas Emma
Daniel Olivia Matthew Sophia Andrew Grace Christopher Hannah Benjamin Chloe
José María Andrés Sofía Javier Lucía Álvaro Inés Raúl Nuria
François Hélène Émilie Jérôme Céline Amélie Benoît Zoë Noël Gaëlle
Jürgen Björn Jörg Günther Sören Käthe Jens Ulrike Stefan Lena
Łukasz Paweł Małgorzata Zoltán Dvora Tomáš Jiří Petr Kateřina Miloš
Søren Åsa Øystein Ingrid Lars Sigrid Mikael Astrid Ola Freja
João Conceição Gonçalo Inês Mário Luís Tiago Beatriz Rúben Ana
Çağrı Şebnem Gökhan Ayşe Emre Elif Burak Zeynep Oğuz İrem
Nguyễn Thảo Minh Quang Phương Olumide Chidi Ngozi Kwame Amara
""".split()
)

SURNAMES: tuple[str, ...] = tuple(
    """
Wang Zhang Li Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin
Luo Gao Zheng Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong
Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Sato Kato
Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim
Sharma Patel Gupta Singh Kumar Reddy Iyer Nair Rao Mehta
Khan Hussain Rahman Haddad Nasser Farouk Aziz Saleh Mansour Karimi
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor
Thomas Moore Martin Jackson Thompson White Harris Clark Lewis Walker
García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez
Núñez Jiménez Muñoz Álvarez Gómez Díaz Suárez Peña Ibáñez Cortés Calderón
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer Köhler
Krüger Groß Hoffmann Schröder Zimmermann Braun Hölzl Wörner Bäcker Vogel
Dubois Lefèvre Moreau Girard Bonnet Fournier Mercier Rousseau Faure Gérard
Hervé Lemaître Bélanger Côté Gagné Théberge Lévesque Pelletier Ménard Noël
Kowalski Nowak Wiśniewski Wójcik Kamiński Lewandowski Zieliński Dvořák
Novák Svoboda Procházka Kovačević Horváth Szabó Tóth Nagy Varga Kiss
Østergaard Sørensen Jørgensen Ødegaard Åberg Ångström Nyström Lindqvist
Bergström Johansson Andersson Nilsson Larsen Hansen Pedersen Nielsen Berg
Gonçalves Conceição Magalhães Simões Guimarães Araújo Fernandes Silva Costa
Öztürk Yılmaz Şahin Çelik Doğan Kılıç Aydın Özdemir Arslan Koç
Nguyen Tran Le Pham Hoang Vo Dang Bui Do Ngo Okafor Adeyemi Mensah Diallo
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco
Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov Novikov Morozov Volkov
Cohen Levi Mizrahi Friedman Katz Goldberg Shapiro Rosen Weiss Klein
""".split()
)


@dataclass(frozen=True)
class Vocabulary:
    """Words by rank (0 is the most frequent) with Zipf weights."""

    words: tuple[str, ...]
    cum_weights: tuple[float, ...]
    s: float

    def probability(self, rank: int) -> float:
        """Share of all word occurrences taken by the word at ``rank``."""
        return float((rank + 1) ** -self.s) / self.cum_weights[-1]

    def doc_fraction(self, rank: int) -> float:
        """Expected share of papers whose title or abstract holds the word."""
        return 1.0 - math.exp(-TOKENS_PER_PAPER * self.probability(rank))

    def band(self, low: float, high: float, *, skip_stopwords: bool = True) -> list[str]:
        """Words expected in a share of papers within ``[low, high]``, by rank."""
        return [
            word
            for rank, word in enumerate(self.words)
            if low <= self.doc_fraction(rank) <= high
            and not (skip_stopwords and word in STOPWORDS)
        ]

    @cached_property
    def common(self) -> list[str]:
        """Content words in at least half of all papers ("learning", "model")."""
        return self.band(0.5, 1.0)

    @cached_property
    def mid(self) -> list[str]:
        """Words in 0.5%-5% of papers (5,000-50,000 of a million)."""
        return self.band(0.005, 0.05)

    @cached_property
    def rare(self) -> list[str]:
        """Words in at most 0.05% of papers (a few hundred of a million)."""
        return self.band(0.0, 0.0005)


def _pseudo_word(rng: random.Random) -> str:
    syllables = rng.choice((1, 2, 2, 2, 3, 3))
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables)]
    return "".join(parts) + rng.choice(_CODAS)


def build_vocabulary(*, size: int = 50_000, s: float = 1.1, seed: int = 0) -> Vocabulary:
    """``size`` words, each its own index term (its stem is unique)."""
    rng = random.Random(f"vocabulary-{seed}")
    words: list[str] = []
    stems: set[str] = set()
    for word in _REAL_WORDS:
        terms = _stems(word)
        if len(terms) == 1 and terms[0] not in stems:
            stems.add(terms[0])
            words.append(word)
    while len(words) < size:
        word = _pseudo_word(rng)
        # A pseudo-word is kept only when the stemmer leaves it whole, so
        # that a prefix of it is a prefix of its index term too.
        if word not in stems and _stems(word) == [word]:
            stems.add(word)
            words.append(word)
    cum: list[float] = []
    total = 0.0
    for rank in range(size):
        total += (rank + 1) ** -s
        cum.append(total)
    return Vocabulary(words=tuple(words), cum_weights=tuple(cum), s=s)


# Letters that NFKD does not split into a base letter and an accent.
_PLAIN = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "ı": "i", "đ": "d", "æ": "ae"})


def plain_ascii(text: str) -> str:
    """``Østergaard`` -> ``Ostergaard``, ``Yılmaz`` -> ``Yilmaz``: as typed on a plain keyboard."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN))
    return decomposed.encode("ascii", "ignore").decode()


def _ascii(name: str) -> str:
    return plain_ascii(name).lower() or "lab"


def _authors_pool(rng: random.Random) -> list[str]:
    names = [f"{first} {last}" for first in FIRST_NAMES for last in SURNAMES]
    rng.shuffle(names)
    return names


class _TextPool:
    """Words joined into one string, with each word's start offset.

    A run of words is then one string slice (a memcpy) instead of a join over
    scattered string objects, which is what makes 1M papers fast (see
    docs/benchmarks.md, section "Catalog: bulk import and search", What it
    does, item 1).
    """

    def __init__(self, words: list[str]) -> None:
        self.text = " ".join(words) + " "
        starts = array("l", [0]) * (len(words) + 1)
        offset = 0
        for i, word in enumerate(words):
            starts[i] = offset
            offset += len(word) + 1
        starts[len(words)] = offset
        self.starts = starts
        self.words = words

    def run(self, start: int, length: int) -> str:
        starts = self.starts
        return self.text[starts[start] : starts[start + length] - 1]


class SyntheticCatalog:
    """The papers of one seed; ``papers(n)`` yields the first ``n`` of them."""

    # Pool sizes: each word position of the abstract pool is reused ~50 times
    # at 1M papers; large enough that no two abstracts are alike.
    ABSTRACT_POOL = 1 << 22
    TITLE_POOL = 1 << 20
    AUTHOR_POOL = 1 << 20

    def __init__(self, *, seed: int = 0, vocab_size: int = 50_000, zipf_s: float = 1.1) -> None:
        self.seed = seed
        self.vocabulary = build_vocabulary(size=vocab_size, s=zipf_s, seed=seed)

    def _pools(self, rng: random.Random) -> tuple[_TextPool, _TextPool]:
        vocab = self.vocabulary
        words = vocab.words
        cum = vocab.cum_weights
        title_words = rng.choices(words, cum_weights=cum, k=self.TITLE_POOL)
        abstract_words = rng.choices(words, cum_weights=cum, k=self.ABSTRACT_POOL)
        # Bake sentence structure into the pool: ~1 word in 18 ends a sentence
        # (the next one is capitalized), ~1 in 14 carries a comma.
        r = rng.random
        capitalize_next = True
        for i, word in enumerate(abstract_words):
            if capitalize_next:
                word = word.capitalize()
                capitalize_next = False
            x = r()
            if x < 1 / 18:
                word += "."
                capitalize_next = True
            elif x < 1 / 18 + 1 / 14:
                word += ","
            abstract_words[i] = word
        return _TextPool(title_words), _TextPool(abstract_words)

    def papers(self, n: int) -> Iterator[PaperRecord]:
        rng = random.Random(f"papers-{self.seed}")
        titles, abstracts = self._pools(rng)
        names = _authors_pool(rng)
        # GitHub owners are ASCII: "Müller" -> "muller".
        slugs = {name: _ascii(name.rsplit(" ", 1)[-1]) for name in names}
        # Prolific authors exist, but the tail is long (Zipf s = 0.8). Papers
        # take runs of a pre-drawn stream of authors, like the word pools.
        author_cum: list[float] = []
        total = 0.0
        for rank in range(len(names)):
            total += (rank + 1) ** -0.8
            author_cum.append(total)
        author_stream = rng.choices(names, cum_weights=author_cum, k=self.AUTHOR_POOL)
        cat_names = [name for name, _ in CATEGORIES]
        cat_cum: list[float] = []
        total = 0.0
        for _, weight in CATEGORIES:
            total += weight
            cat_cum.append(total)
        first_ordinal = FIRST_DAY.toordinal()
        days = LAST_DAY.toordinal() - first_ordinal + 1
        month_seq: dict[tuple[int, int], int] = {}
        # Author-count weights for 3..10 authors: mostly 3-6.
        author_count_cum = (0.22, 0.44, 0.62, 0.76, 0.86, 0.93, 0.97, 1.0)

        r = rng.random
        title_span = self.TITLE_POOL - 40
        abstract_span = self.ABSTRACT_POOL - 400
        author_span = self.AUTHOR_POOL - 40
        title_words = titles.words
        from_ordinal = date.fromordinal
        for _ in range(n):
            day = from_ordinal(first_ordinal + int(r() * days))
            key = (day.year, day.month)
            seq = month_seq.get(key, 0) + 1
            if seq > 99_999:
                raise ValueError("more than 99,999 papers in one month; use fewer papers")
            month_seq[key] = seq
            paper_id = f"{day.year % 100:02d}{day.month:02d}.{seq:05d}"

            # Sums of uniforms: bell-shaped lengths, cheaper than gauss().
            title_len = 6 + int((r() + r() + r()) * 4)  # 6-17, mean 12
            start = int(r() * title_span)
            title = titles.run(start, title_len).title()

            # Three runs at random offsets: the abstract's sentences.
            length = 110 + int((r() + r() + r()) * 60)  # 110-289, mean 200
            third = length // 3
            abstract = " ".join(
                (
                    abstracts.run(int(r() * abstract_span), third),
                    abstracts.run(int(r() * abstract_span), third),
                    abstracts.run(int(r() * abstract_span), length - 2 * third),
                )
            )
            abstract = abstract[0].upper() + abstract[1:]
            if abstract[-1] != ".":
                abstract = abstract.rstrip(",") + "."

            count = 3 + bisect(author_count_cum, r())
            at = int(r() * author_span)
            authors = tuple(dict.fromkeys(author_stream[at : at + count]))
            while len(authors) < count:  # a name drawn twice: take the next ones
                at += count
                authors = tuple(dict.fromkeys(authors + tuple(author_stream[at : at + count])))[:count]

            primary = cat_names[bisect(cat_cum, r() * total)]
            x = r()
            if x < 0.35:  # cross-listed in one or two more
                other = cat_names[int(r() * 6)]
                categories: tuple[str, ...] = (primary, other) if other != primary else (primary,)
                if x < 0.08:
                    other = cat_names[int(r() * 6)]
                    if other not in categories:
                        categories += (other,)
            else:
                categories = (primary,)

            if r() < 0.3:
                repo = "-".join(title_words[start : start + 2])
                code_urls: tuple[str, ...] = (f"https://github.com/{slugs[authors[0]]}/{repo}",)
            else:
                code_urls = ()

            yield PaperRecord(
                id=paper_id,
                title=title,
                authors=authors,
                abstract=abstract,
                categories=categories,
                published=day,
                url=f"https://arxiv.org/abs/{paper_id}",
                code_urls=code_urls,
                has_code=bool(code_urls),
                source="bench-synth",
                version=1,
            )
