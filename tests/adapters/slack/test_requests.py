"""What the Slack adapter's HTTP server makes of each request, before and after bolt.

The real slack-bolt app served by the adapter on 127.0.0.1; requests made
and signed here as Slack makes them (slack_sdk's SignatureVerifier), junk
and forgeries beside them; what the bot answers through response_url lands
in the fake Slack Web API. Real request bodies from slack-bolt's own tests
are read from ``../shared/real-data/slack/`` where that directory is.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.adapter import SlackAdapter
from adapters.slack.guard import (
    EVENT_RETRIES_WITHIN,
    LOG_EVERY,
    Refusal,
    RefusalLog,
    RequestGuard,
)
from adapters.slack.workspace import OTHER_WORKSPACE
from bot.chat.service import Service
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot
from tests.fakes import FakeSlackAPI, slack_api_fixture  # noqa: F401  (the slack_api fixture)
from tests.fakes.slack_api import RESPONSE_URL_USES

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
TEAM, CHANNEL = "T0FAKE", "C0GENERAL"  # the fake's auth.test says T0FAKE
ADDRESS = f"slack:{TEAM}/{CHANNEL}"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Door:
    """Slack's side of the request URL: raw requests, signed like Slack's or not at all."""

    def __init__(self, api: FakeSlackAPI, port: int) -> None:
        self.api = api
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def send(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """Status and body of the answer; its headers are left in ``self.answer_headers``."""
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                self.answer_headers = dict(response.headers)
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            self.answer_headers = dict(exc.headers)
            return exc.code, exc.read().decode()

    def sign(self, body: bytes, *, content_type: str, **kwargs: Any) -> dict[str, str]:
        return slack_headers(body, content_type=content_type, **kwargs)

    def signed(self, body: bytes, *, content_type: str, **kwargs: Any) -> tuple[int, str]:
        return self.send(body, slack_headers(body, content_type=content_type, **kwargs))

    def command_body(self, text: str, *, team: str = TEAM, channel: str = CHANNEL) -> bytes:
        return urllib.parse.urlencode({
            "command": "/papers", "text": text, "team_id": team, "channel_id": channel,
            "user_id": "U0ANN", "user_name": "ann", "trigger_id": "1.2.3",
            "response_url": self.api.response_url("command"),
        }).encode()

    def command(self, text: str, **kwargs: str) -> tuple[int, str]:
        return self.signed(self.command_body(text, **kwargs), content_type=FORM)


def slack_headers(body: bytes, *, content_type: str, secret: str = SECRET, age: int = 0,
                  **headers: str) -> dict[str, str]:
    """The headers Slack sends with ``body`` (``X_Slack_Retry_Num="1"`` and such added)."""
    timestamp = str(int(time.time()) - age)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": _sign(secret, timestamp, body),
            **{k.replace("_", "-"): v for k, v in headers.items()}}


def _sign(secret: str, timestamp: str, body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # slack_sdk signs text only; Slack's rule, by hand, for bytes Slack never sends.
        digest = hmac.new(secret.encode(), b"v0:%s:%s" % (timestamp.encode(), body), "sha256")
        return "v0=" + digest.hexdigest()
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return signature


def paper(n: int, title: str, abstract: str | None = None) -> PaperRecord:
    return PaperRecord(id=f"2611.{n:05d}", title=title, authors=("Ann Lee",),
                       abstract=abstract or f"{title}. The whole abstract goes on from here.",
                       published=date(2026, 11, 27), categories=("eess.IV",),
                       url=f"https://arxiv.org/abs/2611.{n:05d}")


@pytest.fixture
def service(db, index) -> Service:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([paper(1, "Breast MRI screening with deep learning")])
    return service


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def door(service: Service, slack_api: FakeSlackAPI, ticks: Ticks) -> Iterator[Door]:
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1", monotonic=ticks)
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    assert adapter.bound_port
    yield Door(slack_api, adapter.bound_port)
    bot.stop()


def _refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "adapters.slack.guard" and r.levelno == logging.WARNING]


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR]


# -- junk and forgeries ---------------------------------------------------------

HELP = b"command=%2Fpapers&text=help&team_id=T0FAKE&channel_id=C0GENERAL&user_id=U0ANN"
UNSIGNED = [
    pytest.param({"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}, FORM,
                 HELP, id="timestamp-abc"),
    # "²" is a digit to str.isdigit, not to int().
    pytest.param({"X-Slack-Request-Timestamp": "17²", "X-Slack-Signature": "v0=00"}, FORM,
                 HELP, id="timestamp-superscript"),
    pytest.param({"X-Slack-Signature": "v0=é"}, FORM, HELP, id="signature-not-ascii"),
    pytest.param({"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"}, FORM,
                 HELP, id="timestamp-huge"),
    pytest.param({"X-Slack-Signature": ""}, FORM, bytes(range(256)), id="binary-body"),
    pytest.param({}, JSON, HELP, id="json-type-form-body"),
    pytest.param({}, FORM, b"payload={bad", id="payload-bad-json"),
    pytest.param({"X-Slack-Signature": "v0=00"}, JSON, b"{}", id="no-timestamp"),
]


@pytest.mark.parametrize(("headers", "content_type", "body"), UNSIGNED)
def test_unsigned_junk_gets_401_without_a_traceback(door: Door, caplog, headers: dict[str, str],
                                                    content_type: str, body: bytes) -> None:
    caplog.set_level(logging.INFO)
    signed_now = str(int(time.time()))
    headers = {"X-Slack-Request-Timestamp": signed_now, "X-Slack-Signature": "v0=" + "0" * 64,
               "Content-Type": content_type, **headers}
    status, text = door.send(body, headers)
    assert status == 401, text
    assert _tracebacks(caplog) == []
    assert door.api.responses() == []


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (bytes(range(256)), FORM, "body not UTF-8"),
    (HELP, JSON, "body not a JSON object"),
    (b"[1, 2]", JSON, "body not a JSON object"),
    (b"payload={bad", FORM, "payload not a JSON object"),
    (b'payload=["a"]', FORM, "payload not a JSON object"),
    (b"{not json", FORM, "body not a form"),
    (b'{"command": "/papers"}', FORM, "body not a form"),
])
def test_signed_junk_gets_400_without_a_traceback(door: Door, caplog, body: bytes,
                                                  content_type: str, reason: str) -> None:
    caplog.set_level(logging.INFO)
    status, text = door.signed(body, content_type=content_type)
    assert (status, text.strip()) == (400, reason)
    assert _tracebacks(caplog) == []


def test_a_flood_of_junk_is_one_line_a_minute_with_a_count(door: Door, caplog, ticks: Ticks
                                                           ) -> None:
    caplog.set_level(logging.INFO)
    for n in range(40):
        door.send(b"payload={bad" if n % 2 else bytes(range(256)), {"Content-Type": FORM})
    ticks.now += LOG_EVERY - 1
    door.send(b"{}", {"Content-Type": JSON, "X-Slack-Request-Timestamp": "abc",
                      "X-Slack-Signature": "v0=00"})
    assert _refusal_lines(caplog) == ["Slack: refused 1 request (unsigned: 1); the last from 127.0.0.1"]
    ticks.now += 1
    status, _ = door.command("help", team=TEAM)  # Slack's own requests go on being served
    assert status == 200
    door.send(b"", {"Content-Type": FORM})
    assert _refusal_lines(caplog)[1:] == [(
        "Slack: refused 41 requests in the last 60 s (unsigned: 40, bad timestamp: 1); "
        "the last from 127.0.0.1"
    )]
    assert _tracebacks(caplog) == []


# -- whose requests are served -----------------------------------------------------

REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "real-data" / "slack"


def real_payloads(name: str) -> list[dict[str, Any]]:
    """The request bodies recorded in slack-bolt's tests, as ``../shared/real-data`` keeps them."""
    path = REAL_DATA / f"bolt_{name}.json"
    if not path.is_file():
        pytest.skip(f"no real Slack payloads at {REAL_DATA}")
    return list(json.loads(path.read_text("utf-8"))["payloads"])


