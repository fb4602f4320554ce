"""The fake Discord's REST API and lifecycle, driven by a real discord.py client over real HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time

import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands

from tests.fakes.discord_api import (
    ANNOUNCEMENTS_CHANNEL_ID,
    APPLICATION_ID,
    BOT_PERMISSIONS,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    INTERACTION_CALLBACK,
    MEMBER_PERMISSIONS,
    RECORDINGS_DIR,
    SEND_MESSAGE,
    SYNC_COMMANDS,
    SYNC_GUILD_COMMANDS,
    DiscordCall,
    FakeDiscord,
    discord_api_fixture,  # noqa: F401  (registers the `discord_api` fixture)
    recorded_response,
)
from tests.fakes.discord_clients import TOKEN, PapersBot, http, intents, nothing, run


def test_login_reaches_on_ready_with_the_fake_guild(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def check() -> None:
        guild = client.get_guild(int(GUILD_ID))
        assert guild is not None and guild.name == "Imaging Lab"
        assert [c.name for c in guild.text_channels] == ["papers", "announcements"]
        papers, news = (
            guild.get_channel(int(CHANNEL_ID)),
            guild.get_channel(int(ANNOUNCEMENTS_CHANNEL_ID)),
        )
        assert papers is not None and news is not None
        assert papers.permissions_for(guild.me).send_messages
        assert not news.permissions_for(guild.me).send_messages  # @everyone is denied there

    run(client, check)

    assert client.readied == 1
    assert client.user is not None and client.user.id == int(BOT_USER_ID)
    assert client.application_id == int(APPLICATION_ID)
    assert [c.route for c in discord_api.calls()] == [
        "GET /users/@me",
        "GET /oauth2/applications/@me",
    ]
    assert discord_api.calls()[0].token == TOKEN
    [identify] = discord_api.gateway_frames(op=2)
    assert (identify.d["token"], identify.d["intents"]) == (TOKEN, intents().value)
    assert identify.path == "/gateway"
    assert identify.query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert discord_api.gateway_frames(op=1)  # discord.py heartbeats at once on HELLO


def test_sync_records_the_commands_and_keeps_their_ids(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def sync() -> tuple[list[app_commands.AppCommand], ...]:
        first = await client.tree.sync()
        again = await client.tree.sync()
        client.tree.copy_global_to(guild=discord.Object(int(GUILD_ID)))
        in_guild = await client.tree.sync(guild=discord.Object(int(GUILD_ID)))
        with pytest.raises(discord.Forbidden) as refused:
            await client.tree.sync(guild=discord.Object(42))  # a guild the bot is not in
        assert refused.value.code == 50001
        return first, again, in_guild

    first, again, in_guild = run(client, sync)

    [sent, _] = [c.payload for c in discord_api.calls(SYNC_COMMANDS)]
    assert [c["name"] for c in sent] == ["papers"]
    assert [o["name"] for o in sent[0]["options"]] == ["subscribe", "search"]
    assert first[0].id == again[0].id != in_guild[0].id
    assert first[0].application_id == int(APPLICATION_ID)
    assert discord_api.commands()[0]["id"] == str(first[0].id)
    assert discord_api.commands(GUILD_ID)[0]["guild_id"] == GUILD_ID
    assert [c.status for c in discord_api.calls(SYNC_GUILD_COMMANDS)] == [200, 403]


def test_send_records_embed_allowed_mentions_and_enforced_nonce(discord_api: FakeDiscord) -> None:
    client = PapersBot()
    embed = discord.Embed(title="New papers", description="*Attention Is All You Need*")

    async def send() -> tuple[discord.Message, discord.Message]:
        channel = client.get_channel(int(CHANNEL_ID))
        assert isinstance(channel, discord.TextChannel)
        none = discord.AllowedMentions.none()
        first = await channel.send("Digest", embed=embed, allowed_mentions=none, nonce="digest-7")
        retry = await channel.send("Digest", embed=embed, allowed_mentions=none, nonce="digest-7")
        return first, retry

    first, retry = run(client, send)

    [post] = discord_api.messages(CHANNEL_ID)
    assert post.content == "Digest"
    assert post.embeds == [embed.to_dict()]
    assert post.allowed_mentions == {"parse": []}
    # discord.py 2.7 has no enforce_nonce argument: a nonce is always sent enforced.
    assert (post.nonce, post.enforce_nonce) == ("digest-7", True)
    assert post.token == TOKEN
    assert first.id == retry.id  # Discord deduplicates a nonce it has seen
    assert (first.content, first.embeds[0].title, first.author.id) == (
        "Digest",
        "New papers",
        int(BOT_USER_ID),
    )
    assert len(discord_api.calls(SEND_MESSAGE)) == 2


def test_forbidden_raises_with_its_code_then_sending_recovers(discord_api: FakeDiscord) -> None:
    discord_api.fail(SEND_MESSAGE, channel=CHANNEL_ID)  # 403, 50001 Missing Access
    client = PapersBot()

    async def send() -> discord.Forbidden:
        channel = client.get_partial_messageable(int(CHANNEL_ID))
        with pytest.raises(discord.Forbidden) as raised:
            await channel.send("Digest")
        await channel.send("Digest, second try")
        return raised.value

    error = run(client, send)

    assert (error.status, error.code, error.text) == (403, 50001, "Missing Access")
    assert [c.status for c in discord_api.messages(include_failed=True)] == [403, 200]
    assert [c.content for c in discord_api.messages()] == ["Digest, second try"]


def test_unknown_channels_raise_not_found(discord_api: FakeDiscord) -> None:
    discord_api.fail(
        "GET /channels/{channel_id}", status=404, code=10003, message="Unknown Channel"
    )
    client = PapersBot()

    async def fail() -> list[discord.NotFound]:
        errors = []
        for attempt in (
            client.get_partial_messageable(404).send("lost"),  # never configured
            client.fetch_channel(int(CHANNEL_ID)),  # scripted
        ):
            with pytest.raises(discord.NotFound) as raised:
                await attempt
            errors.append(raised.value)
        return errors

    errors = run(client, fail)

    assert [(e.status, e.code, e.text) for e in errors] == [(404, 10003, "Unknown Channel")] * 2
    assert discord_api.messages() == []


def test_a_429_is_slept_on_and_retried(discord_api: FakeDiscord) -> None:
    discord_api.rate_limit(SEND_MESSAGE, retry_after=0.05)
    client = PapersBot()

    async def send() -> float:
        started = time.monotonic()
        await client.get_partial_messageable(int(CHANNEL_ID)).send("Digest")
        return time.monotonic() - started

    took = run(client, send)

    limited, sent = discord_api.messages(include_failed=True)
    assert (limited.status, limited.response["retry_after"], sent.status) == (429, 0.05, 200)
    assert took >= 0.05
    assert len(discord_api.messages()) == 1


def test_a_429_without_via_is_taken_for_a_cloudflare_ban(discord_api: FakeDiscord) -> None:
    body = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    discord_api.respond(SEND_MESSAGE, body, status=429, headers={"Via": ""})
    client = PapersBot()

    async def send() -> discord.HTTPException:
        with pytest.raises(discord.HTTPException) as raised:
            await client.get_partial_messageable(int(CHANNEL_ID)).send("Digest")
        return raised.value

    assert run(client, send).status == 429
    assert [c.status for c in discord_api.calls(SEND_MESSAGE)] == [429]  # not retried


def test_messages_discord_would_refuse_raise_bad_request(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def send() -> list[discord.HTTPException]:
        channel = client.get_partial_messageable(int(CHANNEL_ID))
        errors = []
        for kwargs in (
            {"content": "x" * 2001},
            {"embed": discord.Embed(description="y" * 4097)},
            {},
        ):
            with pytest.raises(discord.HTTPException) as raised:
                await channel.send(**kwargs)
            errors.append(raised.value)
        return errors

    too_long, big_embed, empty = run(client, send)

    assert (too_long.status, too_long.code) == (400, 50035)
    assert "content: Must be 2000 or fewer in length." in str(too_long)
    assert "embeds.0.description: Must be 4096 or fewer in length." in str(big_embed)
    assert (empty.code, empty.text) == (50006, "Cannot send an empty message")


def test_files_arrive_as_multipart_with_payload_json(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def send() -> discord.Message:
        pdf = discord.File(io.BytesIO(b"%PDF-1.7"), filename="2402.12345.pdf")
        return await client.get_partial_messageable(int(CHANNEL_ID)).send("The paper", file=pdf)

    message = run(client, send)

    [post] = discord_api.messages()
    assert post.headers["Content-Type"].startswith("multipart/form-data")
    assert post.content == "The paper"
    assert post.files == {"files[0]": ("2402.12345.pdf", b"%PDF-1.7")}
    assert [(a.filename, a.size) for a in message.attachments] == [("2402.12345.pdf", 8)]


def test_unrouted_paths_and_missing_tokens_are_refused(discord_api: FakeDiscord) -> None:
    assert http(discord_api.rest_url + "/nowhere", method="GET") == (
        404,
        {"message": "404: Not Found", "code": 0},
    )
    assert http(discord_api.rest_url + "/users/@me", method="GET") == (
        401,
        {"message": "401: Unauthorized", "code": 0},
    )
    assert [c.route for c in discord_api.calls()] == ["GET /api/v10/nowhere", "GET /users/@me"]


def test_wait_for_sees_calls_from_the_client_loop_and_times_out_clearly(
    discord_api: FakeDiscord,
) -> None:
    client = PapersBot()

    async def send_later() -> list[DiscordCall]:
        channel = client.get_partial_messageable(int(CHANNEL_ID))
        sending = asyncio.create_task(channel.send("from the scheduler"))
        # wait_for would block this loop, and with it the send it waits for.
        got = await discord_api.wait_for_async(SEND_MESSAGE)
        await sending
        return got

    [post] = run(client, send_later)

    assert post.content == "from the scheduler"
    with pytest.raises(AssertionError, match="got 1"):
        discord_api.wait_for(SEND_MESSAGE, count=2, timeout=0.05)


def test_a_bad_token_fails_login_and_privileged_intents_fail_the_gateway() -> None:
    with FakeDiscord(tokens={TOKEN}) as fake, fake.point_discord_py():
        with pytest.raises(discord.LoginFailure):
            run(discord.Client(intents=intents()), nothing, token="stolen-token")
    with FakeDiscord() as fake, fake.point_discord_py():
        greedy = discord.Intents.default()
        greedy.message_content = True
        with pytest.raises(discord.PrivilegedIntentsRequired):
            run(discord.Client(intents=greedy), nothing)
        [identify] = fake.gateway_frames(op=2)
        assert identify.d["intents"] == greedy.value


def test_stop_restores_discord_py_closes_the_port_and_leaves_no_thread() -> None:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    before = set(threading.enumerate())
    with FakeDiscord() as fake, fake.point_discord_py():
        assert discord.http.Route.BASE == fake.rest_url
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
        run(PapersBot(), nothing)
        port = int(fake.url.rsplit(":", 1)[1])

    assert discord.http.Route.BASE == base
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == gateway
    for thread in set(threading.enumerate()) - before:  # discord.py's keep-alive thread ends
        thread.join(timeout=2)
    assert set(threading.enumerate()) <= before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url


def test_recordings_describe_themselves_and_match_the_fake_identity() -> None:
    served = {
        "GET /users/@me",
        "GET /oauth2/applications/@me",
        "GET /gateway/bot",
        SEND_MESSAGE,
        SYNC_COMMANDS,
        INTERACTION_CALLBACK,
        "GATEWAY READY",
        "GATEWAY GUILD_CREATE",
        "GATEWAY INTERACTION_CREATE",
    }
    files = {p.stem: p for p in RECORDINGS_DIR.glob("*.json")}

    for route in served:
        name = route.replace(" /", "_").replace("/", "_").replace(" ", "_")
        raw = json.loads(files.pop(name).read_text(encoding="utf-8"))
        assert route in raw["_about"], name
        assert "_about" not in (recorded_response(route) or {"_about": 1})
    assert files == {}, "a recording the fake does not serve"
    me = recorded_response("GET /users/@me") or {}
    app = recorded_response("GET /oauth2/applications/@me") or {}
    guild = recorded_response("GATEWAY GUILD_CREATE") or {}
    assert (me["id"], app["id"], app["bot"]["id"]) == (BOT_USER_ID, APPLICATION_ID, BOT_USER_ID)
    assert guild["id"] == GUILD_ID == guild["roles"][0]["id"]  # @everyone's id is the guild's
    assert guild["roles"][0]["permissions"] == str(MEMBER_PERMISSIONS)
    interaction = recorded_response("GATEWAY INTERACTION_CREATE") or {}
    assert interaction["member"]["permissions"] == str(MEMBER_PERMISSIONS)
    assert interaction["app_permissions"] == str(BOT_PERMISSIONS)
    assert (interaction["guild_id"], interaction["channel_id"]) == (GUILD_ID, CHANNEL_ID)
