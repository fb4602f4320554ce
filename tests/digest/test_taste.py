"""A channel's taste (issue 15 §2): learned from its votes at each click, re-ranking its
topic matches, leaving out what its votes speak against, suggesting up to 2 papers no
topic matches, told by /papers taste, reset by /papers taste reset, never seen by
another channel; with too few votes, topics alone, and taste says so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.commands import handle, needs_manager
from bot.chat.ratings import FAST_VOTES
from bot.chat.service import Service
from bot.digest.taste import MIN_VOTES, Vote, learn
from bot.model.messages import SUGGESTED_HEADING, Digest, IncomingCommand
from bot.model.papers import PaperRecord
from bot.store.models import Taste as TasteRow
from bot.text.terminal import format_digest
from tests.hostile.conftest import assert_one_line_outcome, cli_runner

START = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
LAB = "console:local/lab"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def paper(n: int, title: str, abstract: str, *, day: int) -> PaperRecord:
    return PaperRecord(id=f"2611.{day:02d}{n:03d}", title=title, abstract=abstract,
                       authors=["Ann Lee"] if "prostate" in title.lower() else ["Bo Chen"])


def day_of(day: int) -> list[PaperRecord]:
    """A day's papers: every one says segmentation; prostate MRI is what the lab wants,
    street scenes are not; one prostate MRI paper says delineation instead."""
    wanted = [paper(n, f"Prostate MRI segmentation method {n}",
                    "Prostate cancer lesion segmentation on multiparametric MRI with radiologist "
                    "annotations.", day=day) for n in range(1, 5)]
    unwanted = [paper(n, f"Street scene segmentation for driving {n}",
                      "Semantic segmentation of urban street scenes from autonomous driving "
                      "cameras, lidar and video.", day=day) for n in range(5, 12)]
    beyond = [paper(20, "Delineation of prostate lesions in MRI",
                    "Prostate cancer lesion delineation on multiparametric MRI with radiologist "
                    "annotations.", day=day)]
    return wanted + unwanted + beyond


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(db, index, clock: Clock) -> Service:
    service = Service(db=db, index=index, clock=clock)
    # The catalog a lab has already: what makes a word common or rare.
    clock.now = START - timedelta(days=30)
    topics = ["graph networks for molecules", "language model reasoning", "robot grasping",
              "speech recognition", "protein folding", "reinforcement learning agents"]
    service.catalog.import_records([
        PaperRecord(id=f"2610.{n:05d}", title=f"{topics[n % 6].capitalize()} {n}",
                    abstract=f"We study {topics[n % 6]} with new benchmarks and baselines.")
        for n in range(120)
    ])
    clock.now = START
    return service


def say(service: Service, text: str, *, channel: str = "lab", user: str = "ann") -> str:
    command = IncomingCommand(platform="console", workspace_id="local", channel_id=channel,
                              user_id=user, text=text)
    return handle(service, command, send=lambda digest: None).reply.text


def digest(service: Service, channel: str = "lab") -> Digest | None:
    return service.deliverer.digest(f"console:local/{channel}", send=lambda d: None)


def a_day(service: Service, clock: Clock, day: int) -> None:
    clock.now = START + timedelta(days=day)
    service.catalog.import_records(day_of(day))
    clock.now += timedelta(hours=3)


def vote_on(service: Service, shown: Digest, channel: str = "lab") -> None:
    for item in shown.items:
        vote = "more" if "prostate" in item.title.lower() else "less"
        say(service, f"{vote} {item.paper_id}", channel=channel)


def test_without_votes_the_digest_is_the_topics_alone(service: Service, clock: Clock) -> None:
    say(service, "subscribe segmentation")
    say(service, "subscribe segmentation", channel="twin")
    a_day(service, clock, 1)
    assert "rank by its topics alone: it rests on 0 of the 3 votes" in say(service, "taste")
    mine, twin = digest(service), digest(service, "twin")
    assert mine is not None and twin is not None
    assert [i.paper_id for i in mine.items] == [i.paper_id for i in twin.items]
    assert not mine.suggested


def test_votes_rerank_drop_and_suggest_and_stay_in_their_channel(
    service: Service, clock: Clock
) -> None:
    for channel in ("lab", "twin"):
        say(service, "subscribe segmentation", channel=channel)
        say(service, "limit 5", channel=channel)
    a_day(service, clock, 1)
    first = digest(service)
    assert first is not None and digest(service, "twin") is not None
    vote_on(service, first)
    taste = say(service, "taste").splitlines()
    assert taste[0].startswith("What this channel's votes taught its digests, from ")
    assert "“prostate”" in taste[1] and taste[1].startswith("More of: ")
    assert "“driving”" in taste[2] and taste[2].startswith("Less of: ")

    a_day(service, clock, 2)
    # /papers why, before the digest: what the taste thinks, and what it suggests.
    why = say(service, "why 2611.02020").splitlines()
    assert "its taste does: the next digest suggests it under “You may also like”." in why[1]
    assert why[2].startswith("This channel's taste (what its votes taught it, /papers taste) "
                             "leans for it: +")
    second, twin = digest(service), digest(service, "twin")
    assert second is not None and twin is not None
    titles = [item.title for item in second.items]
    # The wanted papers first; a match the votes speak against is left out.
    assert all("Prostate" in t for t in titles[:4]), titles
    assert not any("Street" in t for t in titles[:4])
    # The paper no topic matched comes under its own heading, with why.
    assert [s[0] for s in second.suggested] == ["2611.02020"]
    assert second.items[-1].paper_id == "2611.02020" and second.matched_topics[-1] == ()
    reason = second.reason_for("2611.02020")
    assert reason is not None and reason.startswith("like papers this channel liked: ")
    text = format_digest(second)
    assert SUGGESTED_HEADING in text and reason in text
    # The twin channel voted nothing: its digest is the topics' alone.
    assert not twin.suggested and "Street" in twin.items[0].title or not twin.suggested

    # Shown once, never again: the suggestion is in the ledger like any paper.
    clock.now += timedelta(hours=1)
    assert digest(service) is None


def test_reset_forgets_and_only_a_manager_may_ask_it(service: Service, clock: Clock) -> None:
    say(service, "subscribe segmentation")
    a_day(service, clock, 1)
    first = digest(service)
    assert first is not None
    vote_on(service, first)
    assert needs_manager("taste reset") and not needs_manager("taste")
    votes = len(first.items)
    assert say(service, "taste reset") == (
        f"This channel's digests forgot what {votes} votes taught them: they rank by topics "
        "alone until new votes come.")
    assert "topics alone: it rests on 0 of the 3 votes it needs" in say(service, "taste")
    a_day(service, clock, 2)
    after = digest(service)
    assert after is not None and not after.suggested
    assert say(service, "taste nonsense").startswith("'nonsense' is not something taste does.")


def test_a_taste_that_cannot_learn_says_so() -> None:
    def share(feature: str) -> float:
        return 0.01

    few = learn([Vote("a", 1, {"mri": "mri"}), Vote("b", -1, {"ct": "ct"})], share)
    assert not few.acts and few.idle == f"it rests on 2 of the {MIN_VOTES} votes it needs"
    nothing = learn([Vote(str(n), 1, {}) for n in range(3)], share)
    assert not nothing.acts
    assert nothing.idle == "the papers voted on share no word or author it can learn from"
    # Only 👍: the catalog is the other side, and a word of every liked paper weighs for.
    ups = learn([Vote(str(n), 1, {"mri": "MRI", f"w{n}": "w"}) for n in range(3)], share)
    assert ups.acts and ups.weights["mri"] > ups.weights["w0"] > 0
    assert ups.explain(count=1)[0][0][0] == "mri" and ups.word("mri") == "MRI"


def test_a_click_changes_the_taste_at_once(service: Service, clock: Clock) -> None:
    say(service, "subscribe segmentation")
    a_day(service, clock, 1)
    first = digest(service)
    assert first is not None
    ids = [item.paper_id for item in first.items]
    for paper_id in ids[:2]:
        say(service, f"more {paper_id}")
    assert "rests on 2 of the 3 votes" in say(service, "taste")
    say(service, f"less {ids[-1]}")
    assert say(service, "taste").startswith("What this channel's votes taught")


def test_cli_taste(tmp_path: Path) -> None:
    cli = cli_runner(tmp_path / "data")
    seed = tmp_path / "seed.txt"
    seed.write_text(
        "IVNov 27, 2026\nBreast MRI screeningAnn Lee, Bob Roe\nbreast MRI\n"
        "IVNov 27, 2026\nBreast MRI at low fieldAnn Lee\nbreast MRI field\n"
        "IVNov 27, 2026\nBreast CT reconstructionBo Chen\nbreast CT\n"
        + "".join(f"IVNov 2{n}, 2026\nRobot grasping study {n}Cy Dee\nrobots\n" for n in range(6)),
        "utf-8")
    assert cli("seed", str(seed))[0] == 0
    code, out, _ = cli("search", "breast", "--json")
    ids = [line.split('"')[3] for line in out.splitlines() if line.strip().startswith('"id"')]
    assert len(ids) == 3
    for paper_id in ids:
        assert cli("feedback", LAB, paper_id, "up")[0] == 0
    code, out, err = cli("taste", LAB)
    assert (code, err) == (0, "") and out.startswith(f"{LAB}:\n  What this channel's votes")
    code, out, _ = cli("taste", LAB, "--json")
    answer = json.loads(out)
    assert answer["acts"] and answer["liked"] == 3 and answer["votes"] == 3
    assert answer["for"] and {"feature", "word", "weight"} <= answer["for"][0].keys()
    code, out, _ = cli("taste", LAB, "--reset")
    assert code == 0 and "forgot what 3 votes taught" in out
    assert not json.loads(cli("taste", LAB, "--json")[1])["acts"]
    code, out, err = cli("taste", "lab")
    assert_one_line_outcome(code, out, err)
    assert code == 1 and "'lab' is not a channel address" in err


def test_a_flood_of_clicks_keeps_the_latest_opinion_and_learns_once(
    service: Service, clock: Clock
) -> None:
    say(service, "subscribe segmentation")
    a_day(service, clock, 1)
    first = digest(service)
    assert first is not None
    ids = [item.paper_id for item in first.items]
    answers = []
    def up(n: int) -> bool:  # each round over the papers turns every vote over
        return (n // len(ids)) % 2 == 0

    for n in range(1000):  # 1,000 clicks in a minute
        clock.now += timedelta(milliseconds=60)
        answers.append(say(service, f"{'more' if up(n) else 'less'} {ids[n % len(ids)]}"))
    assert not any("votes in a minute" in a for a in answers[:FAST_VOTES])
    assert all("More than 30 votes in a minute: each is kept" in a for a in answers[FAST_VOTES:])
    # Every vote was recorded: the last click on each paper is its vote.
    last = {ids[n % len(ids)]: (1 if up(n) else -1) for n in range(1000)}
    assert service.ratings.votes(LAB) == last
    with service.db.session() as session:
        learned_at = session.get(TasteRow, 1).updated_at
    assert learned_at < clock.now - timedelta(seconds=50)  # not at each click
    # The next digest learns from them first.
    a_day(service, clock, 2)
    digest(service)
    with service.db.session() as session:
        row = session.get(TasteRow, 1)
        assert row.updated_at == clock.now
        assert (row.liked, row.disliked) == (sum(v > 0 for v in last.values()),
                                             sum(v < 0 for v in last.values()))