def test_a_command_from_another_workspace_is_refused(door: Door, service: Service,
                                                     caplog) -> None:
    caplog.set_level(logging.INFO)
    status, text = door.command("subscribe breast mri", team="T0OTHER", channel="C0SEC")
    assert (status, json.loads(text)) == (200, {"response_type": "ephemeral",
                                                "text": OTHER_WORKSPACE})
    assert service.channels.info("slack:T0OTHER/C0SEC") is None
    assert _refusal_lines(caplog) == [
        "Slack: refused 1 request (another workspace: 1); the last from workspace T0OTHER"]
    status, text = door.command("subscribe breast mri")
    assert status == 200 and "now follows: breast mri" in text
    assert service.channels.topics(ADDRESS) == ["breast mri"]


def test_real_slash_command_from_its_workspace_is_served_and_from_another_refused(
    door: Door, service: Service
) -> None:
    [recorded] = real_payloads("slash_command")
    raw = recorded["raw"]
    assert "team_id=T111" in raw
    status, text = door.signed(raw.encode(), content_type=recorded["content_type"])
    assert (status, json.loads(text)["text"]) == (200, OTHER_WORKSPACE)
    ours = (raw.replace("team_id=T111", f"team_id={TEAM}").replace("text=Hi", "text=topics")
            .replace("command=%2Fhello-world", "command=%2Fpapers"))
    status, text = door.signed(ours.encode(), content_type=recorded["content_type"])
    assert status == 200
    assert json.loads(text)["text"].startswith("This channel follows no topics yet.")


