"""The `digestbot` command as a user runs it: real files, real output, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import SEEDS_DIR, DatabaseFactory

SEED_FILE = sorted(SEEDS_DIR.glob("*.txt"))[0]
JSON_KEYS = {
    "id", "title", "authors", "published", "categories", "url", "code_urls", "has_code", "abstract",
    "project_url", "doi", "journal_ref",
}


@pytest.fixture
def run(tmp_path: Path, capsys, monkeypatch, backend: str, new_database: DatabaseFactory):
    """Run `digestbot ARGS...` against a data directory of this test's own.

    On SQLite the database is the data directory's own file, as by default;
    on PostgreSQL each data directory gets a database of its own (``--database``).
    """
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DIGESTBOT_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    databases: dict[Path, list[str]] = {}

    def invoke(*args: str, data: Path = data_dir) -> tuple[int, str, str]:
        if backend == "postgresql" and data not in databases:
            databases[data] = ["--database", new_database()]
        code = main(["--data-dir", str(data), *databases.get(data, []), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_seed_reports_one_line_per_file_and_is_idempotent(run, backend: str) -> None:
    code, out, err = run("seed")
    assert code == 0
    assert f"{SEED_FILE.name}: seen=14 new=14 updated=0 skipped=0" in out
    if backend == "sqlite":  # a database given by URL is not "created in" the data directory
        assert "created a new catalog" in err

    code, out, err = run("seed", str(SEED_FILE))
    assert code == 0
    assert f"{SEED_FILE.name}: seen=14 new=0 updated=0 skipped=0" in out
    assert "Nothing new or changed" in out


def test_seed_reports_bad_records_and_imports_the_rest(run, tmp_path: Path) -> None:
    good = SEED_FILE.read_text("utf-8").splitlines()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(["not a header line", *good[:6]]) + "\n", "utf-8")
    code, out, err = run("seed", str(bad))
    assert code == 0
    assert "bad.txt: seen=3 new=2 updated=0 skipped=1" in out
    assert "bad.txt:1:" in err


def test_seed_missing_path_is_one_clear_line(run, tmp_path: Path) -> None:
    code, out, err = run("seed", str(tmp_path / "nope"))
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("digestbot: ")
    assert "Traceback" not in err


def test_search_human_output(run) -> None:
    run("seed")
    code, out, _ = run("search", "breast", "MRI", "has:code")
    assert code == 0
    first = out.split("\n\n")[0]
    assert first.startswith("1. A Large Model for Non-invasive and Personalized Management")
    assert "Luyang Luo, Mingxiang Wu, Mei Li et al. · 2024-08-08 · cs.CV" in first
    assert "code: https://github.com/LLYXC/MOME/tree/main" in first


def test_search_json_has_the_documented_keys(run) -> None:
    run("seed")
    code, out, _ = run("search", "reconstruction", "--json", "--limit", "2")
    assert code == 0
    hits = json.loads(out)
    assert 1 <= len(hits) <= 2
    for hit in hits:
        assert set(hit) == JSON_KEYS | {"score"}
        assert hit["score"] > 0
    assert {h["title"] for h in hits} <= {
        "Stabilizing Deep Tomographic Reconstruction",
        "Unsupervised Domain Adaptation for Low-dose CT Reconstruction via Bayesian "
        "Uncertainty Alignment",
    }


def test_search_no_match_is_not_an_error(run) -> None:
    run("seed")
    code, out, _ = run("search", "zebrafish")
    assert code == 0
    assert "No papers match" in out


@pytest.mark.parametrize("query", ['"unbalanced', "col:x", "NEAR(", "AND OR NOT", "x" * 5000, "🙂"])
def test_hostile_search_gives_results_or_one_line(run, query: str) -> None:
    run("seed")
    code, out, err = run("search", query)
    assert "Traceback" not in err
    if code == 0:
        assert out
    else:
        assert code == 2
        assert len(err.strip().splitlines()) == 1
        assert err.startswith("digestbot: ")


def test_show_human_and_json(run) -> None:
    run("seed")
    _, out, _ = run("search", "Beta-Rank", "--json", "--limit", "1")
    paper_id = json.loads(out)[0]["id"]
    code, out, _ = run("show", paper_id)
    assert code == 0
    assert out.startswith("Beta-Rank: A Robust Convolutional Filter Pruning Method")
    assert "https://github.com/mohofar/Beta-Rank" in out
    code, out, _ = run("show", paper_id, "--json")
    data = json.loads(out)
    assert set(data) == JSON_KEYS
    assert data["published"] == "2023-04-15"
    assert data["categories"] == ["cs.CV"]


def test_show_unknown_id(run) -> None:
    code, out, err = run("show", "9999.99999")
    assert code == 1
    assert "No paper with id '9999.99999'" in err


def test_export_then_import_round_trips(run, tmp_path: Path) -> None:
    run("seed")
    backup = tmp_path / "backup.jsonl"
    code, _, err = run("export", "--output", str(backup))
    assert code == 0
    assert f"Exported 14 papers, 0 channels, 0 deliveries and 0 feeds to {backup}." in err
    lines = backup.read_text("utf-8").splitlines()
    assert len(lines) == 14
    assert JSON_KEYS <= set(json.loads(lines[0]))

    other = tmp_path / "other"
    code, out, _ = run("import", str(backup), data=other)
    assert code == 0
    assert "seen=14 new=14 updated=0 skipped=0" in out
    code, out, _ = run("export", data=other)
    assert code == 0
    assert out.splitlines() == lines  # same papers, same first-seen times
    _, found, _ = run("search", "tumor", "--json", data=other)
    assert json.loads(found)


@pytest.mark.postgresql
def test_move_from_sqlite_to_postgresql_keeps_everything(
    tmp_path: Path, capsys, monkeypatch, postgresql_database: DatabaseFactory
) -> None:
    """Export from the embedded SQLite file, import into PostgreSQL: the same catalog."""
    monkeypatch.chdir(tmp_path)
    sqlite = ["--data-dir", str(tmp_path / "sqlite")]
    target = postgresql_database(migrated=False)
    postgresql = ["--data-dir", str(tmp_path / "pg"), "--database", target]
    backup = tmp_path / "backup.jsonl"
    assert main([*sqlite, "seed"]) == 0
    assert main([*sqlite, "export", "--output", str(backup)]) == 0
    capsys.readouterr()
    assert main([*postgresql, "import", str(backup)]) == 0
    assert "seen=14 new=14 updated=0 skipped=0" in capsys.readouterr().out
    assert main([*postgresql, "export"]) == 0
    # Same papers, same first-seen times, in the same order.
    assert capsys.readouterr().out.splitlines() == backup.read_text("utf-8").splitlines()
    results = []
    for where in (sqlite, postgresql):
        assert main([*where, "search", "tumor OR mri", "--json", "--limit", "20"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    assert results[0] and results[0] == results[1]


def test_import_reports_bad_lines(run, tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        '{"id": "x1", "title": "Fine"}\nnot json\n{"title": "no id"}\n[1, 2]\n'
        '{"id": "", "title": "empty id"}\n{"id": "x2", "title": "T", "published": "soon"}\n',
        "utf-8",
    )
    code, out, err = run("import", str(dump))
    assert code == 0
    assert "seen=6 new=1 updated=0 skipped=5" in out
    for line in range(2, 7):
        assert f"dump.jsonl:{line}:" in err
    assert "Traceback" not in err


def test_import_stores_the_same_on_every_database(run, tmp_path: Path) -> None:
    """What PostgreSQL cannot store (NUL, over-long ids and sources) SQLite does not either."""
    dump = tmp_path / "dump.jsonl"
    lines = [
        {"id": "nul", "title": "Breast\u0000 MRI", "authors": ["A\u0000B"], "source": "s" * 600},
        {"id": "x" * 65, "title": "Long id"},
        {"id": "naive", "title": "Local time", "first_seen": "2024-01-01T10:00:00"},
    ]
    dump.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    code, out, err = run("import", str(dump))
    assert code == 0
    assert "seen=3 new=1 updated=0 skipped=2" in out
    assert "dump.jsonl:2:" in err and "at most 64 characters" in err
    assert "dump.jsonl:3:" in err and "first_seen needs a time zone" in err
    _, out, _ = run("export")
    [stored] = [json.loads(line) for line in out.splitlines()]
    assert (stored["title"], stored["authors"], stored["source"]) == ("Breast MRI", ["AB"], "s" * 500)
    _, out, _ = run("import", str(dump))
    assert "seen=3 new=0 updated=0 skipped=2" in out  # what was stored counts as unchanged


def test_reindex_rebuilds_from_the_catalog(run, tmp_path: Path) -> None:
    run("seed")
    code, out, _ = run("reindex")
    assert code == 0
    assert "Search index rebuilt: 14 papers." in out
    _, out, _ = run("search", "tumor", "--json")
    assert json.loads(out)


def test_lost_index_is_rebuilt_on_next_search(run, tmp_path: Path) -> None:
    import shutil

    run("seed")
    shutil.rmtree(tmp_path / "data" / "index")
    code, out, _ = run("search", "tumor", "--json")
    assert code == 0 and json.loads(out)


def test_init_reports_location(run, tmp_path: Path, backend: str) -> None:
    code, out, _ = run("init")
    assert code == 0
    if backend == "sqlite":
        assert str(tmp_path / "data") in out
    else:
        assert "the database at DIGESTBOT_DATABASE_URL/--database" in out


def test_bad_limit_is_a_usage_error(run) -> None:
    with pytest.raises(SystemExit) as exc:
        run("search", "mri", "--limit", "0")
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "verb",
    ["init", "seed", "search", "show", "export", "import", "reindex", "subscribe", "unsubscribe",
     "topics", "schedule", "limit", "digest", "run"],
)
def test_every_verb_has_help(verb: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([verb, "--help"])
    assert exc.value.code == 0
    assert f"usage: digestbot {verb}" in capsys.readouterr().out


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTBOT_")}
    for command in ([sys.executable, "-m", "bot"], [str(Path(sys.executable).parent / "digestbot")]):
        done = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env, check=True)
        assert "DIGESTBOT_DATA_DIR" in done.stdout
        assert "search" in done.stdout


def test_subscribe_unsubscribe_topics(run) -> None:
    channel = "console:local/general"
    code, out, _ = run("subscribe", channel, '"Breast MRI"', "has:code")
    assert code == 0
    assert out.splitlines() == [
        f'{channel} now follows: "breast mri" has:code (1 of 25 topics)',
        "  No paper from the last 7 days matches it yet; the digests bring new ones as they come.",
    ]
    _, out, _ = run("subscribe", channel, '"breast mri" has:code')
    assert out.strip() == f'{channel} already follows: "breast mri" has:code'
    _, out, _ = run("topics", channel, "--json")
    assert json.loads(out) == ['"breast mri" has:code']
    code, out, _ = run("unsubscribe", channel, '"breast mri"', "has:code")
    assert code == 0 and "no longer follows" in out
    _, out, _ = run("topics", channel)
    assert "follows no topics yet" in out


def test_limit(run) -> None:
    code, out, _ = run("limit", "console:local/general", "5")
    assert code == 0 and out.strip() == "console:local/general's digests show at most 5 papers."


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("subscribe", "general", "mri"), 1, "is not a channel address"),
        (("subscribe", "console:local/general", "col:x"), 2, 'Unknown filter "col:"'),
        (("unsubscribe", "console:local/general", "zebra"), 1, "does not follow 'zebra'"),
        (("limit", "console:local/general", "500"), 1, "A digest can show 1 to 50 papers"),
    ],
)
def test_subscription_errors_are_one_line(run, args, code: int, message: str) -> None:
    got, _, err = run(*args)
    assert got == code
    last = err.strip().splitlines()[-1]
    assert message in last and last.startswith("digestbot: ")


def test_run_with_half_a_slack_setup_says_what_is_missing(run, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    code, _, err = run("run")
    assert code == 1
    assert "Socket Mode needs SLACK_APP_TOKEN" in err.strip().splitlines()[-1]


def test_run_takes_console_or_no_console_not_both(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--console", "--no-console"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_schedule_shows_or_sets_and_says_when_the_next_digest_comes(run) -> None:
    import re

    channel = "console:local/general"
    code, _, err = run("schedule", channel)
    assert code == 1 and "has no schedule yet" in err and "digestbot subscribe" in err
    run("subscribe", channel, "mri")
    code, out, _ = run("schedule", channel, "8:30pm", "Europe/Berlin")
    assert code == 0
    assert re.fullmatch(
        rf"{channel} gets its digest daily at 20:30 Europe/Berlin\. "
        r"Next digest: (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} 20:30 Europe/Berlin\.\n",
        out,
    ), out
    code, shown, _ = run("schedule", channel)
    assert code == 0 and shown == out
    code, _, err = run("schedule", channel, "8")
    assert code == 1 and "'8' is not a time of day" in err


def test_subscribe_takes_several_quoted_topics_and_words_as_one(run) -> None:
    channel = "console:local/general"
    code, out, _ = run("subscribe", channel, "prostate", "breast ct")
    assert code == 0
    assert out.splitlines() == [
        f"{channel} now follows: prostate (1 of 25 topics)",
        "  No paper from the last 7 days matches it yet; the digests bring new ones as they come.",
        f"{channel} now follows: breast ct (2 of 25 topics)",
        "  No paper from the last 7 days matches it yet; the digests bring new ones as they come.",
    ]
    code, out, _ = run("subscribe", channel, "knee", "mri")  # unquoted words: one topic
    assert out.splitlines()[0] == f"{channel} now follows: knee mri (3 of 25 topics)"
    code, out, _ = run("topics", channel)
    assert out.splitlines() == ["1. prostate", "2. breast ct", "3. knee mri"]


def test_pause_resume_and_channels_mirror_chat(run) -> None:
    code, out, _ = run("channels")
    assert code == 0 and out.startswith("No channels yet.")
    run("subscribe", "console:local/general", "mri")
    run("subscribe", "console:local/lab", "ct")
    run("schedule", "console:local/lab", "08:30", "Europe/Berlin", "weekdays")
    code, out, _ = run("pause", "console:local/general", "conference", "week")
    assert code == 0 and out == (
        "console:local/general: digests paused (conference week). "
        "`digestbot resume console:local/general` starts them again.\n"
    )
    code, out, _ = run("channels")
    general, lab = out.splitlines()
    assert general == (
        "console:local/general  daily at 09:00 UTC  paused: conference week  last never  1 topic"
    )
    assert lab.startswith("console:local/lab  weekdays at 08:30 Europe/Berlin  next ")
    assert lab.endswith("  last never  1 topic")
    code, out, _ = run("channels", "--json")
    listed = json.loads(out)
    assert [c["address"] for c in listed] == ["console:local/general", "console:local/lab"]
    assert listed[0]["paused"] and listed[0]["next_digest"] is None
    assert listed[1]["next_digest"].endswith(("+01:00", "+02:00")) and listed[1]["topics"] == 1
    code, out, _ = run("resume", "console:local/general")
    assert code == 0 and out.startswith(
        "console:local/general: digests are back on, daily at 09:00 UTC. Next digest: "
    )
    code, _, err = run("pause", "console:local/nowhere")
    assert code == 1 and "No channel console:local/nowhere; `digestbot channels` lists them." in err


def test_import_of_a_file_that_is_not_an_export_says_so_once(run) -> None:
    code, out, err = run("import", str(SEED_FILE))
    assert code == 1 and out == ""
    # (the first command here also says it created the catalog)
    [line] = [line for line in err.splitlines() if "created a new catalog" not in line]
    assert line.startswith(f"digestbot: {SEED_FILE} is not a digestbot export: line 1 is not")
    assert "`digestbot seed FILE`" in line
    _, out, _ = run("export")
    assert out == ""  # nothing came in


# What a hostile catalog entry might carry: clear the screen, an OSC 8 link
# whose visible text hides its target, a C1 control sequence introducer,
# and a right-to-left override that disguises what follows it.
HOSTILE = ["\x1b[2J", "\x1b]8;;https://evil.example\x1b\\", "\x9b31m", "\u202e", "\x07"]


def _hostile_paper(tmp_path: Path) -> Path:
    paper = {
        "id": "2401.00001",
        "title": "Screen\x1b[2J clearing \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ title",
        "authors": ["Eve \u202eResu", "Mallory\x9b31m"],
        "published": "2024-01-02",
        "categories": ["cs.CV"],
        "url": "https://arxiv.org/abs/2401.00001\x07",
        "code_urls": ["https://github.com/eve/x\x1b[8m"],
        "journal_ref": "Journal\x1b[2J",
        "abstract": "First line\x1b[2J of it.\nSecond \u202eline.\n\nA paragraph\x9b2J.",
    }
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(paper) + "\n", "utf-8")
    return path


def test_search_and_show_print_no_terminal_controls(run, tmp_path: Path) -> None:
    code, _, _ = run("import", str(_hostile_paper(tmp_path)))
    assert code == 0
    printed = [run("search", "clearing")[1], run("show", "2401.00001")[1]]
    printed += [run("search", "clearing", "--json")[1], run("show", "2401.00001", "--json")[1]]
    for text in printed:
        assert "clearing" in text
        for sequence in HOSTILE:
            assert sequence not in text
        assert not any(c in text for c in "\x1b\x07\x9b\u202e")
    search, show, search_json, show_json = printed
    assert "1. Screen [2J clearing  ]8;;https://evil.example \\link ]8;; \\ title" in search
    assert "Second  line." in show and "\n\nA paragraph 2J." in show
    # JSON keeps every character, escaped, so a program reading it loses nothing.
    [hit] = json.loads(search_json)
    assert hit["title"].startswith("Screen\x1b[2J clearing")
    assert json.loads(show_json)["authors"] == ["Eve \u202eResu", "Mallory\x9b31m"]
    assert "\\u001b[2J" in show_json and "\\u202e" in show_json and "\\u009b" in show_json


def test_a_combining_accent_finds_what_a_composed_one_finds(run) -> None:
    run("seed")
    counts = {}
    for query in ("mri", "mr\u00ec", "m\u0300ri", "MRI\u0301"):
        code, out, _ = run("search", query, "--json", "--limit", "100")
        assert code == 0
        counts[query] = len(json.loads(out))
    assert counts["mri"] >= 3
    assert set(counts.values()) == {counts["mri"]}, counts


# Titles as Chinese and Japanese journals print them: no spaces between words.
CJK_PAPERS = [
    {"id": "2401.00011", "title": "基于深度学习的乳腺磁共振图像肿瘤分割方法研究",
     "abstract": "本文提出一种乳腺肿瘤分割方法。", "published": "2024-01-03"},
    {"id": "2401.00012", "title": "深層学習による乳房MRI画像のセグメンテーション",
     "abstract": "乳がんの検出について述べる。", "published": "2024-01-04"},
    {"id": "2401.00013", "title": "딥러닝기반유방자기공명영상종양분할방법에관한연구",
     "abstract": "유방 종양 분할.", "published": "2024-01-05"},
]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("基于深度学习的乳腺磁共振图像肿瘤分割方法研究", {"2401.00011"}),  # 22 characters, 66 bytes
        ("乳腺磁共振图像肿瘤分割方法研究", {"2401.00011"}),  # the 14-character case, and a part
        ("乳腺", {"2401.00011"}),
        ("肿瘤分割 深度学习", {"2401.00011"}),
        ("图像分割", set()),  # the characters, but not side by side
        ("セグメンテーション", {"2401.00012"}),
        ("深層学習", {"2401.00012"}),
        ("乳房MRI", {"2401.00012"}),
        ("딥러닝기반유방자기공명영상종양분할방법에관한연구", {"2401.00013"}),
    ],
)
def test_chinese_japanese_and_korean_titles_are_searchable(
    run, tmp_path: Path, query: str, ids: set[str]
) -> None:
    path = tmp_path / "cjk.jsonl"
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in CJK_PAPERS), "utf-8")
    assert run("import", str(path))[0] == 0
    code, out, err = run("search", query, "--json")
    assert code == 0, err
    assert {hit["id"] for hit in json.loads(out)} == ids
    if ids:
        code, out, _ = run("search", query)
        assert CJK_PAPERS[int(min(ids)[-1]) - 1]["title"] in out


@pytest.mark.parametrize(
    "query",
    [
        "https://github.com/LLYXC/MOME/tree/main",
        "http://github.com/LLYXC/MOME",
        "<https://github.com/LLYXC/MOME/tree/main|github.com/LLYXC/MOME/tree/main>",
        "<https://github.com/LLYXC/MOME|the MOME code> breast",
    ],
)
def test_a_pasted_link_is_searched_as_text(run, query: str) -> None:
    run("seed")
    code, out, err = run("search", query)
    assert code == 0, err
    assert out.startswith("1. A Large Model for Non-invasive and Personalized Management")
    assert "2. " not in out


# Another user's data directory: root is made to obey file permissions by
# giving up the capabilities that let it ignore them, and the files are
# given to "nobody"; anyone else just loses write permission.
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOT_OWNER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner,-chown", "--"]


def _hand_over(data: Path) -> None:
    """Make ``data`` another user's: readable, not writable, by the digestbot run next."""
    for path in [data, *data.rglob("*")]:
        if AS_ROOT:
            os.chown(path, 65534, 65534)
        path.chmod(0o755 if path.is_dir() else 0o644)
    if not AS_ROOT:
        for path in [data, *data.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)


