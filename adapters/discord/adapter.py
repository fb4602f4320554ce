"""The Discord adapter: a discord.py client in the bot's event loop.

Two translations around the core (``bot.chat.runtime.Bot``): a ``/papers``
subcommand or a button click becomes an ``IncomingCommand``, with the
person's name as the server shows it (what a reading list says saved a
paper); a reply or a digest becomes embeds (``adapters.discord.render``). The ``/papers`` group
is generated from the core's command table (``bot.chat.commands.COMMANDS``):
each subcommand takes its one free-text argument and hands
``"<name> <text>"`` to the core, so arguments are parsed only there.

Discord waits 3 seconds for an interaction's first answer: commands the
core marks slow (``digest``) are deferred first; any other answer not ready
in ``ACK_WITHIN`` seconds is deferred and followed up. Commands that change
a channel need the Manage Channels permission, both as the group's default
member permissions (what Discord shows) and checked again at run time.

Posting: every send carries allowed mentions none and a nonce derived from
the delivery (discord.py sets ``enforce_nonce``), so a retried send is not
duplicated by Discord. Sends are spread (``SEND_INTERVAL`` apart, across
the whole bot) so that 1,000 channels due at the same minute never trip
Discord's global limit; rate limits themselves are discord.py's. 403 and
404 pause the channel, a 401 (the token refused once running) and removal
from a server pause all the server's channels, with a reason the next
``/papers`` there shows; the papers stay in the ledger.

Connecting: while Discord cannot be reached the adapter logs one line per
attempt and tries again (``adapters.discord.connection``); ``start``
returns after the first failed attempt, so the rest of the bot runs
meanwhile. A token Discord refuses stops the bot at start
(``TokenRefused``, one line), or only this adapter once the bot runs.

Network I/O with Discord (REST and the gateway websocket) is this module's
only I/O.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import zoneinfo
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord import app_commands

from adapters.discord.connection import (
    NETWORK_ERRORS,
    RETRY_SECONDS,
    TokenRefused,
    delays,
    quiet_library_logs,
    unreachable_line,
)
from adapters.discord.message import BUTTON_LABELS, BUTTON_VERBS
from adapters.discord.render import (
    CUSTOM_ID_TEMPLATE,
    NO_MENTIONS,
    DiscordMessage,
    render_digest,
    render_nothing_new,
    render_reply,
)
from adapters.discord.notes import note_content
from bot.chat.commands import COMMANDS, Command, command_named, is_slow, needs_manager
from bot.config import Settings
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

__all__ = ["INVITE_PERMISSIONS", "DiscordAdapter", "create", "nonce_for", "point_at", "view_for"]

log = logging.getLogger(__name__)

PLATFORM = "discord"
GROUP = "papers"
# What the bot needs in a channel (the README's invite URL asks for these):
# see it, post in it, and show each paper as an embed.
INVITE_PERMISSIONS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
# Discord waits 3 s for an interaction's first answer.
ACK_WITHIN = 2.0
# Discord allows about 50 requests a second for a whole bot; stay well below.
SEND_INTERVAL = 1 / 25

_FIX = "Give the bot {what} in this channel, then type /papers resume."
_MISSING = {
    50001: _FIX.format(what="access (View Channel)"),
    50013: _FIX.format(what="the Send Messages and Embed Links permissions"),
}
_GONE = ("This channel no longer exists for digestbot (deleted, or the bot cannot see it). "
         "If it is still there, give the bot access (View Channel) to it, then type "
         "/papers resume.")
# A 401 once running: the token was reset or the bot deleted in the developer portal.
_REFUSED = ("Discord refused digestbot's token (401): put the bot's current token in "
            "DISCORD_TOKEN and restart digestbot, then type /papers resume.")
_REMOVED = "digestbot was removed from this server; invite it again, then type /papers resume."
_NEEDS_MANAGE = (
    "Only members who can manage this channel (the Manage Channels permission) can use "
    "/papers {name}; ask one of them."
)


def create(settings: Settings) -> DiscordAdapter | None:
    """The entry point: a Discord adapter when ``DISCORD_TOKEN`` is in the environment."""
    token = settings.secrets.discord_token
    if not token:
        return None
    return DiscordAdapter(
        token=token,
        api_url=settings.get("discord_api_url"),
        gateway_url=settings.get("discord_gateway_url"),
        dev_guild=settings.get("discord_dev_guild") or None,
    )


def point_at(api_url: str, gateway_url: str) -> None:
    """Point discord.py at Discord (or a proxy, or a fake) before it connects.

    discord.py reads its REST base from ``Route.BASE`` and connects a plain
    ``Client`` straight to ``DiscordWebSocket.DEFAULT_GATEWAY``; both are
    class attributes, set here in one place.
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def view_for(message: DiscordMessage) -> discord.ui.View | None:
    """The buttons of a message (Abstract, More like this, 👍, 👎, Save), one row per paper."""
    if not message.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for buttons in message.buttons:
        for kind, _, label in buttons.each():
            view.add_item(_Button(kind, buttons.paper_id, label=label, row=buttons.row))
    return view