def test_a_button_from_another_workspace_is_refused(door: Door) -> None:
    [recorded] = real_payloads("block_actions")
    payload = recorded["value"]
    assert payload["team"]["id"] == "T111"
    payload["response_url"] = door.api.response_url("button")
    payload["actions"] = [{"type": "button", "action_id": "paper_abstract", "block_id": "b",
                           "value": "2611.00001", "action_ts": "1"}]
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    status, _ = door.signed(body, content_type=FORM)
    assert status == 200
    [answer] = door.api.wait_for("response_url")
    assert answer.params["text"] == OTHER_WORKSPACE
    assert answer.params["response_type"] == "ephemeral"


def test_an_uninstall_from_another_workspace_pauses_nothing(door: Door, service: Service) -> None:
    [*_, recorded] = [p for p in real_payloads("events") if p["name"] == "app_uninstalled_body"]
    other = recorded["value"]
    assert other["team_id"] == "T111"
    service.channels.subscribe("slack:T111/C111", "breast mri")
    service.channels.subscribe(ADDRESS, "breast mri")
    status, _ = door.signed(json.dumps(other).encode(), content_type=JSON)
    assert status == 200
    ours = {**other, "team_id": TEAM, "event_id": "Ev2"}
    status, _ = door.signed(json.dumps(ours).encode(), content_type=JSON)
    assert status == 200
    _wait_until(lambda: _paused(service, ADDRESS))
    assert not _paused(service, "slack:T111/C111")


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", ""])
def test_only_the_content_types_slack_sends_are_served(door: Door, service: Service,
                                                       content_type: str) -> None:
    status, text = door.signed(door.command_body("subscribe breast mri"),
                               content_type=content_type)
    assert (status, text.strip()) == (415, "unsupported content type")
    assert service.channels.info(ADDRESS) is None


def _paused(service: Service, address: str) -> bool:
    info = service.channels.info(address)
    return info is not None and info.paused


def _wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain")
        time.sleep(0.02)


