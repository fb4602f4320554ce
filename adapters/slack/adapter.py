"""The Slack adapter: slack-bolt's async app in the bot's event loop.

Two translations around the core (``bot.chat.runtime.Bot``): a ``/papers``
slash command or a button click becomes an ``IncomingCommand``, with the
person's Slack user name (what a reading list says saved it); a reply or
digest becomes Block Kit (``adapters.slack.render``) posted through the Web
API. Nothing here parses arguments or selects papers.

Slack drops a slash command that is not acknowledged within 3 seconds:
answers that come quickly (search, help, subscribe...) go in the
acknowledgement itself; a command the core marks slow (``digest``), or any
answer not ready in ``ACK_WITHIN`` seconds, is acknowledged with a short
line and answered through the command's ``response_url`` after. Slack takes
``RESPONSE_URL_POSTS`` posts to a response_url: a longer answer (a huge
abstract) is cut to fit them, with a link to the paper's page.

Posting: one message a second at most per channel (Slack's pace for
``chat.postMessage``); 429s are retried after their ``Retry-After``, 5xx and
connection errors with backoff (slack_sdk's retry handlers). Errors that
will not pass by waiting pause the channel (``channel_not_found``,
``not_in_channel``, ``is_archived``) or the workspace (``invalid_auth``,
``token_revoked``, ``account_inactive``...) with a reason the next
``/papers`` there shows; the papers stay in the ledger.

Connecting: ``start`` checks the tokens (``auth.test``, and
``apps.connections.open`` for Socket Mode). A token Slack refuses stops the
bot with one line (``TokenRefused``); while Slack cannot be reached, Socket
Mode logs one line per attempt and tries again (``adapters.slack.connection``),
``start`` returning after the first failed attempt so the rest of the bot
runs meanwhile; the HTTP server serves anyway.

Who is served: over HTTP every request first passes ``adapters.slack.guard``
(signature, content type, body, replays), on its raw bytes. With one bot
token, only the token's own workspace (``auth.test``'s team) is served, in
Socket Mode too (``adapters.slack.workspace``); a command from another gets
a line saying so, and nothing is done.

Network I/O with Slack (HTTPS to the Web API, the HTTP server for Slack's
requests, or Socket Mode's websocket) is this module's only I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.connection import (
    NETWORK_ERRORS,
    RETRY_SECONDS,
    SOCKET_MODE_LOGGER,
    TokenRefused,
    check_token,
    delays,
    describe,
    quiet_library_logs,
    unreachable_line,
)
from adapters.slack.guard import RefusalLog, RequestGuard, middleware
from adapters.slack.notes import note_kwargs
from adapters.slack.history import History, message_ref, metadata_for
from adapters.slack.render import (
    BUTTON_VERBS,
    SlackMessage,
    render_digest,
    render_nothing_new,
    render_reply,
)
from adapters.slack.workspace import OneWorkspace
from bot.chat.commands import is_slow
from bot.config import ConfigError, Settings
from bot.digest.deliver import (
    ChannelUnavailable,
    OnPart,
    PartlySent,
    WorkspaceUnavailable,
)
from bot.model.address import MessageRef, as_address
from bot.digest.updates import THREAD, TOP_LEVEL
from bot.model.messages import Digest, IncomingCommand, NothingNew, PaperNote, Reply

if TYPE_CHECKING:
    from bot.chat.runtime import Bot

__all__ = ["SlackAdapter", "create"]

log = logging.getLogger(__name__)

PLATFORM = "slack"
COMMAND = "/papers"
EVENTS_PATH = "/slack/events"
# Slack waits 3 s for the acknowledgement; leave room for the network.
ACK_WITHIN = 2.0
# Slack takes 5 posts to one response_url (within 30 minutes); a longer
# answer is cut to fit them.
RESPONSE_URL_POSTS = 5
# chat.postMessage: about one message a second per channel.
POST_INTERVAL = 1.0
# How long one attempt to open Socket Mode's websocket may take.
CONNECT_SECONDS = 30.0
# Stopping, answers still being sent (to response_url) get this long to arrive.
ANSWER_DRAIN = 5.0
# What waiting may fix: the network, and Slack's 5xx and 429 (check_token
# raises TokenRefused for any other answer).
_WAIT_AND_RETRY: tuple[type[BaseException], ...] = (*NETWORK_ERRORS, SlackApiError)
_CANNOT_CHECK: tuple[type[BaseException], ...] = (*_WAIT_AND_RETRY, TokenRefused)

_INVITE = "Invite it with /invite @digestbot, then type /papers resume."
CHANNEL_ERRORS = {
    "channel_not_found": "Slack cannot find this channel for digestbot (deleted, or private "
    "without the bot). " + _INVITE,
    "not_in_channel": "digestbot is not a member of this channel. " + _INVITE,
    "is_archived": "This channel is archived. Unarchive it, then type /papers resume.",
}
WORKSPACE_ERRORS = {
    "invalid_auth": "Slack no longer accepts digestbot's token for this workspace",
    "not_authed": "Slack no longer accepts digestbot's token for this workspace",
    "account_inactive": "digestbot's Slack account in this workspace was deactivated",
    "token_revoked": "digestbot's token for this workspace was revoked",
    "token_expired": "digestbot's token for this workspace expired",
    "app_uninstalled": "digestbot was uninstalled from this workspace",
    "team_access_not_granted": "digestbot has no access to this workspace",
}
_REINSTALL = "; reinstall the app, then type /papers resume."
NO_CHANNEL = ("digestbot cannot tell which channel this button is in. Type {command} in a "
              "channel instead.")

def create(settings: Settings) -> SlackAdapter | None:
    """The entry point: a Slack adapter when Slack credentials are in the environment.

    ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` install the app into
    any number of workspaces (OAuth, over HTTP); else ``SLACK_BOT_TOKEN``
    serves one workspace, in Socket Mode (``SLACK_APP_TOKEN``) or over HTTP.
    """
    secrets = settings.secrets
    oauth = bool(secrets.slack_client_id and secrets.slack_client_secret)
    if not secrets.slack_bot_token and not oauth:
        return None
    http = settings.get("slack_http") or oauth
    if http and not secrets.slack_signing_secret:
        raise ConfigError(
            "Slack over HTTP needs SLACK_SIGNING_SECRET (the app's Basic Information page) "
            "to verify Slack's requests."
        )
    if not http and not secrets.slack_app_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set but Socket Mode needs SLACK_APP_TOKEN (xapp-..., with the "
            "connections:write scope); or serve a public URL with --slack-http and "
            "SLACK_SIGNING_SECRET."
        )
    return SlackAdapter(
        bot_token=secrets.slack_bot_token,
        signing_secret=secrets.slack_signing_secret or "",
        app_token=None if http else secrets.slack_app_token,
        api_url=settings.get("slack_api_url"),
        port=settings.get("port"),
        client_id=secrets.slack_client_id if oauth else None,
        client_secret=secrets.slack_client_secret if oauth else None,
    )


def _client(token: str | None, api_url: str,
            kind: type[AsyncWebClient] = AsyncWebClient) -> AsyncWebClient:
    return kind(
        token=token,
        base_url=api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _checker(token: str | None, api_url: str) -> AsyncWebClient:
    # No retry handlers: the attempts that follow a failed check are the adapter's.
    return AsyncWebClient(token=token, base_url=api_url, retry_handlers=[])


def _details(exc: BaseException) -> BaseException | None:
    """The traceback of ``exc`` for the log, only when it logs DEBUG."""
    return exc if log.isEnabledFor(logging.DEBUG) else None


# What Slack answers a reply whose thread's parent message was deleted.
THREAD_GONE = frozenset({"thread_not_found", "message_not_found"})


def _failure(error: str | None) -> ChannelUnavailable | None:
    """The pause a Slack error calls for, if waiting will not fix it."""
    if error in CHANNEL_ERRORS:
        return ChannelUnavailable(CHANNEL_ERRORS[error])
    if error in WORKSPACE_ERRORS:
        return WorkspaceUnavailable(WORKSPACE_ERRORS[error] + _REINSTALL)
    return None


class SlackAdapter:
    """One Slack app: Socket Mode when ``app_token`` is given, else HTTP on ``port``."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        bot_token: str | None,
        signing_secret: str,
        app_token: str | None = None,
        api_url: str = "https://slack.com/api/",
        port: int = 3000,
        host: str = "0.0.0.0",
        client_id: str | None = None,
        client_secret: str | None = None,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` (seconds since 1970) judges the age of Slack's signatures,
        ``monotonic`` how long they are remembered and how often refused
        requests are logged."""
        if not bot_token and not (client_id and client_secret):
            raise ValueError("a bot token, or an OAuth client id and secret, is needed")
        self._bot_token = bot_token
        self._signing_secret = signing_secret
        self._app_token = app_token
        self._api_url = api_url
        self._client_id = client_id
        self._client_secret = client_secret
        self.port = port
        self.host = host
        self.app: AsyncApp | None = None
        self._bot: Bot | None = None
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        self._installations: Any = None
        # Web API clients by workspace; with one bot token, one for all.
        self._clients: dict[str, AsyncWebClient] = {}
        self._last_post: dict[str, float] = {}
        self._history = History()
        self._retry_seconds = retry_seconds
        self._connecting: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._failed = asyncio.Event()  # an attempt to connect failed
        self._started = False
        # Commands and buttons being answered: stopping waits for them.
        self._answering: set[asyncio.Task[Any]] = set()
        self._refusals = RefusalLog(monotonic=monotonic)
        # Over HTTP, each request passes this before bolt reads it.
        self._guard = (RequestGuard(signing_secret, refusals=self._refusals, clock=clock,
                                    monotonic=monotonic)
                       if app_token is None else None)
        # With one bot token, bolt then serves only its workspace.
        self._workspace = OneWorkspace(check=self._check_bot_token, cannot_check=_CANNOT_CHECK,
                                       refusals=self._refusals)
        quiet_library_logs()

    def _build_app(self, bot: Bot) -> AsyncApp:
        settings = None
        client = _client(self._bot_token, self._api_url)
        if self._client_id and self._client_secret:
            from adapters.slack.oauth import InstallClient, oauth_settings

            # The installation store lives in the bot's own database.
            settings = oauth_settings(
                client_id=self._client_id,
                client_secret=self._client_secret,
                engine=bot.service.db.engine,
                api_url=self._api_url,
            )
            self._installations = settings.installation_store
            client = _client(None, self._api_url, InstallClient)
        app = AsyncApp(
            client=client,
            signing_secret=self._signing_secret,
            oauth_settings=settings,
            # Socket Mode requests come over our own authenticated websocket.
            request_verification_enabled=self._app_token is None,
        )
        if settings is None:
            app.middleware(self._workspace.middleware)
        app.command(COMMAND)(self._on_command)
        for action_id in BUTTON_VERBS:
            app.action(action_id)(self._on_button)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)
        return app

    # -- running -------------------------------------------------------------

    async def start(self, bot: Bot) -> None:
        self._bot = bot
        self.app = self._build_app(bot)
        if self._app_token:
            # Imported here: Socket Mode's websocket client is needed only here.
            from slack_bolt.adapter.socket_mode.async_handler import (
                AsyncSocketModeHandler,
            )

            self._socket = AsyncSocketModeHandler(
                self.app, self._app_token, logger=logging.getLogger(SOCKET_MODE_LOGGER),
                web_client=_client(self._app_token, self._api_url),
            )
            await self._start_socket_mode()
            return
        if self._bot_token:
            try:
                await self._check_bot_token()
            except _WAIT_AND_RETRY as exc:
                # Slack's requests come in whether or not it answers us now.
                log.warning("Slack unreachable (%s); serving %s anyway", describe(exc),
                            EVENTS_PATH, exc_info=_details(exc))
        # With OAuth this also serves /slack/install and /slack/oauth_redirect.
        server = self.app.web_app(path=EVENTS_PATH, port=self.port)
        assert self._guard is not None
        server.middlewares.append(middleware(self._guard, EVENTS_PATH))
        self._runner = web.AppRunner(server)
        await self._runner.setup()
        await web.TCPSite(self._runner, host=self.host, port=self.port).start()
        log.info("Slack: serving %s on port %s", EVENTS_PATH, self.bound_port)

    async def _start_socket_mode(self) -> None:
        """Return once connected, or once the first attempt failed (the next ones follow)."""
        self._connecting = asyncio.create_task(self._run_socket_mode())
        waits = {asyncio.ensure_future(self._connected.wait()),
                 asyncio.ensure_future(self._failed.wait())}
        done, _ = await asyncio.wait({*waits, self._connecting},
                                     return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if self._connecting in done:
            self._connecting.result()  # raises why it cannot connect (TokenRefused)
        self._started = True

    async def _run_socket_mode(self) -> None:
        try:
            await self._connect_socket_mode()
        except TokenRefused as exc:
            if not self._started:
                raise  # start() hands it on: the bot stops with this one line
            log.error("%s; Slack stays off until digestbot restarts", exc)
            await self._socket.close_async()

    async def _connect_socket_mode(self) -> None:
        """Check the tokens and open the websocket, again while Slack is unreachable.

        Once connected, slack_sdk's client keeps the websocket up by itself.
        """
        assert self._app_token is not None and self._socket is not None
        waits = delays(self._retry_seconds)
        while True:
            try:
                await self._check_bot_token()
                opened = await check_token(
                    "SLACK_APP_TOKEN",
                    _checker(None, self._api_url).apps_connections_open(
                        app_token=self._app_token),
                )
                self._socket.client.wss_uri = opened["url"]
                await asyncio.wait_for(self._socket.connect_async(), CONNECT_SECONDS)
                break
            except _WAIT_AND_RETRY as exc:
                delay = next(waits)
                log.warning(unreachable_line(exc, delay), exc_info=_details(exc))
                self._failed.set()
                await asyncio.sleep(delay)
        self._connected.set()
        log.info("Slack: connected in Socket Mode")

    async def _check_bot_token(self) -> None:
        """``auth.test`` with the bot token: TokenRefused if Slack will not take it.

        Its answer names the workspace the token serves.
        """
        if self._bot_token:
            answer = await check_token("SLACK_BOT_TOKEN",
                                       _checker(self._bot_token, self._api_url).auth_test())
            self._workspace.learnt(answer)

    @property
    def bound_port(self) -> int | None:
        """The HTTP server's port (useful when ``port`` was 0)."""
        if self._runner is None or not self._runner.addresses:
            return None
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()  # it may be waiting to try again
            await asyncio.wait({self._connecting})
        if self._socket is not None:
            await self._socket.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._drain()
        self._refusals.flush()

    async def _drain(self) -> None:
        """Let the answers being sent arrive; give up on those still going after ``ANSWER_DRAIN``."""
        if not self._answering:
            return
        _, going = await asyncio.wait(set(self._answering), timeout=ANSWER_DRAIN)
        if going:
            log.warning("Slack: stopping gave up %d answer(s) still being sent after %.1f s",
                        len(going), ANSWER_DRAIN)
            for task in going:
                task.cancel()
            await asyncio.wait(going)

    async def is_connected(self) -> bool:
        """Socket Mode: the websocket is up (slack_sdk reconnects it); HTTP: the server listens."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self.bound_port is not None

    # -- posting -------------------------------------------------------------

    async def post(
        self, message: Digest | NothingNew, *,
        on_part: OnPart | None = None,
    ) -> int:
        address = as_address(message.channel)
        client = await self._client_for(address.workspace)
        if isinstance(message, Digest) and message.maybe_posted:
            shown = await self._history.already_posted(client, address.channel, message)
            if shown:
                log.info("Slack: %d papers of the digest interrupted in %s are there already; "
                         "not posted again", len(shown), message.channel)
                if on_part is not None:
                    # One report per message found, naming it.
                    by_message: dict[str | None, list[str]] = {}
                    for paper_id in message.maybe_posted:
                        if paper_id in shown:
                            by_message.setdefault(shown[paper_id], []).append(paper_id)
                    for ts, paper_ids in by_message.items():
                        on_part(paper_ids,
                                None if ts is None else message_ref(address.channel, ts))
                message = message.without(set(shown))
                if not message.items:
                    return 0
        if isinstance(message, Digest):
            messages = render_digest(message)
        else:
            messages = [render_nothing_new(message)]
        posted: list[str] = []
        for part in messages:
            await self._pace(address.channel)
            try:
                ref = await self._post_part(client, address.channel, part)
            except SlackApiError as exc:
                failure = _failure(exc.response.get("error"))
                if isinstance(failure, WorkspaceUnavailable):
                    self._clients.pop(address.workspace, None)
                cause: Exception = failure or exc
                if posted:
                    raise PartlySent(posted, cause) from exc
                raise cause from exc
            except Exception as exc:
                if posted:
                    raise PartlySent(posted, exc) from exc
                raise
            posted.extend(part.paper_ids)
            if on_part is not None:
                on_part(part.paper_ids, ref)
        return len(messages)

    async def post_note(self, note: PaperNote) -> str:
        """Post ``note`` in the thread of the digest message it names (``thread_ts``).

        When Slack says that message is gone, the note goes to the channel
        itself, saying so; a channel the app can no longer post to raises
        ``ChannelUnavailable`` as a digest's post does.
        """
        client = await self._client_for(note.channel.workspace)
        await self._pace(note.channel.channel)
        try:
            await client.chat_postMessage(channel=note.thread.channel, thread_ts=note.thread.id,
                                          **note_kwargs(note))
            return THREAD
        except SlackApiError as exc:
            error = exc.response.get("error")
            failure = _failure(error)
            if failure is not None:
                raise failure from exc
            if error not in THREAD_GONE:
                raise
        log.info("Slack: the digest message %s in %s is gone; its paper's note goes to the "
                 "channel", note.thread.id, note.channel)
        try:
            await client.chat_postMessage(channel=note.channel.channel,
                                          **note_kwargs(note, top_level=True))
        except SlackApiError as exc:
            failure = _failure(exc.response.get("error"))
            if failure is not None:
                raise failure from exc
            raise
        return TOP_LEVEL

    async def _client_for(self, team: str) -> AsyncWebClient:
        """The Web API client holding ``team``'s bot token."""
        client = self._clients.get(team)
        if client is not None:
            return client
        token = self._bot_token
        if self._installations is not None:
            installed = await self._installations.async_find_bot(enterprise_id=None, team_id=team)
            token = installed.bot_token if installed is not None else None
        if not token:
            raise WorkspaceUnavailable(
                "digestbot is not installed in this Slack workspace; install it from the bot's "
                "/slack/install page, then type /papers resume."
            )
        client = self._clients[team] = _client(token, self._api_url)
        return client

    async def _post_part(
        self, client: AsyncWebClient, channel: str, part: SlackMessage
    ) -> MessageRef | None:
        """Post one message; returns the message Slack made (None: its answer named none)."""
        kwargs = part.post_message_kwargs()
        metadata = metadata_for(part.paper_ids)  # read back after a crash (adapters.slack.history)
        if metadata is not None:
            kwargs["metadata"] = metadata
        try:
            answer = await client.chat_postMessage(channel=channel, **kwargs)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
            # A public channel the bot was never invited to: join it (the
            # channels:join scope) and post again. A private one refuses,
            # and the original error stands.
            try:
                await client.conversations_join(channel=channel)
            except SlackApiError:
                raise exc from None
            log.info("Slack: joined %s to post its digest", channel)
            answer = await client.chat_postMessage(channel=channel, **kwargs)
        ts, posted_in = answer.get("ts"), answer.get("channel")
        if not isinstance(ts, str):
            return None
        return message_ref(posted_in if isinstance(posted_in, str) else channel, ts)

    async def _pace(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None:
            wait = last + POST_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_post[channel] = time.monotonic()

    # -- inbound -------------------------------------------------------------

    def _incoming(self, *, team: str, channel: str, user: str, text: str,
                  name: str = "") -> IncomingCommand:
        return IncomingCommand(
            platform=PLATFORM, workspace_id=team, channel_id=channel, user_id=user, text=text,
            user_name=name,
        )

    @contextlib.contextmanager
    def _answer(self) -> Iterator[None]:
        """Mark the running task as answering a user until the block ends (see ``stop``)."""
        task = asyncio.current_task()
        assert task is not None
        self._answering.add(task)
        try:
            yield
        finally:
            self._answering.discard(task)

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        with self._answer():
            await self._command(ack, command, respond)

    async def _command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        assert self._bot is not None
        incoming = self._incoming(
            team=command["team_id"],
            channel=command["channel_id"],
            user=command["user_id"],
            text=command.get("text") or "",
            name=_name(command.get("user_name")),
        )
        answer = asyncio.ensure_future(self._bot.handle(incoming))
        if not is_slow(incoming.text):
            try:
                reply = await asyncio.wait_for(asyncio.shield(answer), ACK_WITHIN)
            except TimeoutError:
                pass
            else:
                # The acknowledgement, then what response_url takes.
                first, *rest = render_reply(reply, at_most=1 + RESPONSE_URL_POSTS)
                await ack(**_response(first, reply))
                await _respond_all(respond, rest, reply)
                return
        await ack(response_type="ephemeral", text="Working on it…")
        reply = await answer
        await _respond_all(respond, render_reply(reply, at_most=RESPONSE_URL_POSTS), reply)

    async def _on_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                         respond: Any) -> None:
        with self._answer():
            await self._button(ack, body, action, respond)

    async def _button(self, ack: Any, body: dict[str, Any], action: dict[str, Any],
                      respond: Any) -> None:
        await ack()
        assert self._bot is not None
        verb = BUTTON_VERBS[action["action_id"]]
        text = f"{verb} {action.get('value', '')}"
        team = (body.get("team") or {}).get("id") or body["user"].get("team_id", "")
        channel = ((body.get("channel") or {}).get("id")
                   or (body.get("container") or {}).get("channel_id"))
        if not (team and channel):
            # A button outside a channel's message (a view): no channel to answer for.
            line = NO_CHANNEL.format(command=f"{COMMAND} {text}"[:200])
            if body.get("response_url"):
                await respond(text=line, response_type="ephemeral", replace_original=False)
            else:
                log.info("Slack: a %s button outside a channel, with nowhere to answer", verb)
            return
        user = body["user"]
        # Block actions carry both "username" and "name" (the same in Slack's samples);
        # take either, so a payload with one of them still names the clicker.
        incoming = self._incoming(team=team, channel=channel, user=user["id"], text=text,
                                  name=_name(user.get("username")) or _name(user.get("name")))
        reply = await self._bot.handle(incoming)
        await _respond_all(respond, render_reply(reply, at_most=RESPONSE_URL_POSTS), reply)

    async def _on_uninstalled(self, body: dict[str, Any]) -> None:
        assert self._bot is not None
        team = body.get("team_id", "")
        event = (body.get("event") or {}).get("type", "app_uninstalled")
        reason = WORKSPACE_ERRORS.get(event, WORKSPACE_ERRORS["app_uninstalled"]) + _REINSTALL
        await self._bot.workspace_gone(PLATFORM, team, reason=reason)


def _name(value: object) -> str:
    """A Slack user name from a payload, "" when absent or blank (the core then shows the id)."""
    return value.strip() if isinstance(value, str) else ""


def _response(message: SlackMessage, reply: Reply) -> dict[str, Any]:
    return {
        "response_type": "ephemeral" if reply.ephemeral else "in_channel",
        "text": message.text,
        "blocks": list(message.blocks),
    }


async def _respond_all(respond: Any, messages: list[SlackMessage], reply: Reply) -> None:
    for message in messages:
        await respond(replace_original=False, **_response(message, reply))
