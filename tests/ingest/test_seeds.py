"""The seed-file parser: the real seed file, tolerated variants, malformed records."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.identity import paper_id_for
from bot.ingest.seeds import (
    SeedFile,
    SeedProblem,
    parse_seed_text,
    read_seed_file,
    seed_paths,
    split_title_authors,
    title_search_url,
)

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
REAL_SEED = SEEDS_DIR / "000_46c178561745ed14.txt"

class Expected(NamedTuple):
    title: str
    authors: tuple[str, ...]
    published: date
    category: str
    has_code: bool
    code_urls: tuple[str, ...] = ()


# Written by hand from reading the seed file, one entry per record, in order.
# Every record there lists three authors and then "et al.".
REAL_RECORDS = [
    Expected(
        "Multi-Granularity Cross-modal Alignment for Generalized Medical Visual "
        "Representation Learning",
        ("Fuying Wang", "Yuyin Zhou", "Shujun Wang"),
        date(2022, 10, 12), "cs.CV", False,
    ),
    Expected(
        "Beta-Rank: A Robust Convolutional Filter Pruning Method For Imbalanced Medical "
        "Image Analysis",
        ("Morteza Homayounfar", "Mohamad Koohi-Moghadam", "Reza Rawassizadeh"),
        date(2023, 4, 15), "cs.CV", True, ("https://github.com/mohofar/Beta-Rank",),
    ),
    Expected(
        "A Large Model for Non-invasive and Personalized Management of Breast Cancer from "
        "Multiparametric MRI",
        ("Luyang Luo", "Mingxiang Wu", "Mei Li"),
        date(2024, 8, 8), "cs.CV", True, ("https://github.com/LLYXC/MOME/tree/main",),
    ),
    Expected(
        "Deep Learning in Breast Cancer Imaging: A Decade of Progress and Future Directions",
        ("Luyang Luo", "Xi Wang", "Yi Lin"),
        date(2023, 4, 13), "eess.IV", False,
    ),
    Expected(
        "Unsupervised Domain Adaptation for Low-dose CT Reconstruction via Bayesian "
        "Uncertainty Alignment",
        ("Kecheng Chen", "Jie Liu", "Renjie Wan"),
        date(2023, 2, 26), "eess.IV", False,
    ),
    Expected(
        "AdaMedGraph: Adaboosting Graph Neural Networks for Personalized Medicine",
        ("Jie Lian", "Xufang Luo", "Caihua Shan"),
        date(2023, 11, 24), "cs.LG", False,
    ),
    Expected(
        "GSCo: Towards Generalizable AI in Medicine via Generalist-Specialist Collaboration",
        ("Sunan He", "Yuxiang Nie", "Hongmei Wang"),
        date(2024, 4, 23), "cs.CV", True,  # flagged Code, but no URL in the abstract
    ),
    Expected(
        "MG-3D: Multi-Grained Knowledge-Enhanced 3D Medical Vision-Language Pre-training",
        ("Xuefeng Ni", "Linshan Wu", "Jiaxin Zhuang"),
        date(2024, 12, 8), "cs.CV", True, ("https://github.com/Xuefeng-Ni/MG-3D",),
    ),
    Expected(
        "MiM: Mask in Mask Self-Supervised Pre-Training for 3D Medical Image Analysis",
        ("Jiaxin Zhuang", "Linshan Wu", "Qiong Wang"),
        date(2024, 4, 24), "cs.CV", False,
    ),
    Expected(
        "FreeTumor: Large-Scale Generative Tumor Synthesis in Computed Tomography Images "
        "for Improving Tumor Recognition",
        ("Linshan Wu", "Jiaxin Zhuang", "Yanning Zhou"),
        date(2025, 2, 23), "eess.IV", False,
    ),
    Expected(
        "UniBiomed: A Universal Foundation Model for Grounded Biomedical Image Interpretation",
        ("Linshan Wu", "Yuxiang Nie", "Sunan He"),
        date(2025, 4, 30), "cs.CV", False,
    ),
    Expected(
        "Large-scale Multi-sequence Pretraining for Generalizable MRI Analysis in Versatile "
        "Clinical Applications",
        ("Zelin Qiu", "Xi Wang", "Zhuoyao Xie"),
        date(2025, 8, 10), "eess.IV", False,
    ),
    Expected(
        "Rethinking Annotation Granularity for Overcoming Shortcuts in Deep Learning-based "
        "Radiograph Diagnosis: A Multicenter Study",
        ("Luyang Luo", "Hao Chen", "Yongjie Xiao"),
        date(2021, 4, 21), "eess.IV", False,
    ),
    Expected(
        "Stabilizing Deep Tomographic Reconstruction",
        ("Weiwen Wu", "Dianlin Hu", "Wenxiang Cong"),
        date(2020, 8, 4), "eess.IV", False,
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def real_seed() -> SeedFile:
    return read_seed_file(REAL_SEED)


def test_real_seed_file_has_fourteen_records_and_no_problems(real_seed: SeedFile) -> None:
    assert real_seed.problems == ()
    assert len(real_seed.records) == len(REAL_RECORDS) == 14


@pytest.mark.parametrize(
    "index", range(len(REAL_RECORDS)), ids=[r.title[:40] for r in REAL_RECORDS]
)
def test_real_seed_record(real_seed: SeedFile, index: int) -> None:
    expected = REAL_RECORDS[index]
    record = real_seed.records[index]
    assert record.title == expected.title
    assert record.authors == expected.authors
    assert record.authors_truncated is True
    assert record.published == expected.published
    assert record.categories == (expected.category,)
    assert record.has_code is expected.has_code
    assert record.code_urls == expected.code_urls
    assert record.id == paper_id_for(title=expected.title)
    assert record.source == "seed:000_46c178561745ed14.txt"
    # A listing names no link: the paper's is arXiv's search for its title.
    assert record.url == title_search_url(record.title)
    assert record.url.startswith("https://arxiv.org/search/?query=")


def test_real_seed_abstracts_are_whole_lines(real_seed: SeedFile) -> None:
    first, _, mome = real_seed.records[:3]
    assert first.abstract.startswith("Learning medical visual representations directly")
    assert first.abstract.endswith("superior performance of our framework.")
    # The URL's sentence period stays in the abstract; only the link drops it.
    assert mome.abstract.endswith("Code is available at https://github.com/LLYXC/MOME/tree/main.")
    assert real_seed.records[-1].abstract.endswith("into clinical applications.")


def test_crlf_bom_blank_lines_and_trailing_spaces_give_the_same_records(
    real_seed: SeedFile, tmp_path: Path
) -> None:
    lines = REAL_SEED.read_text("utf-8").split("\n")
    messy: list[str] = ["", "  "]
    for number, line in enumerate(lines):
        messy.append(line + "   \t")
        if number % 3 == 0:
            messy.append("")  # a blank line inside a record, after its header
        if number % 3 == 2:
            messy.extend(["", " ", ""])  # blank lines between records
    path = tmp_path / REAL_SEED.name
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(messy).encode("utf-8") + b"\r\n")

    parsed = read_seed_file(path)

    assert parsed.problems == ()
    assert parsed.records == real_seed.records


def test_text_with_bom_and_bare_cr_line_ends() -> None:
    text = "\ufeffCVApr 15, 2023Code\rA TitleJohn Smith\rAn abstract.\r"
    (record,) = parse_seed_text(text, path="seeds/x.txt").records
    assert (record.title, record.authors, record.has_code) == ("A Title", ("John Smith",), True)
    assert record.authors_truncated is False


GOOD_A = ["CVApr 15, 2023Code", "First Good PaperAnna Berg, Carl Dahl et al.", "Abstract A."]
GOOD_B = ["IVFeb 26, 2023", "Second Good PaperEva Falk", "Abstract B with https://github.com/e/f."]
LOST = ["Lost TitleAnna Berg", "Lost abstract."]


def _parse(lines: list[str]) -> SeedFile:
    return parse_seed_text("\n".join(lines) + "\n", path="seeds/x.txt")


def _titles(seed_file: SeedFile) -> list[str]:
    return [record.title for record in seed_file.records]


# Each bad record sits between GOOD_A (lines 1-3) and GOOD_B, so its first
# line is line 4 of the file.
MALFORMED = [
    pytest.param(["XXgarbage header", *LOST], 4, "expected a header line", id="bad header"),
    pytest.param(["CVFeb 30, 2023", *LOST], 4, "impossible date 'Feb 30, 2023'", id="Feb 30"),
    pytest.param(["CVApr 31, 2023Code", *LOST], 4, "impossible date", id="day past month end"),
    pytest.param(
        ["CVMar 1, 2023", "An abstract standing where the title line belongs."],
        4,
        "no title/author line",
        id="missing title line",
    ),
    pytest.param(["CVMar 1, 2023", LOST[0]], 4, "no abstract", id="missing abstract"),
    pytest.param(["CVMar 1, 2023"], 4, "no title/author line and no abstract", id="header alone"),
    pytest.param(
        ["CVMar 1, 2023", "a title with no authors glued on", "Lost abstract."],
        5,
        "cannot split the title",
        id="no author list",
    ),
    pytest.param(
        ["CVMar 1, 2023", "Lost Titleanna berg, carl dahl", "Lost abstract."],
        5,
        "cannot split the title",
        id="lowercase names",
    ),
]


@pytest.mark.parametrize(("bad", "line", "words"), MALFORMED)
def test_malformed_record_is_reported_and_skipped(bad: list[str], line: int, words: str) -> None:
    parsed = _parse(GOOD_A + bad + GOOD_B)

    assert _titles(parsed) == ["First Good Paper", "Second Good Paper"]
    (problem,) = parsed.problems
    assert (problem.path, problem.line) == ("seeds/x.txt", line)
    assert words in problem.message
    assert parsed.records[1].code_urls == ("https://github.com/e/f",)


def test_every_kind_of_problem_in_one_file_with_blank_lines() -> None:
    lines = [
        "stray preamble",  # 1
        "",  # 2
        *GOOD_A,  # 3-5
        "",  # 6
        "CVFeb 30, 2023",  # 7
        "Bad Date PaperAnna Berg",  # 8
        "Abstract.",  # 9
        "LGJan 2, 2024",  # 10: no abstract
        "No Abstract PaperAnna Berg",  # 11
        "",  # 12
        *GOOD_B,  # 13-15
        "CVMar 1, 2023",  # 16: no title/author line
        "An abstract without its title line.",  # 17
    ]
    parsed = _parse(lines)

    assert _titles(parsed) == ["First Good Paper", "Second Good Paper"]
    assert [(p.line, p.message.split(" ")[0]) for p in parsed.problems] == [
        (1, "expected"),
        (7, "impossible"),
        (10, "record"),
        (16, "record"),
    ]
    expected = "seeds/x.txt:7: impossible date 'Feb 30, 2023'; the record is skipped"
    assert str(parsed.problems[1]) == expected


def test_record_without_header_after_a_good_record_is_reported() -> None:
    # GOOD_B lost its header: GOOD_A is still whole, the strays are reported.
    parsed = _parse(GOOD_A + GOOD_B[1:] + GOOD_A)
    assert _titles(parsed) == ["First Good Paper", "First Good Paper"]
    assert [p.line for p in parsed.problems] == [4]
    assert "expected a header line" in parsed.problems[0].message


def test_missing_abstract_and_missing_next_header_are_both_reported() -> None:
    lines = [GOOD_A[0], GOOD_A[1], *GOOD_B[1:], *GOOD_A]
    parsed = _parse(lines)
    assert _titles(parsed) == ["First Good Paper"]
    found = [(p.line, p.message.split(" ")[0]) for p in parsed.problems]
    assert found == [(1, "record"), (3, "expected")]
    assert "no abstract" in parsed.problems[0].message


def test_undecodable_bytes_cost_their_record_alone(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    latin1 = "\nCVApr 1, 2023\nCaf\xe9 PaperJ\xf6rg M\xfcller\nX.\n".encode("latin-1")
    path.write_bytes("\n".join(GOOD_A).encode("utf-8") + latin1 + "\n".join(GOOD_B).encode())
    parsed = read_seed_file(path)
    assert _titles(parsed) == ["First Good Paper", "Second Good Paper"]
    (problem,) = parsed.problems
    assert problem.line == 5
    assert "UTF-8" in problem.message
    assert str(problem).startswith(f"{path}:5: ")


def test_an_undecodable_stray_line_keeps_its_record(tmp_path: Path) -> None:
    path = tmp_path / "stray.txt"
    path.write_bytes("\n".join(GOOD_A).encode() + b"\nstray \xff line\n" + "\n".join(GOOD_B).encode())
    parsed = read_seed_file(path)
    assert _titles(parsed) == ["First Good Paper", "Second Good Paper"]
    (problem,) = parsed.problems
    assert problem.line == 4 and "not valid UTF-8" in problem.message
    assert "record is skipped" not in problem.message


def test_seed_problem_str() -> None:
    assert str(SeedProblem("seeds/x.txt", 12, "bad")) == "seeds/x.txt:12: bad"


SEED_LINES = GOOD_A + GOOD_B + ["", "CVFeb 30, 2023", "junk", "CVMay 3, 2023Code"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SEED_LINES)) | st.text())
def test_never_raises_on_any_content(parts: list[str] | str) -> None:
    text = parts if isinstance(parts, str) else "\n".join(parts)
    parsed = parse_seed_text(text, path="seeds/x.txt")
    assert all(p.line >= 1 for p in parsed.problems)


def _case(line: str, title: str, *authors: str, truncated: bool = False) -> object:
    return pytest.param(line, title, authors, truncated, id=title)


SPLIT_CASES = [
    _case(
        "Breast Cancer from Multiparametric MRILuyang Luo, Mingxiang Wu, Mei Li et al.",
        "Breast Cancer from Multiparametric MRI",
        "Luyang Luo", "Mingxiang Wu", "Mei Li",
        truncated=True,
    ),
    _case(
        "AdaMedGraph: Adaboosting Graph Neural NetworksJie Lian, Xufang Luo",
        "AdaMedGraph: Adaboosting Graph Neural Networks",
        "Jie Lian", "Xufang Luo",
    ),
    _case(
        "GSCo: Generalist-Specialist CollaborationSunan He et al.",
        "GSCo: Generalist-Specialist Collaboration",
        "Sunan He",
        truncated=True,
    ),
    _case("MiM: Mask in MaskJiaxin Zhuang", "MiM: Mask in Mask", "Jiaxin Zhuang"),
    _case(
        "Comparing CheXNet and CheXDetHao Chen, Yi Lin",
        "Comparing CheXNet and CheXDet",
        "Hao Chen", "Yi Lin",
    ),
    _case(
        "Imaging, Revisited, AgainAnna Berg, Carl Dahl",
        "Imaging, Revisited, Again",
        "Anna Berg", "Carl Dahl",
    ),
    _case(
        "A Study of StuffJean-Pierre Dupont, Marie-Claire Durand et al.",
        "A Study of Stuff",
        "Jean-Pierre Dupont", "Marie-Claire Durand",
        truncated=True,
    ),
    _case(
        "Convolutional NetworksYann LeCun, Sarah McDonald",
        "Convolutional Networks",
        "Yann LeCun", "Sarah McDonald",
    ),
    _case(
        "Surnames FirstMcDonald Smith, Jane Doe",
        "Surnames First",
        "McDonald Smith", "Jane Doe",
    ),
    _case("Initials in MRIJ. Smith, A. B. Jones", "Initials in MRI", "J. Smith", "A. B. Jones"),
    _case("Hyphenated InitialsJ.-P. Martin", "Hyphenated Initials", "J.-P. Martin"),
    _case(
        "Polish ThingsŁukasz Kowalski, Jörg Müller, Zoë Ellis",
        "Polish Things",
        "Łukasz Kowalski", "Jörg Müller", "Zoë Ellis",
    ),
    _case("Results in Version 2Anna Berg", "Results in Version 2", "Anna Berg"),
    _case("Pre-training in 3DXuefeng Ni", "Pre-training in 3D", "Xuefeng Ni"),
    _case(
        "Segment Anything (SAM)Anna Berg et al.",
        "Segment Anything (SAM)",
        "Anna Berg",
        truncated=True,
    ),
    _case("Does It Work?Anna Berg", "Does It Work?", "Anna Berg"),
    _case(
        "Many Parts of NamesLudwig van Beethoven, Juan Carlos de la Cruz",
        "Many Parts of Names",
        "Ludwig van Beethoven", "Juan Carlos de la Cruz",
    ),
    _case(
        "Irish NamesSeán O'Brien, Ahmed al-Hassan and Wei ZHANG",
        "Irish Names",
        "Seán O'Brien", "Ahmed al-Hassan", "Wei ZHANG",
    ),
    _case(
        "SuffixesMartin Luther King Jr., Anna Berg",
        "Suffixes",
        "Martin Luther King Jr.", "Anna Berg",
    ),
    _case(
        "Comma Before Et AlAnna Berg, Carl Dahl, et al.",
        "Comma Before Et Al",
        "Anna Berg", "Carl Dahl",
        truncated=True,
    ),
    _case("No Dot After AlAnna Berg et al", "No Dot After Al", "Anna Berg", truncated=True),
    _case(
        "Extra  Spaces  TitleAnna  Berg,  Carl Dahl  ",
        "Extra Spaces Title",
        "Anna Berg", "Carl Dahl",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "title", "authors", "truncated"), SPLIT_CASES)
def test_split_title_authors(
    line: str, title: str, authors: tuple[str, ...], truncated: bool
) -> None:
    assert split_title_authors(line) == (title, authors, truncated)


# The author list is read by the feeds' parser (bot.ingest.authors) as a listing:
# its et-al rule, and nothing of a title read as a name.
LISTING_CASES = [
    _case("Results in 3DJ. Smith, Anna Berg", "Results in 3D", "J. Smith", "Anna Berg"),
    _case("Comparing ResNet (v2)Anna Berg", "Comparing ResNet (v2)", "Anna Berg"),
    _case("A Study; AgainAnna Berg", "A Study; Again", "Anna Berg"),
    _case("Capital Et AlAnna Berg Et Al.", "Capital Et Al", "Anna Berg", truncated=True),
    _case("And OthersAnna Berg and others", "And Others", "Anna Berg", truncated=True),
    _case("SuffixedAnna Berg, Jr., Carl Dahl", "Suffixed", "Anna Berg Jr.", "Carl Dahl"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "title", "authors", "truncated"), LISTING_CASES)
def test_split_title_authors_reads_the_list_as_a_listing(
    line: str, title: str, authors: tuple[str, ...], truncated: bool
) -> None:
    assert split_title_authors(line) == (title, authors, truncated)


@pytest.mark.parametrize(
    "line",
    [
        "A title with no authors at all.",
        "CheXNet",
        "Title Anna Berg, Carl Dahl",  # a space, not glued: not this format
        "Lower Titleanna berg",
        "TitleAnna",  # a first author needs at least two name words
        "Deep Learning TitleStudyAnna Berg, Carl Dahl and 3 others",
        "",
    ],
)
def test_split_title_authors_rejects(line: str) -> None:
    assert split_title_authors(line) is None


def test_seed_paths_expands_directories_sorted(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in ["b.txt", "a.txt", "notes.md", ".#a.txt"]:
        (seeds / name).write_text("", "utf-8")
    (seeds / "sub.txt").mkdir()
    single = tmp_path / "single.seed"
    single.write_text("", "utf-8")

    expanded = seed_paths([seeds, single, seeds / "a.txt"])
    assert expanded == [seeds / "a.txt", seeds / "b.txt", single]


def test_seed_paths_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match="seed path not found: .*nope.txt"):
        seed_paths([missing])


def test_real_seeds_directory() -> None:
    assert seed_paths([SEEDS_DIR]) == sorted(SEEDS_DIR.glob("*.txt"))