def _reference_gone(exc: discord.HTTPException) -> bool:
    """Whether Discord refused a reply because the message it answers is gone.

    Discord says so as an invalid form body (50035) whose ``message_reference``
    field has an unknown message (10008 once, MESSAGE_REFERENCE_UNKNOWN_MESSAGE now).
    """
    text = str(exc.text or "")
    return exc.code == 50035 and "message_reference" in text or exc.code == 10008


def _send_kwargs(message: DiscordMessage) -> dict[str, Any]:
    kwargs = message.send_kwargs()
    view = view_for(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


def nonce_for(channel: str, message: DiscordMessage, part: int) -> str:
    """The same delivery always gets the same nonce (Discord allows 25 characters).

    A digest message is known by its papers alone: the digest that finishes
    an interrupted one starts with the message that was cut off, whatever
    its place was then.
    """
    key = f"{channel}|{','.join(message.paper_ids)}" if message.paper_ids else \
        f"{channel}|{part}|{message.content}"
    return str(int(hashlib.sha256(key.encode()).hexdigest()[:15], 16))


# Discord's jump URL, from ids alone: discord.py's ``Message.jump_url`` says
# "@me" for a channel it fetched without its guild.
JUMP_URL = "https://discord.com/channels/{guild}/{channel}/{message}"


def _message_ref(guild: str, sent: discord.Message) -> MessageRef:
    """The digest message Discord made, as the ledger keeps it."""
    channel = str(sent.channel.id)
    return MessageRef(channel=channel, id=str(sent.id),
                      link=JUMP_URL.format(guild=guild, channel=channel, message=sent.id))


def _display_name(user: discord.User | discord.Member) -> str:
    """The name the server shows for ``user``: nickname, else global name, else user name.

    discord.py's ``display_name`` picks among them (a ``User`` outside a
    server has no nickname); "" if Discord sent none, and the core shows the id.
    """
    return (user.display_name or "").strip()


class _Button(discord.ui.DynamicItem[discord.ui.Button[Any]], template=CUSTOM_ID_TEMPLATE):
    """One of a paper's buttons (``BUTTON_KINDS``), answered even after a restart.

    Every kind answers privately: a click is one person's question, vote or
    save, and the channel need not see it.
    """

    adapter: DiscordAdapter | None = None

    def __init__(self, kind: str, paper_id: str, *, label: str | None = None,
                 row: int | None = None) -> None:
        super().__init__(discord.ui.Button(
            label=label or BUTTON_LABELS[kind],
            style=discord.ButtonStyle.secondary,
            custom_id=f"digestbot:{kind}:{paper_id}",
            row=row,
        ))
        self.kind = kind
        self.paper_id = paper_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /
    ) -> _Button:
        return cls(match["kind"], match["paper_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.adapter is not None
        verb = BUTTON_VERBS[self.kind]
        await self.adapter.answer(interaction, f"{verb} {self.paper_id}", ephemeral=True)


class DiscordAdapter:
    """A discord.py ``Client`` with the ``/papers`` command group."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        token: str,
        api_url: str = "https://discord.com/api/v10",
        gateway_url: str = "wss://gateway.discord.gg/",
        dev_guild: int | None = None,
        guild_ready_timeout: float = 2.0,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
    ) -> None:
        self._token = token
        self._api_url = api_url
        self._gateway_url = gateway_url
        self._dev_guild = dev_guild
        self._guild_ready_timeout = guild_ready_timeout
        self._retry_seconds = retry_seconds
        self._bot: Bot | None = None
        quiet_library_logs()
        self.client, self.tree = self._new_client()
        self._ready = asyncio.Event()
        self._failed = asyncio.Event()  # an attempt to connect failed
        self._started = False
        self._runner: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._last_send = 0.0

    def _new_client(self) -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
        # No privileged intents: slash commands and buttons need none.
        client = discord.Client(
            intents=discord.Intents.default(), guild_ready_timeout=self._guild_ready_timeout
        )
        tree = app_commands.CommandTree(client)
        tree.add_command(self._group())
        client.setup_hook = self._setup  # type: ignore[method-assign]
        client.event(self.on_guild_remove)
        client.event(self.on_ready)
        client.event(self.on_disconnect)
        client.add_dynamic_items(_Button)
        return client, tree

    # -- running -------------------------------------------------------------

    async def start(self, bot: Bot) -> None:
        """Return once connected, or once the first attempt failed (the next ones follow)."""
        self._bot = bot
        _Button.adapter = self
        point_at(self._api_url, self._gateway_url)
        self._runner = asyncio.create_task(self._run())
        waits = {asyncio.ensure_future(self._ready.wait()),
                 asyncio.ensure_future(self._failed.wait())}
        done, _ = await asyncio.wait({*waits, self._runner}, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()
        if self._runner in done:
            self._runner.result()  # raises why it cannot connect (TokenRefused)
            raise RuntimeError("the Discord client stopped before it was ready")
        self._started = True

    async def _run(self) -> None:
        try:
            await self._connect()
        except TokenRefused as exc:
            if not self._started:
                raise  # start() hands it on: the bot stops with this one line
            log.error("%s; Discord stays off until digestbot restarts", exc)
            await self.client.close()
        except Exception:
            if not self._started:
                raise
            log.exception("the Discord connection ended; Discord stays off until digestbot "
                          "restarts")
            await self.client.close()

    async def _connect(self) -> None:
        """Log in, again while Discord is unreachable; then the gateway, which discord.py
        reconnects by itself."""
        waits = delays(self._retry_seconds)
        while True:
            try:
                await self.client.login(self._token)
                break
            except discord.LoginFailure as exc:
                raise TokenRefused(401) from exc
            except NETWORK_ERRORS as exc:
                delay = next(waits)
                log.warning(unreachable_line(exc, delay),
                            exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
                self._failed.set()
                # A client whose login failed half-way is not reused: a fresh one.
                await self.client.close()
                self.client, self.tree = self._new_client()
                await asyncio.sleep(delay)
        try:
            await self.client.connect(reconnect=True)
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:  # Authentication failed
                raise TokenRefused(4004) from exc
            raise

    async def _setup(self) -> None:
        if self._dev_guild:
            guild = discord.Object(id=self._dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        await self.tree.sync()

    async def on_ready(self) -> None:
        log.info("Discord: connected as %s", self.client.user)
        self._ready.set()

    async def on_disconnect(self) -> None:
        # discord.py reconnects the gateway itself (logging one line each
        # time); before the first ready, start() need not wait for it.
        if not self._ready.is_set():
            self._failed.set()

    async def is_connected(self) -> bool:
        """Ready, and the gateway websocket open (discord.py reconnects it when it drops)."""
        ws = self.client.ws
        return self.client.is_ready() and not self.client.is_closed() and ws is not None \
            and ws.open

    async def stop(self) -> None:
        runner = self._runner
        if runner is not None:
            runner.cancel()  # it may be waiting to try again
        await self.client.close()
        if runner is not None:
            await asyncio.wait({runner})
            if not runner.cancelled() and runner.exception() is not None:
                # Closing: whatever the client raised is moot.
                log.debug("Discord client ended with an error", exc_info=runner.exception())

    # -- posting -------------------------------------------------------------

    async def post(
        self, message: Digest | NothingNew, *,
        on_part: OnPart | None = None,
    ) -> int:
        if not self.client.is_ready():
            # Not a ChannelUnavailable: the channel is fine, the papers wait.
            raise ConnectionError("Discord is not connected")
        address = as_address(message.channel)
        messages = render_digest(message) if isinstance(message, Digest) else [
            render_nothing_new(message)
        ]
        channel = await self._channel(int(address.channel))
        posted: list[str] = []
        for part, rendered in enumerate(messages):
            await self._spread()
            try:
                sent = await channel.send(**_send_kwargs(rendered),
                                          nonce=nonce_for(message.channel, rendered, part))
            except discord.Forbidden as exc:
                cause: Exception = ChannelUnavailable(_MISSING.get(exc.code, _MISSING[50013]))
                raise (PartlySent(posted, cause) if posted else cause) from exc
            except discord.NotFound as exc:
                cause = ChannelUnavailable(_GONE)
                raise (PartlySent(posted, cause) if posted else cause) from exc
            except discord.HTTPException as exc:
                cause = WorkspaceUnavailable(_REFUSED) if exc.status == 401 else exc
                raise (PartlySent(posted, cause) if posted else cause) from exc
            except Exception as exc:
                if posted:
                    raise PartlySent(posted, exc) from exc
                raise
            posted.extend(rendered.paper_ids)
            if on_part is not None:
                on_part(rendered.paper_ids, _message_ref(address.workspace, sent))
        return len(messages)

    async def post_note(self, note: PaperNote) -> str:
        """Post ``note`` as a reply to the digest message it names (``message_reference``).

        When Discord says that message is gone, the note goes to the channel
        itself, saying so; a channel the bot can no longer post to raises
        ``ChannelUnavailable`` as a digest's post does.
        """
        if not self.client.is_ready():
            raise ConnectionError("not connected to Discord")
        channel = await self._channel(int(note.thread.channel))
        reference = discord.MessageReference(message_id=int(note.thread.id),
                                             channel_id=int(note.thread.channel),
                                             fail_if_not_exists=True)
        for top_level in (False, True):
            await self._spread()
            try:
                replying: dict[str, Any] = {} if top_level else {"reference": reference}
                await channel.send(
                    note_content(note, top_level=top_level), mention_author=False,
                    allowed_mentions=discord.AllowedMentions.none(), suppress_embeds=True,
                    **replying)
                return TOP_LEVEL if top_level else THREAD
            except discord.Forbidden as exc:
                raise ChannelUnavailable(_MISSING.get(exc.code, _MISSING[50013])) from exc
            except discord.NotFound as exc:
                raise ChannelUnavailable(_GONE) from exc
            except discord.HTTPException as exc:
                if exc.status == 401:
                    raise WorkspaceUnavailable(_REFUSED) from exc
                if top_level or not _reference_gone(exc):
                    raise
            log.info("Discord: the digest message %s in %s is gone; its paper's note goes to "
                     "the channel", note.thread.id, note.channel)
        raise AssertionError("unreachable")

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.NotFound as exc:
                raise ChannelUnavailable(_GONE) from exc
            except discord.Forbidden as exc:
                raise ChannelUnavailable(_MISSING[50001]) from exc
            except discord.HTTPException as exc:
                if exc.status == 401:
                    raise WorkspaceUnavailable(_REFUSED) from exc
                raise
        if not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable("digestbot can only post digests in text channels.")
        return channel

    async def _spread(self) -> None:
        # One send every SEND_INTERVAL across all channels: a digest hour with
        # 1,000 channels takes 40 s and never nears Discord's global limit.
        async with self._send_lock:
            wait = self._last_send + SEND_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_send = time.monotonic()

    # -- inbound -------------------------------------------------------------

    def _group(self) -> app_commands.Group:
        group = app_commands.Group(
            name=GROUP,
            description="Research paper digests: search, follow topics, schedule",
            guild_only=True,
        )
        for command in COMMANDS:
            group.add_command(self._subcommand(command))
        return group

    def _subcommand(self, spec: Command) -> app_commands.Command[Any, Any, Any]:
        name = spec.name

        async def without_argument(interaction: discord.Interaction[Any]) -> None:
            await self.answer(interaction, name)

        async def required(interaction: discord.Interaction[Any], text: str) -> None:
            await self.answer(interaction, f"{name} {text}")

        async def optional(interaction: discord.Interaction[Any], text: str | None = None) -> None:
            await self.answer(interaction, f"{name} {text or ''}".strip())

        callback: Callable[..., Coroutine[Any, Any, None]]
        if spec.argument is None:
            callback = without_argument
        else:
            callback = optional if spec.optional else required
            callback = app_commands.rename(text=spec.argument)(callback)
            callback = app_commands.describe(text=spec.usage)(callback)
        command: app_commands.Command[Any, Any, Any] = app_commands.Command(
            name=name, description=spec.summary[:100], callback=callback
        )
        if name == "unsubscribe":
            command.autocomplete("text")(self._topics_choices)
        elif name == "schedule":
            command.autocomplete("text")(self._schedule_choices)
        return command

    def _incoming(self, interaction: discord.Interaction[Any], text: str) -> IncomingCommand:
        return IncomingCommand(
            platform=PLATFORM,
            workspace_id=str(interaction.guild_id or "dm"),
            channel_id=str(interaction.channel_id),
            user_id=str(interaction.user.id),
            text=text,
            user_name=_display_name(interaction.user),
        )

    async def answer(self, interaction: discord.Interaction[Any], text: str, *,
                     ephemeral: bool | None = None) -> None:
        """Hand ``text`` to the core and answer the interaction in time."""
        assert self._bot is not None
        spec = command_named(text.partition(" ")[0])
        if spec is not None and needs_manager(text) and not interaction.permissions.manage_channels:
            await interaction.response.send_message(
                _NEEDS_MANAGE.format(name=spec.name), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        work = asyncio.ensure_future(self._bot.handle(self._incoming(interaction, text)))
        reply: Reply | None = None
        if not is_slow(text):
            try:
                reply = await asyncio.wait_for(asyncio.shield(work), ACK_WITHIN)
            except TimeoutError:
                reply = None
        private = True if ephemeral is None else ephemeral
        if reply is None:
            await interaction.response.defer(ephemeral=private, thinking=True)
            reply = await work
            private = reply.ephemeral if ephemeral is None else ephemeral
            for rendered in render_reply(reply):
                await interaction.followup.send(**_send_kwargs(rendered), ephemeral=private)
            return
        private = reply.ephemeral if ephemeral is None else ephemeral
        first, *rest = render_reply(reply)
        await interaction.response.send_message(**_send_kwargs(first), ephemeral=private)
        for rendered in rest:
            await interaction.followup.send(**_send_kwargs(rendered), ephemeral=private)

    async def _topics_choices(self, interaction: discord.Interaction[Any],
                              current: str) -> list[app_commands.Choice[str]]:
        assert self._bot is not None
        address = self._incoming(interaction, "").address
        topics = await asyncio.to_thread(self._bot.service.channels.topics, address)
        wanted = current.casefold()
        return [app_commands.Choice(name=t[:100], value=t[:100])
                for t in topics if wanted in t.casefold()][:25]

    async def _schedule_choices(self, interaction: discord.Interaction[Any],
                                current: str) -> list[app_commands.Choice[str]]:
        # "08:30 Europe/Be" -> the time kept, time zones completed.
        head, _, tail = current.rpartition(" ")
        prefix = f"{head} " if head else ""
        wanted = tail.casefold()
        zones = sorted(z for z in zoneinfo.available_timezones() if wanted in z.casefold())
        return [app_commands.Choice(name=(prefix + z)[:100], value=(prefix + z)[:100])
                for z in zones[:25]]

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        assert self._bot is not None
        await self._bot.workspace_gone(PLATFORM, str(guild.id), reason=_REMOVED)
