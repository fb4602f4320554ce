"""The fake Discord's interactions and gateway events, driven by a real discord.py client."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from tests.fakes.discord_api import (
    APPLICATION_ID,
    CHANNEL_ID,
    FOLLOWUP,
    GUILD_ID,
    MANAGE_CHANNELS,
    MEMBER_PERMISSIONS,
    FakeDiscord,
    discord_api_fixture,  # noqa: F401  (registers the `discord_api` fixture)
)
from tests.fakes.discord_clients import (
    TOKEN,
    DigestView,
    PapersBot,
    SaveButton,
    answered,
    http,
    intents,
    run,
)

EDIT_ORIGINAL = "PATCH /webhooks/{application_id}/{interaction_token}/messages/@original"


def test_a_slash_command_reaches_its_callback_and_answers(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def invoke() -> None:
        await client.tree.sync()
        allowed = MEMBER_PERMISSIONS | MANAGE_CHANNELS
        options = {"topic": "breast mri"}
        discord_api.dispatch(
            "INTERACTION_CREATE",
            discord_api.command_interaction("papers subscribe", options, permissions=allowed),
        )
        discord_api.dispatch(
            "INTERACTION_CREATE", discord_api.command_interaction("papers subscribe", options)
        )
        await answered(discord_api, 2)

    run(client, invoke)

    subscribed, refused = discord_api.callbacks()
    assert (subscribed.response_type, subscribed.content) == (4, "Subscribed to breast mri")
    assert subscribed.channel_id == CHANNEL_ID
    assert subscribed.query == {"with_response": "1"}  # discord.py 2.5+ always asks
    resource = subscribed.response["resource"]["message"]
    assert client.seen["callback"].message_id == int(resource["id"])
    assert (refused.response_type, refused.content, refused.flags) == (
        4,
        "You need Manage Channels.",
        64,  # ephemeral
    )
    assert isinstance(client.seen["error"], app_commands.MissingPermissions)


def test_defer_then_edit_original_and_a_followup(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def invoke() -> None:
        payload = discord_api.command_interaction("papers search", {"query": "mri"})
        discord_api.dispatch("INTERACTION_CREATE", payload)
        await answered(discord_api, 1)

    run(client, invoke)

    [deferred] = discord_api.callbacks()
    assert deferred.response_type == 5
    assert deferred.response["interaction"]["response_message_loading"] is True
    edit, followup = discord_api.followups()
    assert (edit.route, edit.content) == (EDIT_ORIGINAL, "3 papers match mri")
    original = discord_api.stored_message(edit.response["id"])
    assert (original["content"], original["flags"]) == ("3 papers match mri", 0)  # not loading
    assert (followup.route, followup.content, followup.query["wait"]) == (
        FOLLOWUP,
        "and 2 more",
        "1",
    )
    assert client.seen["followup"].content == "and 2 more"


def test_autocomplete_answers_with_choices(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def type_in() -> None:
        payload = discord_api.autocomplete_interaction(
            "papers subscribe", {"topic": "bre"}, focused="topic"
        )
        discord_api.dispatch("INTERACTION_CREATE", payload)
        await answered(discord_api, 1)

    run(client, type_in)

    [answer] = discord_api.callbacks()
    assert answer.payload == {
        "type": 8,
        "data": {"choices": [{"name": "breast mri", "value": "breast mri"}]},
    }
    assert "resource" not in answer.response


def test_clicks_reach_a_persistent_view_and_a_dynamic_item(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def click() -> discord.Message:
        view = DigestView()
        view.add_item(SaveButton("2402.12345"))
        digest = await client.get_partial_messageable(int(CHANNEL_ID)).send("Digest", view=view)
        discord_api.dispatch("INTERACTION_CREATE", discord_api.component_interaction("papers:more"))
        discord_api.dispatch(
            "INTERACTION_CREATE", discord_api.component_interaction("papers:save:2402.12345")
        )
        await answered(discord_api, 2)
        return digest

    digest = run(client, click)

    more, save = discord_api.callbacks()
    assert (more.response_type, more.content) == (7, "Ten more papers")
    assert discord_api.stored_message(str(digest.id))["content"] == "Ten more papers"
    assert more.response["resource"]["message"]["id"] == str(digest.id)
    assert (save.response_type, save.content, save.flags) == (4, "Saved 2402.12345", 64)


def test_guilds_join_and_leave_over_the_gateway(discord_api: FakeDiscord) -> None:
    client = PapersBot()

    async def move() -> tuple[discord.Guild, discord.Guild]:
        joining = asyncio.ensure_future(client.wait_for("guild_join", timeout=5))
        await asyncio.sleep(0)  # the listener is in place before the event can arrive
        discord_api.add_guild(
            "1187000000000009000",
            name="Radiology Club",
            channels=[{"id": "1187000000000009001", "name": "journal-club"}],
        )
        joined = await joining
        leaving = asyncio.ensure_future(client.wait_for("guild_remove", timeout=5))
        await asyncio.sleep(0)
        discord_api.remove_from_guild(GUILD_ID)
        return joined, await leaving

    joined, left = run(client, move)

    assert (joined.name, [c.name for c in joined.channels]) == ("Radiology Club", ["journal-club"])
    assert left.id == int(GUILD_ID)
    assert [g.name for g in client.guilds] == ["Radiology Club"]


def test_reconnect_resumes_on_the_resume_url_and_replays_nothing_lost(
    discord_api: FakeDiscord,
) -> None:
    client = PapersBot()

    async def reconnect() -> None:
        resumed = asyncio.ensure_future(client.wait_for("resumed", timeout=5))
        await asyncio.sleep(0)
        discord_api.request_reconnect()
        await resumed
        payload = discord_api.command_interaction("papers search", {"query": "ct"})
        discord_api.dispatch("INTERACTION_CREATE", payload)
        await answered(discord_api, 1)

    run(client, reconnect)

    [resume] = discord_api.gateway_frames(op=6)
    assert resume.path == "/resume"
    assert resume.d["token"] == TOKEN and resume.d["seq"] >= 2  # READY, GUILD_CREATE
    assert len(discord_api.gateway_frames(op=2)) == 1  # no second IDENTIFY
    assert client.readied == 1


def test_interaction_endpoints_refuse_what_discord_refuses(discord_api: FakeDiscord) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.1)  # answers nothing

    async def post_raw() -> list[tuple[int, Any]]:
        payload = discord_api.command_interaction("papers topics")
        discord_api.dispatch("INTERACTION_CREATE", payload)
        callback = (
            f"{discord_api.rest_url}/interactions/{payload['id']}/{payload['token']}/callback"
        )
        followup = f"{discord_api.rest_url}/webhooks/{APPLICATION_ID}/{payload['token']}"
        message = {"type": 4, "data": {"content": "Topics: mri"}}
        steps = [
            (followup + "?wait=true", {"content": "too early"}),
            (f"{discord_api.rest_url}/interactions/1/{payload['token']}/callback", message),
            (callback, message),
            (callback, message),
            (followup + "?wait=true", {"content": "later"}),
        ]
        return [await asyncio.to_thread(http, url, body) for url, body in steps]

    early, unknown, first, second, later = run(client, post_raw)

    assert early == (404, {"message": "Unknown Webhook", "code": 10015})
    assert unknown == (404, {"message": "Unknown interaction", "code": 10062})
    assert first == (204, None)  # without ?with_response, as Discord answers
    assert second == (400, {"message": "Interaction has already been acknowledged.", "code": 40060})
    assert later[0] == 200 and later[1]["content"] == "later"
