"""config/slack-manifest.yml: the app a user pastes into Slack matches what the adapter serves."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from adapters.slack.adapter import COMMAND, EVENTS_PATH
from adapters.slack.oauth import SCOPES

_URL_SETTING = re.compile(r"^(\s*)# (\s*[a-z_]*urls?:.*|\s*- https://.*)$", re.MULTILINE)
MANIFEST = Path(__file__).resolve().parents[3] / "config" / "slack-manifest.yml"


def _uncommented(text: str) -> str:
    """The manifest as HTTP mode has it: the commented-out URL settings switched on."""
    return _URL_SETTING.sub(r"\1\2", text)


def test_socket_mode_manifest() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text("utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    # What OAuth installs ask for is what the manifest declares.
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(SCOPES)
    assert set(SCOPES) == {"commands", "chat:write", "channels:join", "channels:history",
                           "groups:history"}
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert {"app_uninstalled", "tokens_revoked"} <= set(settings["event_subscriptions"]["bot_events"])


def test_http_mode_urls_point_at_the_adapter_paths() -> None:
    manifest = yaml.safe_load(_uncommented(MANIFEST.read_text("utf-8")))
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    ]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]


def test_which_slack_mode_the_environment_selects() -> None:
    import pytest

    from adapters.slack.adapter import create
    from bot.config import ConfigError, load_settings

    assert create(load_settings(environ={})) is None
    with pytest.raises(ConfigError, match="Socket Mode needs SLACK_APP_TOKEN"):
        create(load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-1"}))
    with pytest.raises(ConfigError, match="needs SLACK_SIGNING_SECRET"):
        create(load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-1", "DIGESTBOT_SLACK_HTTP": "true"}))
    socket = create(load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
                                           "DIGESTBOT_SLACK_API_URL": "https://slack.example/api/"}))
    assert socket is not None and socket._app_token == "xapp-1"
    assert socket._api_url == "https://slack.example/api/"
    oauth = create(load_settings(environ={"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s",
                                          "SLACK_SIGNING_SECRET": "x"}))
    assert oauth is not None and oauth._app_token is None and oauth._client_id == "1.2"
