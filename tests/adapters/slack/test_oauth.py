"""Installing into several workspaces: bolt's OAuth flow over HTTP, tokens kept in our database."""

from __future__ import annotations

import asyncio
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from adapters.slack.adapter import SlackAdapter
from adapters.slack.oauth import SCOPES
from bot.chat.service import Service
from bot.digest.deliver import Outcome
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot
from tests.fakes import FakeSlackAPI, slack_api_fixture  # noqa: F401  (the slack_api fixture)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
INSTALLED = "slack:T0FAKE/C0GENERAL"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def get(url: str, *, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.fixture
def installed(db, index, slack_api: FakeSlackAPI) -> Iterator[tuple[ConsoleBot, str]]:
    service = Service(db=db, index=index, clock=lambda: NOW)
    service.catalog.import_records([PaperRecord(id="2611.00001", title="Breast MRI screening",
                                        published=date(2026, 11, 27))])
    adapter = SlackAdapter(bot_token=None, signing_secret="secret", client_id="111.222",
                           client_secret="shh", api_url=slack_api.api_url, port=0,
                           host="127.0.0.1")
    bot = ConsoleBot(service, lambda: NOW, others=[adapter]).start()
    yield bot, f"http://127.0.0.1:{adapter.bound_port}"
    bot.stop()


def test_install_then_post_with_the_workspace_token(installed, slack_api: FakeSlackAPI) -> None:
    bot, base = installed
    status, page, headers = get(f"{base}/slack/install")
    assert status in (200, 302)
    # bolt's install page: an "Add to Slack" link to the authorize page.
    found = re.search(r'<a href="([^"]+)"><img alt="Add to Slack"', page)
    link = headers.get("Location") or (found.group(1) if found else "")
    assert link.startswith(slack_api.url + "/oauth/v2/authorize?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link.replace("&amp;", "&")).query)
    assert query["client_id"] == ["111.222"] and query["scope"] == [",".join(SCOPES)]
    state = query["state"][0]

    status, _, _ = get(f"{base}/slack/oauth_redirect?code=abc123&state={state}",
                       cookie=f"slack-app-oauth-state={state}")
    assert status == 200
    [exchange] = slack_api.calls("oauth.v2.access")
    assert exchange.params["code"] == "abc123"

    bot.service.channels.subscribe(INSTALLED, "breast mri")
    bot.service.channels.subscribe("slack:T0OTHER/C1", "breast mri")  # never installed
    outcomes = bot.run(_scheduled(bot, INSTALLED, "slack:T0OTHER/C1"))
    assert [o.error is None for o in outcomes] == [True, False]
    [post] = slack_api.posts("C0GENERAL")
    assert post.token == "xoxb-fake-installed-bot-token"
    other = bot.service.channels.info("slack:T0OTHER/C1")
    assert other is not None and other.paused
    assert "not installed in this Slack workspace" in str(other.paused_reason)


def test_install_link_state_is_checked(installed, slack_api: FakeSlackAPI) -> None:
    bot, base = installed
    status, _, _ = get(f"{base}/slack/oauth_redirect?code=abc123&state=forged",
                       cookie="slack-app-oauth-state=forged")
    assert status >= 400
    assert slack_api.calls("oauth.v2.access") == []


def test_migrated_tables_match_what_slack_sdk_stores_expect(db) -> None:
    metadata = sa.MetaData()
    expected = [
        SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots"),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states"),
    ]
    inspector = sa.inspect(db.engine)
    for table in expected:
        have = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(have) == {c.name for c in table.columns}, table.name
        for column in table.columns:
            assert have[column.name]["nullable"] == column.nullable, (table.name, column.name)
            stored = have[column.name]["type"]
            assert stored.python_type is column.type.python_type, (table.name, column.name)
            assert getattr(stored, "length", None) == getattr(column.type, "length", None)


async def _scheduled(bot: ConsoleBot, *addresses: str) -> list[Outcome]:
    due = {address: NOW for address in addresses}
    return await asyncio.to_thread(bot.service.deliverer.run_scheduled, due, send=bot.bot._post)


NOT_DISTRIBUTED = "invalid_team_for_non_distributed_app"


def _install_link_state(base: str) -> str:
    _, page, headers = get(f"{base}/slack/install")
    found = re.search(r'<a href="([^"]+)"><img alt="Add to Slack"', page)
    link = headers.get("Location") or (found.group(1) if found else "")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link.replace("&amp;", "&")).query)
    return query["state"][0]


def test_an_app_not_distributed_says_to_turn_on_distribution_when_slack_redirects_back(
    installed, caplog: pytest.LogCaptureFixture
) -> None:
    _, base = installed
    state = _install_link_state(base)
    _, page, _ = get(f"{base}/slack/oauth_redirect?error={NOT_DISTRIBUTED}&state={state}",
                          cookie=f"slack-app-oauth-state={state}")
    assert "Manage Distribution" in page and "Activate Public Distribution" in page
    assert NOT_DISTRIBUTED in page
    assert any("Manage Distribution" in r.getMessage() for r in caplog.records)


def test_an_app_not_distributed_says_to_turn_on_distribution_when_the_exchange_fails(
    installed, slack_api: FakeSlackAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _, base = installed
    slack_api.fail("oauth.v2.access", error=NOT_DISTRIBUTED)
    state = _install_link_state(base)
    status, page, _ = get(f"{base}/slack/oauth_redirect?code=abc123&state={state}",
                          cookie=f"slack-app-oauth-state={state}")
    assert status >= 400
    assert "Manage Distribution" in page and NOT_DISTRIBUTED in page
    [line] = [r.getMessage() for r in caplog.records if "install refused" in r.getMessage()]
    assert "Manage Distribution" in line
    # Any other failure keeps bolt's own page.
    status, page, _ = get(f"{base}/slack/oauth_redirect?code=abc123&state=forged",
                          cookie="slack-app-oauth-state=forged")
    assert status >= 400 and "Manage Distribution" not in page
