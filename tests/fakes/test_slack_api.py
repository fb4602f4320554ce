"""The fake Slack Web API, driven by the real slack_sdk clients over real HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.request
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from tests.fakes import slack_api_fixture  # noqa: F401  (registers the `slack_api` fixture)
from tests.fakes.slack_api import (
    BOT_ID,
    BOT_USER_ID,
    CLIENT_GONE,
    RECORDINGS_DIR,
    RESPONSE_URL_USES,
    TEAM_ID,
    FakeSlackAPI,
    recorded_response,
)

TOKEN = "xoxb-test-token"
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "New papers"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Attention Is All You Need*"}},
]


def client_for(fake: FakeSlackAPI, token: str | None = TOKEN) -> WebClient:
    return WebClient(token=token, base_url=fake.api_url, timeout=5)


def async_client_for(fake: FakeSlackAPI, token: str = TOKEN) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url, timeout=5)


def test_auth_test_and_post_message_record_token_and_blocks(slack_api: FakeSlackAPI) -> None:
    client = client_for(slack_api)

    me = client.auth_test()
    first = client.chat_postMessage(channel="C1", text="New papers", blocks=BLOCKS)
    second = client.chat_postMessage(channel="C1", text="More", thread_ts=first["ts"])

    assert (me["team_id"], me["user_id"], me["bot_id"]) == (TEAM_ID, BOT_USER_ID, BOT_ID)
    assert first["channel"] == "C1"
    assert first["message"]["blocks"] == BLOCKS
    assert float(second["ts"]) > float(first["ts"])
    assert second["message"]["thread_ts"] == first["ts"]
    [auth] = slack_api.calls("auth.test")
    assert auth.headers["authorization"] == f"Bearer {TOKEN}"
    post = slack_api.posts("C1")[0]
    assert post.token == TOKEN
    assert post.blocks == BLOCKS  # sent as JSON by slack_sdk, decoded here
    assert post.text == "New papers"
    assert post.headers["Content-Type"].startswith("application/json")
    assert post.received_at <= slack_api.posts("C1")[1].received_at
    assert [c.method for c in slack_api.calls()] == ["auth.test", *["chat.postMessage"] * 2]


def test_blocks_sent_as_a_json_string_in_a_form_body_are_decoded(
    slack_api: FakeSlackAPI,
) -> None:
    client = client_for(slack_api)

    client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(BLOCKS)}
    )

    [post] = slack_api.posts("C1")
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert post.blocks == BLOCKS


def test_multipart_text_fields_are_str_and_files_are_bytes(slack_api: FakeSlackAPI) -> None:
    slack_api.respond("files.custom", {"ok": True})

    client_for(slack_api).api_call(
        "files.custom", data={"channels": "C1"}, files={"file": b"%PDF-1.7"}
    )

    [call] = slack_api.calls("files.custom")
    assert call.params == {"channels": "C1", "file": b"%PDF-1.7"}


def test_every_served_method_has_a_harmless_default(slack_api: FakeSlackAPI) -> None:
    slack_api.add_channel("C9", name="papers", is_member=False)
    slack_api.add_user("U7", tz="Europe/Berlin", tz_offset=3600)
    client = client_for(slack_api)

    info = client.conversations_info(channel="C9")
    joined = client.conversations_join(channel="C9")
    after = client.conversations_info(channel="C9")
    other = client.conversations_info(channel="C5")
    user = client.users_info(user="U7")
    ephemeral = client.chat_postEphemeral(channel="C9", user="U7", text="only you")
    updated = client.chat_update(channel="C9", ts="1700000000.000001", text="new", blocks=BLOCKS)
    view = client.views_open(
        trigger_id="123.456",
        view={
            "type": "modal",
            "callback_id": "subscribe",
            "title": {"type": "plain_text", "text": "Subscribe"},
            "blocks": BLOCKS,
        },
    )
    oauth = WebClient(base_url=slack_api.api_url).oauth_v2_access(
        client_id="111.222", client_secret="s3cret", code="abc"
    )

    assert (info["channel"]["name"], info["channel"]["is_member"]) == ("papers", False)
    assert joined["channel"]["id"] == "C9"
    assert after["channel"]["is_member"] is True
    assert (other["channel"]["id"], other["channel"]["name"]) == ("C5", "channel-c5")
    assert (user["user"]["id"], user["user"]["tz"], user["user"]["tz_offset"]) == (
        "U7",
        "Europe/Berlin",
        3600,
    )
    assert ephemeral["message_ts"]
    assert (updated["ts"], updated["text"], updated["message"]["blocks"]) == (
        "1700000000.000001",
        "new",
        BLOCKS,
    )
    assert view["view"]["callback_id"] == "subscribe"
    assert view["view"]["blocks"] == BLOCKS
    assert slack_api.calls("views.open")[0].params["view"]["type"] == "modal"
    assert oauth["access_token"].startswith("xoxb-")
    assert slack_api.calls("oauth.v2.access")[0].headers["Authorization"].startswith("Basic ")
    assert slack_api.calls("oauth.v2.access")[0].params["code"] == "abc"


def test_an_unknown_method_answers_unknown_method(slack_api: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError) as raised:
        client_for(slack_api).api_call("chat.frobnicate")

    assert raised.value.response["error"] == "unknown_method"


def test_an_unreadable_body_is_recorded_and_answered_like_slack(
    slack_api: FakeSlackAPI,
) -> None:
    request = urllib.request.Request(
        slack_api.api_url + "chat.postMessage",
        data=b'{"channel": "C1", "text": ',
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )

    with urllib.request.urlopen(request, timeout=5) as answer:
        body = json.loads(answer.read())

    assert body == {"ok": False, "error": "invalid_json"}
    [call] = slack_api.calls("chat.postMessage")
    assert (call.params, call.body) == ({}, b'{"channel": "C1", "text": ')


def test_fail_for_one_channel_raises_slack_api_error_then_recovers(
    slack_api: FakeSlackAPI,
) -> None:
    slack_api.fail("chat.postMessage", error="channel_not_found", channel="C2")
    client = client_for(slack_api)

    client.chat_postMessage(channel="C1", text="fine")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C2", text="lost")
    client.chat_postMessage(channel="C2", text="second try")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert [p.text for p in slack_api.posts()] == ["fine", "second try"]
    assert [p.ok for p in slack_api.posts("C2", include_failed=True)] == [False, True]


def test_fail_on_the_nth_call_lets_the_first_ones_through(slack_api: FakeSlackAPI) -> None:
    slack_api.fail("chat.postMessage", error="channel_not_found", after=2)
    client = client_for(slack_api)
    results = []
    for n in range(4):
        try:
            client.chat_postMessage(channel="C1", text=f"post {n}")
            results.append("ok")
        except SlackApiError as exc:
            results.append(str(exc.response["error"]))
    assert results == ["ok", "ok", "channel_not_found", "ok"]
    with pytest.raises(ValueError):
        slack_api.fail("chat.postMessage", error="x", after=-1)


def test_fail_for_n_times_and_until_reset(slack_api: FakeSlackAPI) -> None:
    slack_api.fail("users.info", error="user_not_found", times=2)
    slack_api.fail("conversations.info", error="channel_not_found", times=None)
    client = client_for(slack_api)

    def error_of(call: Any) -> str | None:
        try:
            call()
        except SlackApiError as exc:
            return str(exc.response["error"])
        return None

    users = [error_of(lambda: client.users_info(user="U1")) for _ in range(3)]
    channels = [error_of(lambda: client.conversations_info(channel="C1")) for _ in range(3)]
    slack_api.reset()

    assert users == ["user_not_found", "user_not_found", None]
    assert channels == ["channel_not_found"] * 3
    assert client.conversations_info(channel="C1")["ok"] is True
    assert [c.method for c in slack_api.calls()] == ["conversations.info"]  # reset forgot the rest


def test_rate_limit_without_a_retry_handler_surfaces_429(slack_api: FakeSlackAPI) -> None:
    slack_api.rate_limit("chat.postMessage", retry_after=1)

    with pytest.raises(SlackApiError) as raised:
        client_for(slack_api).chat_postMessage(channel="C1", text="hi")

    response = raised.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "1"
    assert slack_api.posts() == []


def test_rate_limit_is_retried_by_slack_sdk_and_then_posts_once(slack_api: FakeSlackAPI) -> None:
    slack_api.rate_limit("chat.postMessage", retry_after=0, channel="C1")
    client = client_for(slack_api)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))

    response = client.chat_postMessage(channel="C1", text="digest", blocks=BLOCKS)

    assert response["ok"] is True
    limited, delivered = slack_api.posts("C1", include_failed=True)
    assert (limited.status, limited.response["error"]) == (429, "ratelimited")
    assert delivered.ok and delivered.blocks == BLOCKS
    assert len(slack_api.posts("C1")) == 1


def test_server_error_raises_with_its_status(slack_api: FakeSlackAPI) -> None:
    slack_api.server_error("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as raised:
        client_for(slack_api).chat_postMessage(channel="C1", text="hi")

    assert raised.value.response.status_code == 503
    assert raised.value.response["error"] == "fatal_error"


def test_async_client_posts_reads_and_retries(slack_api: FakeSlackAPI) -> None:
    slack_api.add_user("U3", tz="Asia/Tokyo")
    slack_api.rate_limit("chat.postMessage", retry_after=0)
    handlers: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=1)]

    async def run() -> tuple[Any, Any, Any]:
        client = async_client_for(slack_api)
        client.retry_handlers.extend(handlers)
        me = await client.auth_test()
        user = await client.users_info(user="U3")
        post = await client.chat_postMessage(channel="C4", text="async", blocks=BLOCKS)
        return me, user, post

    me, user, post = asyncio.run(run())

    assert me["team_id"] == TEAM_ID
    assert user["user"]["tz"] == "Asia/Tokyo"
    assert post["channel"] == "C4"
    [get] = slack_api.calls("users.info")
    assert (get.http_verb, get.params, get.token) == ("GET", {"user": "U3"}, TOKEN)
    assert [c.status for c in slack_api.posts(include_failed=True)] == [429, 200]
    assert slack_api.posts("C4")[0].blocks == BLOCKS


def test_async_client_raises_on_ok_false(slack_api: FakeSlackAPI) -> None:
    slack_api.fail("chat.postMessage", error="not_in_channel")

    async def run() -> None:
        await async_client_for(slack_api).chat_postMessage(channel="C1", text="x")

    with pytest.raises(SlackApiError) as raised:
        asyncio.run(run())
    assert raised.value.response["error"] == "not_in_channel"


def test_a_revoked_token_answers_token_revoked(slack_api: FakeSlackAPI) -> None:
    slack_api.revoke("xoxb-old")

    with pytest.raises(SlackApiError) as raised:
        client_for(slack_api, token="xoxb-old").chat_postMessage(channel="C1", text="x")

    assert raised.value.response["error"] == "token_revoked"
    assert client_for(slack_api, token="xoxb-new").auth_test()["ok"] is True
    assert slack_api.posts() == []
    assert slack_api.calls("chat.postMessage")[0].token == "xoxb-old"


def test_the_allow_list_rejects_unknown_and_missing_tokens(slack_api: FakeSlackAPI) -> None:
    slack_api.allow(TOKEN)

    assert client_for(slack_api).auth_test()["ok"] is True
    errors = []
    for token in ("xoxb-stranger", None):
        with pytest.raises(SlackApiError) as raised:
            client_for(slack_api, token=token).auth_test()
        errors.append(raised.value.response["error"])
    issued = WebClient(base_url=slack_api.api_url).oauth_v2_access(
        client_id="1", client_secret="2", code="3"
    )["access_token"]

    assert errors == ["invalid_auth", "not_authed"]
    assert client_for(slack_api, token=issued).auth_test()["ok"] is True


def test_response_url_posts_are_recorded(slack_api: FakeSlackAPI) -> None:
    url = slack_api.response_url("cmd-1")

    answer = WebhookClient(url).send(text="Subscribed to *mri*", response_type="ephemeral")
    WebhookClient(slack_api.response_url("cmd-2")).send(blocks=BLOCKS, replace_original=True)

    assert answer.status_code == 200
    [first] = slack_api.responses("cmd-1")
    assert first.params == {"text": "Subscribed to *mri*", "response_type": "ephemeral"}
    assert slack_api.responses("cmd-2")[0].blocks == BLOCKS
    assert [c.response_name for c in slack_api.responses()] == ["cmd-1", "cmd-2"]


def test_response_url_failures_can_be_scripted(slack_api: FakeSlackAPI) -> None:
    slack_api.respond("response_url", {"ok": False, "error": "expired_url"}, status=404)

    answer = WebhookClient(slack_api.response_url()).send(text="too late")

    assert answer.status_code == 404
    assert slack_api.responses("default")[0].status == 404


def test_a_response_url_takes_five_posts_as_slack_does(slack_api: FakeSlackAPI) -> None:
    url = slack_api.response_url("cmd")

    answers = [WebhookClient(url).send(text=f"part {n}") for n in range(1, 7)]
    other = WebhookClient(slack_api.response_url("other")).send(text="another command's")

    assert [a.status_code for a in answers] == [200] * RESPONSE_URL_USES + [404]
    assert json.loads(answers[-1].body) == {"ok": False, "error": "used_url"}
    assert other.status_code == 200


def test_wait_for_sees_calls_made_from_another_thread(slack_api: FakeSlackAPI) -> None:
    def later() -> None:
        time.sleep(0.05)
        client_for(slack_api).chat_postMessage(channel="C1", text="from the scheduler")

    worker = threading.Thread(target=later)
    worker.start()
    try:
        [post] = slack_api.wait_for("chat.postMessage", count=1, timeout=5)
    finally:
        worker.join()

    assert post.text == "from the scheduler"
    with pytest.raises(AssertionError, match="got 1"):
        slack_api.wait_for("chat.postMessage", count=2, timeout=0.05)


def test_a_hold_keeps_posts_after_the_first_unanswered_until_released(
    slack_api: FakeSlackAPI,
) -> None:
    slack_api.hold("chat.postMessage", after=1)
    client_for(slack_api).chat_postMessage(channel="C1", text="goes through")
    answered: list[str] = []
    worker = threading.Thread(target=lambda: answered.append(
        client_for(slack_api).chat_postMessage(channel="C2", text="held")["channel"]))
    worker.start()
    try:
        assert slack_api.wait_held(1, timeout=5) == 1
        client_for(slack_api).auth_test()  # other methods are not held
        assert [p.channel for p in slack_api.posts()] == ["C1"]
        assert answered == []
    finally:
        slack_api.release()
        worker.join()

    assert answered == ["C2"]
    assert [p.channel for p in slack_api.posts()] == ["C1", "C2"]
    client_for(slack_api).chat_postMessage(channel="C3", text="after the release")
    assert len(slack_api.posts()) == 3
    with pytest.raises(AssertionError, match="0 held"):
        slack_api.wait_held(1, timeout=0.05)


def test_a_held_post_whose_client_left_is_dropped_not_posted(slack_api: FakeSlackAPI) -> None:
    # What a killed process leaves: a request sent whole, then the socket closed.
    slack_api.hold("chat.postMessage")
    body = json.dumps({"channel": "C1", "text": "never shown"}).encode()
    port = int(slack_api.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(
            b"POST /api/chat.postMessage HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        slack_api.wait_held(1, timeout=5)
    slack_api.release()

    [call] = slack_api.wait_for("chat.postMessage", count=1, timeout=5)
    assert (call.status, call.response) == (CLIENT_GONE, {"ok": False, "error": "client_gone"})
    assert call.channel == "C1"
    assert slack_api.posts() == []
    assert slack_api.posts(include_failed=True) == [call]


def test_stop_closes_the_port_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    with FakeSlackAPI() as fake:
        client_for(fake).auth_test()
        port = int(fake.url.rsplit(":", 1)[1])

    assert set(threading.enumerate()) <= before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url


def test_recordings_describe_themselves_and_match_the_fake_identity() -> None:
    served = {
        "auth.test",
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "conversations.info",
        "conversations.join",
        "oauth.v2.access",
        "users.info",
        "views.open",
    }
    files = {p.name.removesuffix(".json"): p for p in RECORDINGS_DIR.glob("*.json")}

    assert served <= files.keys()
    for method, path in files.items():
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert method in raw["_about"], path
        assert raw["ok"] is True, path
        assert "_about" not in (recorded_response(method) or {})
    auth = recorded_response("auth.test") or {}
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == (TEAM_ID, BOT_USER_ID, BOT_ID)
