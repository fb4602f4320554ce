"""`digestbot seed FILE` as a user runs it: hostile and damaged seed files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.cli import main

GOOD_A = ["CVApr 15, 2023Code", "First Good PaperAnna Berg, Carl Dahl et al.", "Abstract A."]
GOOD_B = ["IVFeb 26, 2023", "Second Good PaperEva Falk", "Abstract B."]


@pytest.fixture
def cli(tmp_path: Path, capsys, monkeypatch, backend: str, new_database):  # type: ignore[no-untyped-def]
    """``digestbot ARGS...`` in this process, on this test's backend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGESTBOT_FEEDS", "")
    database = ["--database", new_database()] if backend == "postgresql" else []

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path / "data"), *database, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def write_seed(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    return path


def test_a_huge_title_line_is_refused_at_once_with_its_line(cli, tmp_path: Path) -> None:
    # Capitals glued to words are where a title may end: each is tried against
    # the rest of the line, so this line once took minutes.
    huge = "aB" * 50_000 + "Anna Berg, Carl Dahl et al."
    seed = write_seed(tmp_path / "huge.txt", *GOOD_A, "CVMay 3, 2023", huge, huge, *GOOD_B)
    started = time.perf_counter()
    code, out, err = cli("seed", str(seed))
    elapsed = time.perf_counter() - started
    assert code == 0, err
    assert "huge.txt: seen=3 new=2 updated=0 skipped=1" in out
    assert "huge.txt:5: the title/author line is 100,027 characters long" in err
    assert elapsed < 2, f"took {elapsed:.1f} s"


def test_an_invalid_utf8_byte_costs_its_record_alone(cli, tmp_path: Path) -> None:
    latin1 = "Caf\xe9 PaperJ\xf6rg M\xfcller".encode("latin-1")
    seed = write_seed(tmp_path / "mixed.txt", *GOOD_A, "CVApr 1, 2023", latin1, "X.", *GOOD_B)
    code, out, err = cli("seed", str(seed))
    assert code == 0, err
    assert "mixed.txt: seen=3 new=2 updated=0 skipped=1" in out
    offset = len("\n".join(GOOD_A).encode()) + len("\nCVApr 1, 2023\nCaf")
    assert f"mixed.txt:5: not valid UTF-8 (byte {offset:,} of the file); the record is " \
        "skipped; save the file as UTF-8 and load it again" in err
    code, out, _ = cli("search", "good")
    assert "First Good Paper" in out and "Second Good Paper" in out


def test_a_bom_before_a_later_header_is_ignored(cli, tmp_path: Path) -> None:
    # Two files pasted together: the second one's BOM lands before its header.
    seed = write_seed(tmp_path / "joined.txt", *GOOD_A, "\ufeff" + GOOD_B[0], *GOOD_B[1:])
    code, out, err = cli("seed", str(seed))
    assert code == 0, err
    assert "joined.txt: seen=2 new=2 updated=0 skipped=0" in out
    assert err.count("skipped") == 0, err
