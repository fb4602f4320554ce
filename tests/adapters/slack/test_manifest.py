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
    assert set(SCOPES) == {"commands", "chat:write", "channels:join"}
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
