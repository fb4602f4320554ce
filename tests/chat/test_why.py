"""/papers why ID (issue 15 §3), as a channel types it, and `digestbot why CHANNEL ID`:
when the paper came in, whether the channel was sent it, which topics match it, and
where the next digest ranks it against the cap, or why it lies outside the window.
Each answer is checked against what the digest then does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.commands import handle
from bot.chat.service import Service
from bot.digest.deliver import NotAllSent
from bot.model.messages import Digest, IncomingCommand
from bot.model.papers import SEED_SOURCE, PaperRecord
from tests.hostile.conftest import assert_one_line_outcome, cli_runner

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GENERAL = "console:local/general"


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
    service.catalog.import_records([
        PaperRecord(id="2611.00001", title="Breast MRI screening with deep learning",
                    abstract="Breast MRI, breast MRI and more breast MRI."),
        PaperRecord(id="2611.00002", title="Breast MRI at low field"),
        PaperRecord(id="2611.00003", title="Low-dose CT reconstruction"),
    ])
    return service


def say(service: Service, text: str, *, channel: str = "general",
        platform: str = "console", workspace: str = "local") -> str:
    command = IncomingCommand(platform=platform, workspace_id=workspace, channel_id=channel,
                              user_id="ann", text=text)
    posted: list[Digest] = []
    return handle(service, command, send=posted.append).reply.text


def shown(service: Service, channel: str = "general") -> list[str]:
    command = IncomingCommand(platform="console", workspace_id="local", channel_id=channel,
                              user_id="ann", text="digest")
    posted: list[Digest] = []
    handle(service, command, send=posted.append)
    return [item.paper_id for digest in posted for item in digest.items]


def test_an_unknown_id_and_an_unset_channel_say_what_to_do(service: Service) -> None:
    assert say(service, "why 2611.99999") == (
        "No paper with id 2611.99999. Find ids with /papers search WORDS.")
    assert say(service, "why").startswith("Give one paper id, as search shows it. Usage: "
                                          "/papers why ID")
    lines = say(service, "why arXiv:2611.00001v2").splitlines()
    assert lines == [
        ("“Breast MRI screening with deep learning” (2611.00001) came into the catalog "
        "Sat 28 Nov 12:00 UTC."),
        ("This channel follows no topics yet, so its digests take no paper. "
        "Add one: /papers subscribe TOPIC"),
    ]


def test_the_rank_it_gives_is_the_rank_the_digest_shows(service: Service) -> None:
    say(service, "subscribe breast mri")
    say(service, "limit 1")
    first = say(service, "why 2611.00001").splitlines()
    assert first[1].startswith("It matches “breast mri” (score ")
    assert first[2] == ("The next digest shows it: #1 of the 2 papers that match, "
                        "and it shows the best 1.")
    second = say(service, "why 2611.00002").splitlines()
    assert second[2] == ("The next digest ranks it #2 of the 2 papers that match, below the 1 "
                         "it shows: /papers limit 2 shows more, or a narrower topic ranks it "
                         "higher.")
    none = say(service, "why 2611.00003").splitlines()
    assert none[1] == ("None of this channel's 1 topic match it: “breast mri”. /papers like "
                       "2611.00003 shows papers like it; /papers subscribe follows words from "
                       "its title.")
    # What the answers said is what the digest does.
    assert shown(service) == ["2611.00001"]


def test_after_the_digest_it_says_when_it_was_posted_and_why_the_other_was_not(
    service: Service, clock: Clock
) -> None:
    say(service, "subscribe breast mri")
    say(service, "limit 1")
    clock.now = START + timedelta(hours=1)
    assert shown(service) == ["2611.00001"]
    clock.now = START + timedelta(hours=2)
    posted = say(service, "why 2611.00001").splitlines()
    assert posted[1] == ("This channel's digest posted it Sat 28 Nov 13:00 UTC; a paper is "
                         "never posted to a channel twice.")
    left = say(service, "why 2611.00002").splitlines()
    assert left[1] == "It matches “breast mri”."
    assert left[2].startswith("It came in before this channel's last digest (Sat 28 Nov 13:00 "
                              "UTC), which chose from the papers up to then and shows the best 1;")
    assert shown(service) == []


def test_a_paper_older_than_the_first_digest_looks_back(service: Service, clock: Clock) -> None:
    say(service, "subscribe breast mri")
    clock.now = START + timedelta(days=8)
    lines = say(service, "why 2611.00002").splitlines()
    assert lines[2] == ("It came in more than 7 days ago, and a channel's first digest looks "
                        "back 7 days: /papers search finds it.")
    assert shown(service) == []


def test_a_seed_paper_in_a_slack_channel(service: Service) -> None:
    service.catalog.import_records([
        PaperRecord(id="seed-1", title="Breast MRI seed paper", source=SEED_SOURCE + "x.txt")])
    say(service, "subscribe breast mri", platform="slack", workspace="T1", channel="C1")
    lines = say(service, "why seed-1", platform="slack", workspace="T1", channel="C1")
    assert lines.splitlines()[1:] == [
        ("It comes from the seed files, a demo catalog: Slack and Discord digests leave seed "
        "papers out."),
        "It matches “breast mri”.",
    ]
    # The console (the Quick start's) takes seeds as news.
    say(service, "subscribe breast mri")
    assert "shows it: #3 of the 3 papers that match" in say(service, "why seed-1")


def test_votes_pause_and_several_topics(service: Service) -> None:
    say(service, "subscribe breast")
    say(service, "subscribe mri")
    say(service, "subscribe ct")
    say(service, "more 2611.00002")
    say(service, "pause conference week")
    lines = say(service, "why 2611.00002").splitlines()
    assert lines[1].startswith("It matches “breast”; “mri” (scores ")
    assert "for “breast”" in lines[1] and "for “mri”" in lines[1]
    assert lines[2].startswith("The next digest shows it: #")
    rank = int(lines[2].split("#", 1)[1].split(" ", 1)[0])
    assert lines[2].endswith(f"#{rank} of the 3 papers that match, and it shows the best 10.")
    assert lines[3:] == [
        "Votes here: 1 👍, 0 👎.",
        "Digests are paused here (conference week); /papers resume restarts them.",
    ]
    say(service, "resume")
    assert shown(service)[rank - 1] == "2611.00002"


def test_a_failed_post_is_named(service: Service) -> None:
    say(service, "subscribe breast mri")

    def refuse(digest: Digest) -> object:
        raise RuntimeError("the platform said no")

    with pytest.raises(NotAllSent):
        service.deliverer.digest(GENERAL, send=refuse)
    lines = say(service, "why 2611.00001").splitlines()
    assert lines[1] == ("A digest could not post it (RuntimeError('the platform said no')); the "
                        "next digest offers it again.")
    assert lines[3].startswith("The next digest shows it: #1 of the 2")


def test_help_lists_why(service: Service) -> None:
    assert any(line.startswith("/papers why ID — ") for line in say(service, "help").splitlines())


def test_cli_why(tmp_path: Path) -> None:
    cli = cli_runner(tmp_path / "data")
    seed = tmp_path / "seed.txt"
    seed.write_text("IVNov 27, 2026\nBreast MRI screeningAnn Lee, Bob Roe\nbreast MRI\n", "utf-8")
    assert cli("seed", str(seed))[0] == 0
    code, out, _ = cli("search", "breast", "--json")
    paper_id = out.split('"id": "', 1)[1].split('"', 1)[0]
    assert cli("subscribe", GENERAL, "breast")[0] == 0

    code, out, err = cli("why", GENERAL, paper_id)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"{GENERAL}:"
    assert "  The next digest shows it: #1 of the 1 papers that match" in out
    code, out, _ = cli("why", GENERAL, paper_id, "--json")
    answer = json.loads(out)
    assert answer["paper"] == paper_id and len(answer["lines"]) == 3

    for args, message in [
        ((GENERAL, "2611.99999"), "digestbot: No paper with id '2611.99999'."),
        (("general", paper_id), "digestbot: 'general' is not a channel address"),
    ]:
        code, out, err = cli("why", *args)
        assert_one_line_outcome(code, out, err)
        assert code == 1 and message in err, err