def test_its_workspace_is_learnt_when_slack_answers_again(service: Service,
                                                          slack_api: FakeSlackAPI) -> None:
    slack_api.server_error("auth.test", status=503, times=2)  # at start, and at the first event
    adapter = SlackAdapter(bot_token=TOKEN, signing_secret=SECRET, api_url=slack_api.api_url,
                           port=0, host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    try:
        door = Door(slack_api, adapter.bound_port or 0)
        service.channels.subscribe(ADDRESS, "breast mri")
        event = {"type": "event_callback", "team_id": TEAM, "api_app_id": "A0APP",
                 "event": {"type": "app_uninstalled"}, "event_id": "Ev1", "event_time": 1}
        status, _ = door.signed(json.dumps(event).encode(), content_type=JSON)
        assert status == 503 and not _paused(service, ADDRESS)  # Slack sends it again later
        status, _ = door.signed(json.dumps(event).encode(), content_type=JSON,
                                X_Slack_Retry_Num="1", X_Slack_Retry_Reason="http_error")
        assert status == 200
        _wait_until(lambda: _paused(service, ADDRESS))
    finally:
        bot.stop()


# -- replays ---------------------------------------------------------------------


def _click(door: Door, value: str) -> bytes:
    payload = {"type": "block_actions", "team": {"id": TEAM},
               "user": {"id": "U0ANN", "team_id": TEAM}, "channel": {"id": CHANNEL},
               "trigger_id": f"1.2.{value}", "api_app_id": "A0APP",
               "response_url": door.api.response_url(value),
               "actions": [{"type": "button", "action_id": "paper_abstract", "block_id": "b",
                            "value": value, "action_ts": "1"}]}
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def test_a_replayed_button_click_is_answered_once(door: Door, service: Service) -> None:
    service.catalog.import_records([paper(2, "Low-dose CT reconstruction")])
    click = _click(door, "2611.00001")
    headers = door.sign(click, content_type=FORM)
    assert door.send(click, headers) == (200, "")
    assert door.send(click, headers) == (200, "")  # the same signed request again
    later = _click(door, "2611.00002")
    assert door.signed(later, content_type=FORM)[0] == 200
    answers = door.api.wait_for("response_url", count=2)
    assert sorted(a.response_name or "" for a in answers) == ["2611.00001", "2611.00002"]
    _stays(lambda: len(door.api.responses()) == 2)


def test_a_replayed_command_is_not_run_again(door: Door, service: Service, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = door.command_body("subscribe breast mri")
    headers = door.sign(body, content_type=FORM)
    status, text = door.send(body, headers)
    assert status == 200 and "now follows: breast mri" in text
    status, text = door.send(body, headers)
    assert (status, text) == (200, "")  # not "This channel already follows"
    replayed = "Slack: refused 1 request (replayed: 1); the last from 127.0.0.1"
    assert _refusal_lines(caplog) == [replayed]


def test_slacks_retry_of_an_event_handled_already_is_not_handled_again(
    door: Door, service: Service, caplog
) -> None:
    caplog.set_level(logging.INFO)
    service.channels.subscribe(ADDRESS, "breast mri")
    event = json.dumps({"type": "event_callback", "team_id": TEAM, "api_app_id": "A0APP",
                        "event": {"type": "app_uninstalled"}, "event_id": "Ev9",
                        "event_time": 1}).encode()
    assert door.signed(event, content_type=JSON)[0] == 200
    _wait_until(lambda: _paused(service, ADDRESS))
    # Slack's retry: the same body, signed again with a later timestamp.
    retry = door.sign(event, content_type=JSON, age=-1, X_Slack_Retry_Num="1",
                      X_Slack_Retry_Reason="http_timeout")
    assert door.send(event, retry) == (200, "")
    assert door.answer_headers.get("X-Slack-No-Retry") == "1"
    _stays(lambda: len(_gone(caplog)) == 1)
    assert _refusal_lines(caplog) == []  # Slack's own retries are no refusal


def test_memory_of_requests_is_bounded_by_time(ticks: Ticks) -> None:
    guard = RequestGuard(SECRET, refusals=RefusalLog(monotonic=ticks), monotonic=ticks)
    for n in range(300):
        body = json.dumps({"type": "event_callback", "event_id": f"Ev{n}"}).encode()
        assert guard.check(slack_headers(body, content_type=JSON), body) is None
    assert guard.remembered == 300
    replay = slack_headers(body, content_type=JSON)
    assert guard.check(replay, body) == Refusal(200, "replayed")
    ticks.now += EVENT_RETRIES_WITHIN
    other = json.dumps({"type": "event_callback", "event_id": "Ev-late"}).encode()
    assert guard.check(slack_headers(other, content_type=JSON), other) is None
    assert guard.remembered == 1


def _gone(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.chat.runtime" and " gone (" in r.getMessage()]


def _stays(condition: Callable[[], bool], seconds: float = 0.3) -> None:
    """``condition`` holds now and for ``seconds`` after (what would change it has had time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition()
        time.sleep(0.02)


# -- buttons -----------------------------------------------------------------------


def _button(door: Door, **where: Any) -> bytes:
    payload = {"type": "block_actions", "team": {"id": TEAM},
               "user": {"id": "U0ANN", "team_id": TEAM}, "trigger_id": "1.2.5",
               "api_app_id": "A0APP", "response_url": door.api.response_url("button"),
               "actions": [{"type": "button", "action_id": "paper_abstract", "block_id": "b",
                            "value": "2611.00001", "action_ts": "1"}], **where}
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def test_a_button_without_a_channel_is_answered_ephemerally(door: Door, caplog) -> None:
    caplog.set_level(logging.INFO)
    body = _button(door, container={"type": "view", "view_id": "V0HOME"})
    assert door.signed(body, content_type=FORM) == (200, "")
    [answer] = door.api.wait_for("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["text"] == ("digestbot cannot tell which channel this button is in. "
                                      "Type /papers show 2611.00001 in a channel instead.")
    assert _tracebacks(caplog) == []


def test_a_button_whose_channel_is_in_its_container_is_answered(door: Door) -> None:
    [recorded] = real_payloads("block_actions")
    container = recorded["value"]["container"]  # a message's: it names the channel
    body = _button(door, container={**container, "channel_id": CHANNEL})
    assert door.signed(body, content_type=FORM)[0] == 200
    [answer] = door.api.wait_for("response_url")
    assert "The whole abstract goes on from here" in json.dumps(answer.params)


# -- long answers ------------------------------------------------------------------

# A 117 KB abstract (arXiv allows far less; a feed may carry anything).
LONG_ABSTRACT = "\n\n".join(
    f"Paragraph {n}: " + "the method is evaluated on breast MRI screening data " * 20
    for n in range(110)
)


def test_a_long_abstract_is_cut_to_five_posts_with_a_link(door: Door, service: Service) -> None:
    assert len(LONG_ABSTRACT.encode()) > 117_000
    service.catalog.import_records([paper(7, "A very long abstract", LONG_ABSTRACT)])
    body = _button(door, channel={"id": CHANNEL})
    payload = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    payload["actions"][0]["value"] = "2611.00007"
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    assert door.signed(body, content_type=FORM)[0] == 200
    answers = door.api.wait_for("response_url", count=RESPONSE_URL_USES)
    _stays(lambda: len(door.api.responses()) == RESPONSE_URL_USES)
    assert [a.status for a in answers] == [200] * RESPONSE_URL_USES  # Slack took every one
    shown = json.dumps([a.params["blocks"] for a in answers])
    assert shown.startswith('[[{"text": {"text": "Paragraph 0: the method')
    assert "Paragraph 109" not in shown
    last = json.dumps(answers[-1].params["blocks"])
    assert "cut to fit in Slack" in last
    assert "<https://arxiv.org/abs/2611.00007|" in last
    assert "(5/5)" in answers[-1].params["text"]


def test_a_long_abstract_asked_for_by_command_fits_its_acknowledgement_and_five_posts(
    door: Door, service: Service
) -> None:
    service.catalog.import_records([paper(7, "A very long abstract", LONG_ABSTRACT)])
    status, text = door.command("show 2611.00007")
    assert status == 200 and json.loads(text)["text"].endswith("(1/6)")
    answers = door.api.wait_for("response_url", count=RESPONSE_URL_USES)
    _stays(lambda: len(door.api.responses()) == RESPONSE_URL_USES)
    assert [a.status for a in answers] == [200] * RESPONSE_URL_USES
    assert "cut to fit in Slack" in json.dumps(answers[-1].params["blocks"])
