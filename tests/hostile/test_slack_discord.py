"""Every hostile case as a signed Slack slash command over HTTP and as a Discord interaction
over the fake gateway, each against one running bot for the module: a 200 with one answer
(or a 4xx), within the platform's limits, nothing pinged."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.slack.adapter import SlackAdapter
from bot.chat.service import Service
from tests.adapters.discord.test_adapter import answer
from tests.adapters.slack.test_adapter import (
    _TRIGGERS,
    CHANNEL,
    SECRET,
    TEAM,
    TOKEN,
    Slack,
)
from tests.console_bot import ConsoleBot
from tests.fakes.discord_api import MANAGE_CHANNELS, MEMBER_PERMISSIONS, FakeDiscord
from tests.fakes.http import serving
from tests.fakes.slack_api import FakeSlackAPI
from tests.hostile.cases import CASES, Case
from tests.hostile.conftest import NOW

PINGS = ("<!", "<@", "<#", "@everyone", "@here", "@channel")


@pytest.fixture(scope="module")
def slack(service: Service) -> Iterator[Slack]:
    with serving(FakeSlackAPI()) as api:
        adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=api.api_url,
                               port=0, host="127.0.0.1")
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        assert adapter.bound_port
        try:
            yield Slack(api, adapter.bound_port)
        finally:
            bot.stop()


def _slack_command(slack: Slack, text: str) -> tuple[int, object]:
    form = {"command": "/papers", "text": text, "team_id": TEAM, "channel_id": CHANNEL,
            "user_id": "U0ANN", "user_name": "ann", "trigger_id": f"9.9.{next(_TRIGGERS)}",
            "response_url": slack.api.response_url("hostile")}
    body = urllib.parse.urlencode(form, errors="surrogatepass").encode()
    return slack.request(body, content_type="application/x-www-form-urlencoded")


def _assert_slack_answer(body: dict[str, object]) -> None:
    text = str(body.get("text", ""))
    assert len(text) <= 40_000
    blocks = body.get("blocks") or []
    assert isinstance(blocks, list) and len(blocks) <= 50
    for block in blocks:
        for key in ("text",):
            value = block.get(key)
            if isinstance(value, dict):
                assert len(value["text"]) <= 3000
    dumped = json.dumps(body, ensure_ascii=False)
    for bad in PINGS:
        assert bad not in dumped, bad
    assert "\\u001b" not in json.dumps(body)


@pytest.mark.parametrize("command", ["search", "subscribe"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_slack_slash_command(slack: Slack, service: Service, case: Case, command: str) -> None:
    answered = len(slack.api.responses())
    status, body = _slack_command(slack, f"{command} {case.text}")
    assert status == 200 or 400 <= status < 500, (status, body)
    if status == 200:
        assert isinstance(body, dict), body
        _assert_slack_answer(body)
        if body["text"] == "Working on it…":  # not ready in time: the answer follows
            later = slack.api.wait_for("response_url", count=answered + 1)[-1]
            _assert_slack_answer(dict(later.params))
    if command == "subscribe":
        address = f"slack:{TEAM}/{CHANNEL}"
        for topic in service.channels.topics(address):
            assert topic.strip()
            service.channels.unsubscribe(address, topic)


@pytest.fixture(scope="module")
def discord(service: Service) -> Iterator[FakeDiscord]:
    with serving(FakeDiscord()) as fake, fake.point_discord_py():
        adapter = DiscordAdapter(token="discord-bot-token", api_url=fake.rest_url,
                                 gateway_url=fake.gateway_url, guild_ready_timeout=0.1)
        bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
        try:
            yield fake
        finally:
            bot.stop()


_ANSWERS = iter(range(1, 10_000))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_discord_search_interaction(discord: FakeDiscord, case: Case) -> None:
    discord.dispatch("INTERACTION_CREATE", discord.command_interaction(
        "papers search", {"query": case.text}, permissions=MEMBER_PERMISSIONS | MANAGE_CHANNELS))
    body = answer(discord, next(_ANSWERS))
    assert body["allowed_mentions"] == {"parse": []}
    content = str(body.get("content", ""))
    assert len(content) <= 2000
    embeds = body.get("embeds") or []
    assert isinstance(embeds, list) and len(embeds) <= 10
    assert sum(len(json.dumps(e, ensure_ascii=False)) for e in embeds) <= 6000 + 2000
    for embed in embeds:
        assert len(embed.get("title", "")) <= 256
        assert len(embed.get("description", "")) <= 4096
    dumped = json.dumps(body, ensure_ascii=False)
    for bad in ("@everyone", "@here", "<@", "<#"):
        assert bad not in dumped, bad