def _snapshot(data: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in data.rglob("*")}


@pytest.mark.skipif(AS_ROOT and not shutil.which("setpriv"), reason="needs setpriv to act as another user")
@pytest.mark.parametrize("owner_running", [False, True], ids=["owner-stopped", "owner-running"])
def test_search_and_show_work_on_another_users_database(tmp_path: Path, owner_running: bool) -> None:
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed"]) == 0
    owner = None
    if owner_running:
        # The owner's bot holds the database open: its -wal and -shm files
        # exist, and what it commits waits in the -wal file.
        owner = sqlite3.connect(data / "digestbot.sqlite3")
        owner.execute("SELECT count(*) FROM papers").fetchall()
        assert main(["--data-dir", str(data), "import", str(_hostile_paper(tmp_path))]) == 0
        assert (data / "digestbot.sqlite3-wal").stat().st_size > 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTBOT_")}
    try:
        _hand_over(data)
        before = _snapshot(data)
        command = [*(NOT_OWNER if AS_ROOT else []), str(Path(sys.executable).parent / "digestbot"),
                   "--data-dir", str(data)]
        if AS_ROOT:  # the capabilities really are gone: the database cannot be written
            done = subprocess.run([*command, "subscribe", "console:local/general", "mri"],
                                  capture_output=True, text=True, env=env)
            assert done.returncode == 1 and "Traceback" not in done.stderr
            assert done.stderr.splitlines()[-1] == (
                f"digestbot: The database {(data / 'digestbot.sqlite3').resolve()} is read-only "
                "for this user, who cannot change it: run this as the user who owns it.")
        done = subprocess.run([*command, "search", "breast", "mri", "--json"],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        hits = json.loads(done.stdout)
        assert hits and hits[0]["title"].startswith("A Large Model for Non-invasive")
        if owner_running:  # what the owner committed a moment ago is found too
            done = subprocess.run([*command, "search", "clearing"], capture_output=True,
                                  text=True, env=env)
            assert done.returncode == 0 and "2401.00001" in done.stdout, done.stderr
        done = subprocess.run([*command, "show", hits[0]["id"]], capture_output=True,
                              text=True, env=env)
        assert done.returncode == 0 and done.stdout.startswith("A Large Model"), done.stderr
        assert _snapshot(data) == before  # nothing written, not even a lock file
    finally:
        if owner is not None:
            owner.close()


@pytest.mark.postgresql
def test_search_and_show_work_for_a_postgresql_role_that_may_only_read(
    tmp_path: Path, postgresql_database: DatabaseFactory, capsys
) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = postgresql_database()
    assert main(["--data-dir", str(tmp_path / "owner"), "--database", url, "seed"]) == 0
    role = f"reader_{os.getpid()}_{tmp_path.name[-20:]}".replace("-", "_").lower()
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    reader = make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
    try:
        capsys.readouterr()
        where = ["--data-dir", str(tmp_path / "reader"), "--database", reader]
        assert main([*where, "search", "breast", "mri", "--json"]) == 0
        hits = json.loads(capsys.readouterr().out)
        assert hits and hits[0]["title"].startswith("A Large Model for Non-invasive")
        assert main([*where, "show", hits[0]["id"]]) == 0
        assert capsys.readouterr().out.startswith("A Large Model")
        assert main([*where, "subscribe", "console:local/general", "mri"]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert err.splitlines()[-1].startswith("digestbot: The database ")
        assert "this user may not change it" in err
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def test_every_json_output_escapes_what_a_terminal_acts_on(run) -> None:
    channel = "console:local/general"
    reason = "moved \u009b2J to \u202eelsewhere"
    assert run("subscribe", channel, "mri")[0] == 0
    assert run("pause", channel, reason)[0] == 0
    for verb in (["channels", "--json"], ["digest", "--channel", channel, "--json"]):
        code, out, _ = run(*verb)
        assert code == 0
        assert "\u009b" not in out and "\u202e" not in out, verb
    [info] = json.loads(run("channels", "--json")[1])
    assert info["paused_reason"] == reason  # escaped, not lost


def test_fixed_now_replays_a_moment(run, monkeypatch) -> None:
    """DIGESTBOT_FIXED_NOW is the CLI's clock (benchmarks replay past days with it)."""
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-18T09:00+00:00")
    assert run("subscribe", "console:local/x", "mri")[0] == 0
    code, out, _ = run("schedule", "console:local/x", "10:00", "UTC", "daily")
    assert code == 0
    assert "Tue 18 Mar" in out  # the next digest: today, as the fixed clock says


def test_fixed_now_must_carry_its_zone(run, monkeypatch) -> None:
    monkeypatch.setenv("DIGESTBOT_FIXED_NOW", "2025-03-18 09:00")
    code, _, err = run("topics", "console:local/x")
    assert code == 1
    assert "fixed_now must be an ISO 8601 time with its zone" in err
