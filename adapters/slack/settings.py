"""The Slack adapter's settings: its credentials, its Web API and its HTTP server.

Declared here, beside the platform, and found by ``bot.config`` through the
adapter's entry point (``adapters.slack.SETTINGS``); read as
``settings.get("slack_http")`` and ``settings.secrets.slack_bot_token``.
``config/digestbot.example.toml`` documents each (a test checks it).
"""

from __future__ import annotations

from bot.config import Setting

__all__ = ["SETTINGS"]

SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="slack_bot_token",
        type=str,
        secret=True,
        help="The Bot User OAuth Token (xoxb-...) of one workspace, from the app's OAuth & "
        "Permissions page. Not needed with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.",
    ),
    Setting(
        name="slack_app_token",
        type=str,
        secret=True,
        help="An App-Level Token (xapp-...) with the connections:write scope, from the app's "
        "Basic Information page: Socket Mode connects with it.",
    ),
    Setting(
        name="slack_signing_secret",
        type=str,
        secret=True,
        help="The Signing Secret (Basic Information: App Credentials) that verifies Slack's "
        "requests when Slack is served over HTTP (slack_http, and OAuth).",
    ),
    Setting(
        name="slack_client_id",
        type=str,
        secret=True,
        help="The Client ID (Basic Information: App Credentials): with SLACK_CLIENT_SECRET and "
        "SLACK_SIGNING_SECRET, anyone can install the app into their workspace (OAuth, over "
        "HTTP), and SLACK_BOT_TOKEN is not needed.",
    ),
    Setting(
        name="slack_client_secret",
        type=str,
        secret=True,
        help="The Client Secret (Basic Information: App Credentials), beside SLACK_CLIENT_ID.",
    ),
    Setting(
        name="slack_api_url",
        type=str,
        default="https://slack.com/api/",
        schemes=("https://", "http://"),
        help="Base URL of the Slack Web API. Change it only for a Slack deployment with its "
        "own API host (GovSlack-style) or a proxy.",
    ),
    Setting(
        name="slack_http",
        type=bool,
        default=False,
        help="Serve Slack over HTTP (a public request URL, verified with SLACK_SIGNING_SECRET) "
        "instead of Socket Mode (true or false). `digestbot run --slack-http` sets it too.",
    ),
    Setting(
        name="port",
        type=int,
        default=3000,
        range=(1, 65535),
        help="Port of the HTTP server for Slack's request URLs (/slack/events, and with OAuth "
        "/slack/install and /slack/oauth_redirect), 1-65535.",
    ),
)
