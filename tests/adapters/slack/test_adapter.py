"""The Slack adapter end to end: the real slack-bolt app serving HTTP, requests signed with
slack_sdk's SignatureVerifier, the real AsyncWebClient posting to a fake Slack Web API."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.adapter import SlackAdapter
from bot.chat.service import Service
from bot.digest.deliver import Outcome
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot
from tests.fakes import FakeSlackAPI, slack_api_fixture  # noqa: F401  (the slack_api fixture)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
TEAM, CHANNEL = "T0FAKE", "C0GENERAL"
ADDRESS = f"slack:{TEAM}/{CHANNEL}"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SUBSCRIBED = (
    "This channel now follows: breast mri (1 of 25 topics). 2 papers from the last 7 days "
    "match it; the next digest brings them, or type /papers digest."
)


def paper(n: int, title: str, **extra: object) -> PaperRecord:
    return PaperRecord(id=f"2611.{n:05d}", title=title, authors=("Ann Lee",),
                       abstract=f"{title}. The whole abstract goes on from here.",
                       published=date(2026, 11, 27), categories=("eess.IV",),
                       **extra)  # type: ignore[arg-type]


_TRIGGERS = itertools.count(1)


class Slack:
    """The far side of Slack: signs requests to the bot like Slack does, reads what it posted."""

    def __init__(self, api: FakeSlackAPI, port: int) -> None:
        self.api = api
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def request(self, body: bytes, *, content_type: str, secret: str = SECRET,
                age: int = 0) -> tuple[int, dict[str, object] | str]:
        timestamp = str(int(time.time()) - age)
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        assert signature is not None
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        })
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        try:
            return status, json.loads(text) if text else ""
        except json.JSONDecodeError:
            return status, text

    def command(self, text: str, *, user: tuple[str, str] = ("U0ANN", "ann"),
                **kwargs: object) -> tuple[int, dict[str, object] | str]:
        """``/papers text`` as ``user`` (id, user_name) types it."""
        form = {
            "command": "/papers", "text": text, "team_id": TEAM, "channel_id": CHANNEL,
            # Slack's trigger id is new with every command (and its body with it).
            "user_id": user[0], "user_name": user[1], "trigger_id": f"1.2.{next(_TRIGGERS)}",
            "response_url": self.api.response_url("command"),
        }
        body = urllib.parse.urlencode(form).encode()
        return self.request(body, content_type="application/x-www-form-urlencoded",
                            **kwargs)  # type: ignore[arg-type]

    def click(self, action_id: str, value: str, *, user: dict[str, str] | None = None
              ) -> tuple[int, dict[str, object] | str]:
        """A click on a button; ``user`` as block_actions payloads carry it (bolt's samples:
        id, username, name, team_id)."""
        clicker = user or {"id": "U0ANN", "username": "ann", "name": "ann", "team_id": TEAM}
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": clicker,
            "channel": {"id": CHANNEL}, "trigger_id": f"1.2.{next(_TRIGGERS)}",
            "api_app_id": "A0APP",
            "response_url": self.api.response_url("button"),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                         "value": value, "action_ts": "1"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.request(body, content_type="application/x-www-form-urlencoded")


@pytest.fixture
def service(db, index) -> Service:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([
        paper(1, "Breast MRI screening with deep learning"),
        paper(2, "<!channel> Free GPUs <@U123> <https://evil.example|arxiv.org> breast MRI"),
        paper(3, "Low-dose CT reconstruction"),
    ])
    return service


@pytest.fixture
def running(service: Service, slack_api: FakeSlackAPI) -> Iterator[tuple[ConsoleBot, Slack]]:
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    assert adapter.bound_port
    yield bot, Slack(slack_api, adapter.bound_port)
    bot.stop()


def test_slash_command_is_answered_in_the_acknowledgement(running) -> None:
    bot, slack = running
    status, body = slack.command("subscribe breast mri")
    assert status == 200
    assert isinstance(body, dict) and body["response_type"] == "ephemeral"
    assert body["text"] == SUBSCRIBED
    assert bot.service.channels.topics(ADDRESS) == ["breast mri"]


@pytest.mark.parametrize(("secret", "age"), [("wrong-secret", 0), (SECRET, 6 * 60)])
def test_unsigned_or_stale_requests_are_refused(running, secret: str, age: int) -> None:
    bot, slack = running
    status, _ = slack.command("subscribe breast mri", secret=secret, age=age)
    assert status == 401
    assert bot.service.channels.topics(ADDRESS) == []


def test_digest_acknowledges_first_then_posts_blocks_no_hostile_markup(running) -> None:
    bot, slack = running
    slack.command("subscribe breast mri")
    status, body = slack.command("digest")
    assert status == 200 and isinstance(body, dict) and body["text"] == "Working on it…"
    [post] = slack.api.wait_for("chat.postMessage")
    assert post.channel == CHANNEL and post.ok
    assert post.params["unfurl_links"] in (False, "false", "0", 0)
    assert "link_names" not in post.params and "parse" not in post.params
    blocks = json.dumps(post.blocks)
    assert "Breast MRI screening with deep learning" in blocks
    assert "<!channel>" not in blocks and "<@U123>" not in blocks
    assert "<https://evil.example" not in blocks
    [answer] = slack.api.wait_for("response_url")
    assert answer.params["text"] == "Posted 2 new papers."
    # Its papers ride along as metadata, for a restart after a crash to read back;
    # an ordinary digest reads no history.
    assert post.params["metadata"] == {"event_type": "digestbot_digest",
                                       "event_payload": {"papers": ["2611.00001", "2611.00002"]}}
    assert slack.api.calls("conversations.history") == []


def test_buttons_answer_through_the_core(running) -> None:
    bot, slack = running
    status, _ = slack.click("paper_abstract", "2611.00001")
    assert status == 200
    [answer] = slack.api.wait_for("response_url")
    assert "The whole abstract goes on from here" in json.dumps(answer.params)
    assert answer.params["response_type"] == "ephemeral"
    slack.click("paper_more_like", "2611.00001")
    answers = slack.api.wait_for("response_url", count=2)
    assert "Papers like Breast MRI screening" in json.dumps(answers[1].params)


def test_relevant_and_not_for_us_buttons_record_the_clicker_s_vote(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.command("digest")
    [post] = slack.api.wait_for("chat.postMessage")
    [first] = [b for b in post.blocks or [] if b.get("type") == "actions"][:1]
    assert [(e["text"]["text"], e["action_id"]) for e in first["elements"]] == [
        ("Abstract", "paper_abstract"), ("More like this", "paper_more_like"),
        ("👍 Relevant", "paper_relevant"), ("👎 Not for us", "paper_not_for_us"),
        ("Save", "paper_save")]
    paper = first["elements"][2]["value"]
    slack.api.wait_for("response_url")  # the digest's answer

    assert slack.click("paper_relevant", paper)[0] == 200
    answers = slack.api.wait_for("response_url", count=2)
    assert answers[1].params["text"].startswith("Noted: more papers like")
    assert answers[1].params["response_type"] == "ephemeral"
    assert bot.service.ratings.votes(ADDRESS) == {paper: 1}
    slack.click("paper_not_for_us", paper)  # undone by the other button
    answers = slack.api.wait_for("response_url", count=3)
    assert answers[2].params["text"].startswith("Changed: fewer papers like")
    assert bot.service.ratings.votes(ADDRESS) == {paper: -1}


def test_save_button_puts_the_paper_on_the_reading_list_once_with_the_clicker_s_name(
        running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.command("digest")
    [post] = slack.api.wait_for("chat.postMessage")
    saves = [e["value"] for b in post.blocks or [] if b.get("type") == "actions"
             for e in b["elements"] if e["action_id"] == "paper_save"]
    assert saves == ["2611.00001", "2611.00002"]  # one Save a paper
    slack.api.wait_for("response_url")  # the digest's answer

    bob = {"id": "U0BOB", "username": "bob", "name": "bob", "team_id": TEAM}
    assert slack.click("paper_save", saves[0], user=bob)[0] == 200
    saved = slack.api.wait_for("response_url", count=2)[1].params
    assert saved["text"] == ("Saved “Breast MRI screening with deep learning” to this "
                             "channel's reading list (/papers saved shows it).")
    assert saved["response_type"] == "ephemeral"
    # A second click, by someone else, changes nothing and says who saved it.
    slack.click("paper_save", saves[0])
    again = slack.api.wait_for("response_url", count=3)[2].params
    assert again["response_type"] == "ephemeral"
    assert again["text"].startswith("“Breast MRI screening with deep learning” is on this "
                                    "channel's reading list already: saved by bob on ")
    assert bot.service.reading.count(ADDRESS) == 1
    # The slash command names its typist too; a payload with "name" alone still names one.
    slack.command("save 2611.00003", user=("U0CAT", "cat"))
    slack.click("paper_save", saves[1], user={"id": "U0DAN", "name": "dan", "team_id": TEAM})
    slack.api.wait_for("response_url", count=4)
    _, listed = slack.command("saved")
    assert isinstance(listed, dict) and listed["response_type"] == "ephemeral"
    shown = "\n".join(b["text"]["text"] for b in listed["blocks"])  # type: ignore[attr-defined]
    for paper_id, name in (("2611.00001", "bob"), ("2611.00002", "dan"), ("2611.00003", "cat")):
        assert f"({paper_id}): saved by {name} on 28 Nov 2026" in shown


def test_scheduled_digest_is_posted_and_never_repeated(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    outcomes = bot.run(_scheduled(bot))
    assert [o.error for o in outcomes] == [None]
    assert len(slack.api.posts(CHANNEL)) == 1
    assert bot.run(_scheduled(bot)) == []  # the same day: nothing more
    assert bot.service.deliverer.digest(ADDRESS, send=lambda d: None) is None  # nothing new either


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("not_in_channel", "digestbot is not a member of this channel. Invite it with /invite"),
        ("channel_not_found", "Slack cannot find this channel"),
        ("is_archived", "This channel is archived."),
    ],
)
def test_channel_errors_pause_the_channel_and_keep_its_papers(running, error: str,
                                                             reason: str) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.service.channels.subscribe(f"slack:{TEAM}/C0OTHER", "breast mri")
    slack.api.fail("chat.postMessage", error=error, channel=CHANNEL)
    # A private channel: the bot cannot join it by itself.
    slack.api.fail("conversations.join", error="method_not_supported_for_channel_type")
    outcomes = bot.run(_scheduled(bot, f"slack:{TEAM}/C0OTHER"))
    assert [o.error is None for o in outcomes] == [False, True]
    info = bot.service.channels.info(ADDRESS)
    assert info is not None and info.paused and info.paused_reason.startswith(reason)
    _, body = slack.command("topics")
    assert isinstance(body, dict) and reason in str(body["text"])
    slack.command("resume")
    assert bot.service.deliverer.digest(ADDRESS, send=lambda d: None) is not None  # nothing was lost


def test_public_channel_it_is_not_in_is_joined_then_posted(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.api.fail("chat.postMessage", error="not_in_channel", channel=CHANNEL)
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    assert [c.params["channel"] for c in slack.api.calls("conversations.join")] == [CHANNEL]
    assert len(slack.api.posts(CHANNEL)) == 1


def test_digest_command_in_a_channel_it_cannot_post_to_says_how_to_invite(running) -> None:
    bot, slack = running
    slack.command("subscribe breast mri")
    slack.api.fail("chat.postMessage", error="not_in_channel", channel=CHANNEL)
    slack.api.fail("conversations.join", error="method_not_supported_for_channel_type")
    slack.command("digest")
    [answer] = slack.api.wait_for("response_url")
    # The renderer puts an invisible joiner after "@" so that no text can mention.
    assert answer.params["text"].replace("\u2060", "") == (
        "digestbot is not a member of this channel. "
        "Invite it with /invite @digestbot, then type /papers resume."
    )


def test_revoked_token_pauses_the_workspace(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.api.revoke(TOKEN)
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is not None
    info = bot.service.channels.info(ADDRESS)
    assert info is not None and info.paused
    assert "revoked; reinstall the app, then type /papers resume." in str(info.paused_reason)


def test_rate_limited_post_is_retried_after_retry_after(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.api.rate_limit("chat.postMessage", retry_after=0)
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    calls = slack.api.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert len(slack.api.posts(CHANNEL)) == 1


async def _scheduled(bot: ConsoleBot, *more: str) -> list[Outcome]:
    """The scheduler's run for the channels, posting through the running bot's adapters."""
    due = {address: NOW for address in (ADDRESS, *more)}
    return await asyncio.to_thread(bot.service.deliverer.run_scheduled, due, send=bot.bot._post)


class SocketModeServer:
    """The far side of Socket Mode: Slack's websocket, on 127.0.0.1 in its own thread.

    It greets the client with ``hello``, then sends the envelopes a test
    pushes and records every message the client sends back (the acks).
    """

    def __init__(self) -> None:
        import threading

        self.received: list[dict[str, object]] = []
        self._outbox: asyncio.Queue[dict[str, object]] | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._sockets: list[Any] = []
        self.port = 0

    def _run(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self._loop)
        self._outbox = asyncio.Queue()

        async def link(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            self._sockets.append(ws)
            await ws.send_json({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "fake"}})

            async def pump() -> None:
                assert self._outbox is not None
                while True:
                    await ws.send_json(await self._outbox.get())

            sender = asyncio.ensure_future(pump())
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    self.received.append(json.loads(message.data))
            sender.cancel()
            return ws

        app = web.Application()
        app.router.add_get("/link", link)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self._runner = runner
        self._site = site
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def start(self) -> SocketModeServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def push(self, envelope: dict[str, object]) -> None:
        assert self._outbox is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.received:
                if message.get("envelope_id") == envelope_id:
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no ack for {envelope_id}; got {self.received}")

    def drop(self) -> None:
        """Slack going away: stop listening, then close each websocket (a close frame)."""
        async def drop() -> None:
            await self._site.stop()
            for ws in self._sockets:
                await ws.close()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def test_socket_mode_slash_command_is_acknowledged_over_the_websocket(
    service: Service, slack_api: FakeSlackAPI
) -> None:
    server = SocketModeServer().start()
    slack_api.respond("apps.connections.open",
                      {"ok": True, "url": f"ws://127.0.0.1:{server.port}/link"}, times=None)
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret="", app_token="xapp-test",
                           api_url=slack_api.api_url)
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        server.push({
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/papers", "text": "subscribe breast mri", "team_id": TEAM,
                        "channel_id": CHANNEL, "user_id": "U0ANN",
                        "response_url": slack_api.response_url("command")},
        })
        ack = server.wait_for_ack("env-1")
        assert ack["payload"] == {"response_type": "ephemeral",
                                  "text": SUBSCRIBED,
                                  "blocks": ack["payload"]["blocks"]}  # type: ignore[index]
        assert service.channels.topics(ADDRESS) == ["breast mri"]
        assert [c.token for c in slack_api.calls("apps.connections.open")][0] == "xapp-test"
        assert bot.run(adapter.is_connected())  # the health check's view
    finally:
        bot.stop()
        server.stop()


def test_an_answer_not_ready_in_time_is_acknowledged_then_sent(running, monkeypatch) -> None:
    import adapters.slack.adapter as slack_adapter

    monkeypatch.setattr(slack_adapter, "ACK_WITHIN", 0.0)
    bot, slack = running
    status, body = slack.command("topics")
    assert status == 200 and isinstance(body, dict) and body["text"] == "Working on it…"
    [answer] = slack.api.wait_for("response_url")
    assert answer.params["text"].startswith("This channel follows no topics yet.")


@pytest.fixture
def stoppable(service: Service, slack_api: FakeSlackAPI,
              monkeypatch) -> Iterator[tuple[ConsoleBot, Slack]]:
    """A running bot the test stops itself, its answers all sent through response_url."""
    import adapters.slack.adapter as slack_adapter

    monkeypatch.setattr(slack_adapter, "ACK_WITHIN", 0.0)
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    assert adapter.bound_port
    yield bot, Slack(slack_api, adapter.bound_port)
    slack_api.release()


def test_stopping_waits_for_an_answer_being_sent(stoppable, caplog) -> None:
    bot, slack = stoppable
    slack.api.hold("response_url")
    slack.command("topics")
    slack.api.wait_held()
    stopping = threading.Thread(target=bot.stop)
    stopping.start()
    stopping.join(0.5)
    assert stopping.is_alive(), "the bot stopped with an answer on its way"
    slack.api.release()
    stopping.join(10)
    assert not stopping.is_alive()
    [answer] = slack.api.calls("response_url")
    assert answer.status == 200
    assert answer.params["text"].startswith("This channel follows no topics yet.")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_stopping_gives_up_an_answer_that_does_not_arrive(stoppable, caplog, monkeypatch) -> None:
    import adapters.slack.adapter as slack_adapter

    monkeypatch.setattr(slack_adapter, "ANSWER_DRAIN", 0.3)
    bot, slack = stoppable
    slack.api.hold("response_url")
    slack.command("topics")
    slack.api.wait_held()
    started = time.monotonic()
    bot.stop()
    assert time.monotonic() - started < 5
    assert "Slack: stopping gave up 1 answer(s) still being sent after 0.3 s" in caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text


def test_server_errors_are_retried(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    slack.api.server_error("chat.postMessage", status=503)
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is None
    assert [c.status for c in slack.api.calls("chat.postMessage")] == [503, 200]


def test_long_digest_failing_halfway_keeps_what_was_posted(running, service: Service) -> None:
    bot, slack = running
    service.catalog.import_records([
        paper(100 + n, f"Breast MRI study number {n} " + "with a long title " * 8,
              code_urls=(f"https://github.com/lab/repo{n}",))
        for n in range(50)
    ])
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    bot.service.channels.set_max_papers(ADDRESS, 50)
    slack.api.respond("chat.postMessage", {"ok": True, "channel": CHANNEL, "ts": "1.1"})
    slack.api.fail("chat.postMessage", error="is_archived")
    [outcome] = bot.run(_scheduled(bot))
    assert outcome.error is not None
    calls = slack.api.calls("chat.postMessage")
    assert len(calls) == 2  # the digest was split; the second part was refused
    first_part = json.dumps(calls[0].blocks)
    with bot.service.db.session() as session:
        from bot.store.models import Delivery

        sent = {d.paper_id for d in session.query(Delivery) if d.status == "sent"}
        failed = {d.paper_id for d in session.query(Delivery) if d.status == "failed"}
    assert sent and failed and not sent & failed
    assert all(paper_id in first_part for paper_id in sent)
    info = bot.service.channels.info(ADDRESS)
    assert info is not None and info.paused


def test_whole_flow_subscribe_scheduled_digest_then_abstract(running) -> None:
    bot, slack = running
    slack.command("subscribe breast mri")
    bot.run(_scheduled(bot))
    [post] = slack.api.posts(CHANNEL)
    buttons = [e for b in post.blocks or [] if b["type"] == "actions" for e in b["elements"]]
    abstract = next(b for b in buttons if b["action_id"] == "paper_abstract")
    slack.click("paper_abstract", abstract["value"])
    [answer] = slack.api.wait_for("response_url")
    assert "The whole abstract goes on from here" in json.dumps(answer.params)


def test_unsigned_button_click_is_refused(running) -> None:
    bot, slack = running
    payload = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U0ANN"},
               "channel": {"id": CHANNEL}, "response_url": slack.api.response_url("button"),
               "actions": [{"type": "button", "action_id": "paper_abstract", "value": "2611.00001",
                            "block_id": "b", "action_ts": "1"}]}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    status, _ = slack.request(body, content_type="application/x-www-form-urlencoded",
                              secret="wrong-secret")
    assert status == 401
    time.sleep(0.2)
    assert slack.api.responses() == []


def test_app_uninstalled_event_pauses_the_workspace(running) -> None:
    bot, slack = running
    bot.service.channels.subscribe(ADDRESS, "breast mri")
    event = {"type": "event_callback", "team_id": TEAM, "api_app_id": "A0APP",
             "event": {"type": "app_uninstalled", "event_ts": "1"}, "event_id": "Ev1",
             "event_time": 1}
    status, _ = slack.request(json.dumps(event).encode(), content_type="application/json")
    assert status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        info = bot.service.channels.info(ADDRESS)
        if info is not None and info.paused:
            break
        time.sleep(0.05)
    assert info is not None and info.paused
    assert "uninstalled from this workspace; reinstall the app" in str(info.paused_reason)


def test_http_server_up_is_connected_and_down_is_not(service: Service, slack_api: FakeSlackAPI
                                                     ) -> None:
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        assert bot.run(adapter.is_connected())
        bot.run(adapter.stop())
        assert not bot.run(adapter.is_connected())
    finally:
        bot.stop()
