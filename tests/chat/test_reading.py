"""A team reading list (issue 16 §2): /papers save, saved, read and cite as a channel
types them, and `digestbot saved CHANNEL --format bibtex|ris|csv` read back by the
parsers reference managers use (bibtexparser, rispy, csv): well-formed and escaped
whatever the catalog's titles hold."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from pylatexenc.latex2text import LatexNodes2Text

from bot.chat.commands import COMMANDS, handle
from bot.chat.service import Service
from bot.model.messages import Digest, IncomingCommand
from bot.model.papers import PaperRecord
from bot.chat.citations import Cited, bibtex, bibtex_file, csv_text, ris
from tests.hostile.conftest import assert_one_line_outcome, cli_runner

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LAB = "console:local/lab"

MRI = PaperRecord(
    id="2611.00001", title="Prostate MRI segmentation with diffusion priors",
    authors=("José Müller", "Søren Kierkegaard", "Li Wang"), categories=("eess.IV", "cs.CV"),
    published=date(2026, 11, 2), url="https://arxiv.org/abs/2611.00001", version=2,
    abstract="We segment prostate lesions.", code_urls=("https://github.com/lab/prostate",),
)
JOURNAL = PaperRecord(
    id="2611.00002", title="Breast MRI at low field", authors=("Ann Lee",),
    categories=("cs.CV",), published=date(2026, 11, 3), doi="10.1016/j.media.2026.103_1",
    journal_ref="Medical Image Analysis 99 (2026) 103001",
)
# What a hostile or careless feed puts in a title: BibTeX and LaTeX syntax, pings,
# a formula for spreadsheets, control characters, a RIS tag on a line of its own.
HOSTILE = PaperRecord(
    id="2611.00003",
    title="} @misc{evil, title={pwned} \\input{/etc/passwd} 100% & $x_1$ #1 ~ ^ <!channel> "
          "@everyone \x1b[2J\nER  - \nTY  - JOUR",
    authors=("=HYPERLINK(\"http://evil\")", "Ann and Bo", "Smith, Jr."),
    published=date(2026, 11, 4),
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db, index, clock: Clock) -> Service:
    service = Service(db=db, index=index, clock=clock)
    service.catalog.import_records([MRI, JOURNAL, HOSTILE])
    return service


def say(service: Service, text: str, *, channel: str = "lab", user: str = "U1",
        name: str = "ann") -> str:
    command = IncomingCommand(platform="console", workspace_id="local", channel_id=channel,
                              user_id=user, text=text, user_name=name)
    posted: list[Digest] = []
    return handle(service, command, send=posted.append).reply.text


def test_save_list_read_newest_first_with_who(service: Service, clock: Clock) -> None:
    assert "empty" in say(service, "saved")
    assert "Saved “Prostate MRI" in say(service, "save 2611.00001")
    clock.now += timedelta(hours=1)
    assert "Saved “Breast MRI" in say(service, "save arXiv:2611.00002v1", user="U2", name="bo")
    again = say(service, "save https://arxiv.org/abs/2611.00001", user="U2", name="bo")
    assert again.startswith("“Prostate MRI") and "saved by ann on 20 Nov 2026" in again
    assert "Marked “Breast MRI at low field” read" in say(service, "read 2611.00002")
    assert "already" in say(service, "read 2611.00002")
    assert "read for you" in say(service, "read 2611.00002", user="U3", name="cy")
    lines = say(service, "saved").splitlines()
    assert lines[0] == "This channel's reading list, newest first (2 papers):"
    assert lines[1].startswith("1. Breast MRI at low field (2611.00002): saved by bo on")
    assert lines[1].endswith("read by ann, cy")
    assert lines[2].startswith("2. Prostate MRI") and lines[2].endswith("; unread")
    # Another channel's list is its own.
    assert "empty" in say(service, "saved", channel="other")


def test_bad_ids_and_unsaved_papers_say_what_to_do(service: Service) -> None:
    assert say(service, "save 9999.99999").startswith("No paper with id 9999.99999")
    assert say(service, "cite nothing-here").startswith("No paper with id nothing-here")
    assert say(service, "read 2611.00001") == (
        "2611.00001 is not on this channel's reading list: /papers save 2611.00001 adds it.")
    assert "Give one paper id" in say(service, "save")
    assert "exports the whole list" in say(service, "saved everything")


def test_the_commands_are_in_help_and_the_table() -> None:
    names = {c.name for c in COMMANDS}
    assert {"save", "saved", "read", "cite"} <= names
    assert len(COMMANDS) <= 25  # Discord's limit of subcommands under /papers


def _parse_bibtex(text: str) -> bibtexparser.Library:
    """``text`` as a reference manager reads it: names split, LaTeX decoded."""
    library = bibtexparser.parse_string(
        text, append_middleware=[SeparateCoAuthors(), LatexDecodingMiddleware()])
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    decode = LatexNodes2Text().latex_to_text
    for entry in library.entries:
        if "author" in entry:
            entry["author"] = [decode(name) for name in entry["author"]]
    return library


def test_cite_arxiv_as_misc_and_journal_as_article(service: Service) -> None:
    reply = say(service, "cite 2611.00001")
    head, entry = reply.split("\n", 1)
    assert head == "BibTeX for 2611.00001:"
    (misc,) = _parse_bibtex(entry).entries
    assert misc.entry_type == "misc" and misc.key == "muller2026prostate"
    assert misc["eprint"] == "2611.00001v2"
    assert misc["archivePrefix"] == "arXiv" and misc["primaryClass"] == "eess.IV"
    # Double braces keep the title's capitals as written (BibTeX styles lower them).
    assert "title = {{Prostate MRI segmentation with diffusion priors}}" in entry
    assert misc["title"] == "Prostate MRI segmentation with diffusion priors"
    # Accents as LaTeX accents in the file, the names again once decoded.
    assert r"M{\"u}ller" in entry and r"S{\o}ren" in entry
    assert misc["author"] == ["José Müller", "Søren Kierkegaard", "Li Wang"]
    (article,) = _parse_bibtex(bibtex(JOURNAL)).entries
    assert article.entry_type == "article"
    assert article["journal"] == "Medical Image Analysis 99 (2026) 103001"
    assert article["doi"] == "10.1016/j.media.2026.103_1"  # verbatim, as biblatex reads it
    assert "eprint" in article.fields_dict


def test_a_hostile_title_stays_one_field_in_every_format() -> None:
    cited = [Cited(HOSTILE, saved_by="=cmd|' /C calc'!A0", saved_at=START), Cited(MRI)]
    library = _parse_bibtex(bibtex_file(cited))
    assert [e.key for e in library.entries] == ["hyperlinkhttpevil2026miscevil", "muller2026prostate"]
    hostile = library.entries[0]
    assert set(hostile.fields_dict) == {"title", "author", "year", "month", "eprint", "archivePrefix", "note"}
    assert "\x1b" not in hostile["title"] and "\n" not in hostile["title"]
    raw = bibtex(HOSTILE)
    assert raw.count("@") == 3  # the entry's own, and the two in the title, escaped in braces
    assert "\\input" not in raw.replace("\\textbackslash{}input", "")
    # Names keep their parts: "Ann and Bo" is one author, not two.
    assert len(hostile["author"]) == 3

    records = rispy.loads(ris(cited))
    assert len(records) == 2
    assert records[0]["type_of_reference"] == "UNPB"
    assert records[0]["title"].endswith("[2J ER - TY - JOUR")  # one line: never a tag
    assert records[0]["authors"][1] == "Ann and Bo"
    assert records[1]["urls"] == ["https://arxiv.org/abs/2611.00001"]

    rows = list(csv.DictReader(io.StringIO(csv_text(cited))))
    assert len(rows) == 2
    assert rows[0]["authors"].startswith("'=HYPERLINK")  # a spreadsheet runs no formula
    assert rows[0]["saved_by"].startswith("'=cmd")
    assert rows[1]["code"] == "https://github.com/lab/prostate"


def test_digestbot_saved_exports_for_reference_managers(tmp_path: Path) -> None:
    cli = cli_runner(tmp_path / "data")
    seed = tmp_path / "papers.jsonl"
    seed.write_text("".join(json.dumps(r.to_json()) + "\n" for r in (MRI, JOURNAL, HOSTILE)))
    code, out, err = cli("import", str(seed))
    assert code == 0, err
    for paper_id, user in (("2611.00001", "ann"), ("2611.00003", "bo"), ("2611.00002", "ann")):
        code, out, err = cli("save", LAB, paper_id, "--user", user)
        assert code == 0 and "Saved" in out, err
    assert cli("read", LAB, "2611.00001", "--user", "bo")[0] == 0

    code, out, err = cli("saved", LAB)
    assert code == 0 and out.splitlines()[0] == f"{LAB}: 3 saved, newest first"
    assert "\x1b" not in out  # the hostile title is printed inert
    assert "read by bo" in out

    target = tmp_path / "lab.bib"
    code, out, err = cli("saved", LAB, "--format", "bibtex", "--output", str(target))
    assert code == 0 and out.strip() == f"{LAB}: 3 papers written to {target} (bibtex).", err
    library = _parse_bibtex(target.read_text("utf-8"))
    assert len(library.entries) == 3 and len({e.key for e in library.entries}) == 3
    code, out, _ = cli("saved", LAB, "--format", "ris")
    assert code == 0 and len(rispy.loads(out)) == 3
    code, out, _ = cli("saved", LAB, "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 3
    code, out, _ = cli("saved", LAB, "--format", "json")
    assert code == 0 and [p["saved_by"] for p in json.loads(out)] == ["ann", "bo", "ann"]
    code, out, _ = cli("cite", "2611.00002")
    assert code == 0 and out.startswith("@article{lee2026breast,")

    for args in (("saved", "console:local/nobody"), ("save", LAB, "0000.00000"),
                 ("read", "console:local/other", "2611.00002"), ("saved", LAB, "--output", str(tmp_path / "no" / "x")),
                 ("saved", LAB, "--format", "docx")):
        code, out, err = cli(*args)
        assert code in (1, 2), (args, out, err)
        assert_one_line_outcome(code, out, err)
    assert not (tmp_path / "no").exists()
