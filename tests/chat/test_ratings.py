"""Votes on papers (issue 15 §1): /papers more|less ID as a channel types them, and
`digestbot feedback CHANNEL ID up|down` as a script runs it. One vote per (channel,
paper, person), idempotent, undone by the other vote, never seen by another channel."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.chat.commands import handle
from bot.chat.service import Service
from bot.model.messages import Digest, IncomingCommand, Reply
from bot.model.papers import PaperRecord
from tests.hostile.conftest import assert_one_line_outcome, cli_runner

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GENERAL = "console:local/general"
NOTED = "Noted: more papers like “Breast MRI screening” in this channel's digests."


@pytest.fixture
def service(db, index) -> Service:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([
        PaperRecord(id="2611.00001", title="Breast MRI screening"),
        PaperRecord(id="2611.00002", title="Low-dose CT reconstruction"),
    ])
    return service


def say(service: Service, text: str, *, user: str = "ann", channel: str = "general") -> Reply:
    command = IncomingCommand(platform="console", workspace_id="local", channel_id=channel,
                              user_id=user, text=text)
    posted: list[Digest] = []
    return handle(service, command, send=posted.append).reply


def test_a_vote_is_noted_once_changed_by_the_other_and_kept_per_person(service: Service) -> None:
    never_sent = " (Its digests never showed this paper; the vote counts all the same.)"
    assert say(service, "more 2611.00001").text == NOTED + never_sent
    assert say(service, "more arXiv:2611.00001v2").text.startswith("Already noted: more papers")
    assert service.ratings.votes(GENERAL) == {"2611.00001": 1}
    assert say(service, "less 2611.00001").text.startswith("Changed: fewer papers like")
    assert service.ratings.votes(GENERAL) == {"2611.00001": -1}
    # Another person's vote adds to the channel's; another channel sees none of it.
    say(service, "less https://arxiv.org/abs/2611.00001", user="bob")
    assert service.ratings.votes(GENERAL) == {"2611.00001": -2}
    say(service, "more 2611.00002", channel="other")
    assert service.ratings.votes(GENERAL) == {"2611.00001": -2}
    assert service.ratings.votes("console:local/other") == {"2611.00002": 1}


def test_a_vote_on_a_paper_the_digest_showed_does_not_say_it_never_did(service: Service) -> None:
    service.channels.subscribe(GENERAL, "breast")
    assert say(service, "digest").text == "Posted 1 new paper."
    assert say(service, "more 2611.00001").text == NOTED


@pytest.mark.parametrize(("text", "answer"), [
    ("more 2611.99999", "No paper with id 2611.99999. Find ids with /papers search WORDS."),
    ("less", "Give one paper id, as search shows it. Usage: /papers less ID"),
    ("more 2611.00001 2611.00002", "Give one paper id, as search shows it. Usage: /papers more ID"),
])
def test_a_vote_without_a_paper_says_what_to_do(service: Service, text: str, answer: str) -> None:
    assert say(service, text).text == answer
    assert service.ratings.votes(GENERAL) == {}


def test_help_lists_more_and_less(service: Service) -> None:
    lines = say(service, "help").text.splitlines()
    assert any(line.startswith("/papers more ID — ") for line in lines)
    assert any(line.startswith("/papers less ID — ") for line in lines)


def test_cli_feedback(tmp_path: Path) -> None:
    cli = cli_runner(tmp_path / "data")
    seed = tmp_path / "seed.txt"
    seed.write_text("IVNov 27, 2026\nBreast MRI screeningAnn Lee, Bob Roe\nbreast MRI\n", "utf-8")
    assert cli("seed", str(seed))[0] == 0
    code, out, _ = cli("search", "breast", "--json")
    assert code == 0
    paper_id = out.split('"id": "', 1)[1].split('"', 1)[0]

    code, out, err = cli("feedback", GENERAL, paper_id, "up")
    assert (code, err.count("\n")) == (0, 0) and out.startswith(f"{GENERAL}: Noted: more papers")
    code, out, _ = cli("feedback", GENERAL, paper_id, "down", "--user", "bob")
    assert code == 0 and "Noted: fewer papers" in out
    code, out, _ = cli("feedback", GENERAL, paper_id, "down", "--user", "bob")
    assert code == 0 and "Already noted" in out

    for args, message in [
        ((GENERAL, paper_id, "sideways"), "digestbot: Say up or down, not 'sideways'."),
        ((GENERAL, "2611.99999", "up"), "digestbot: No paper with id '2611.99999'."),
        (("general", paper_id, "up"), "digestbot: 'general' is not a channel address"),
    ]:
        code, out, err = cli("feedback", *args)
        assert_one_line_outcome(code, out, err)
        assert code == 1 and message in err, err
