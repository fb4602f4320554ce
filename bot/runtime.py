"""The running bot: the scheduler and the chat adapters in one asyncio process.

``digestbot run`` builds a ``Bot`` from the adapters registered under the
``digestbot.adapters`` entry-point group (``pyproject.toml``), so the core
never imports ``adapters/`` and a new platform can arrive as a separate
package. Adapters, the scheduler and the core share one event loop; the
synchronous core runs in worker threads (``asyncio.to_thread``), so a slow
digest never stalls a platform's 3-second answer.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from importlib.metadata import entry_points
from typing import Protocol

from bot.commands import IncomingCommand
from bot.config import Settings
from bot.messages import Digest, NothingNew, Reply
from bot.scheduler import DigestScheduler
from bot.service import Service
from bot.subscriptions import ChannelInfo, parse_address

__all__ = ["ENTRY_POINT_GROUP", "Adapter", "AdapterFactory", "Bot", "adapter_factories"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "digestbot.adapters"
# How long a digest post may take before the core counts it as failed (and
# keeps its papers for the next run).
POST_TIMEOUT = 120.0


class Adapter(Protocol):
    """A chat platform as the core sees it.

    ``platform`` is the PLATFORM part of the channel addresses it serves
    (``slack``, ``discord``, ``console``).

    - ``start`` MUST connect, then turn each ``/papers`` event into an
      ``IncomingCommand`` and answer it with what ``Bot.handle`` returns,
      rendered for the platform. It MUST return once connected (long-lived
      work goes in tasks) and raise if it cannot connect.
    - ``post`` MUST deliver a ``Digest`` or ``NothingNew`` to the channel
      named by its ``channel`` address and return only once the platform has
      accepted it. It MUST raise ``bot.service.ChannelUnavailable`` when the
      channel can take no posts (bot removed, channel deleted, permission
      revoked: the channel is paused with that reason), and any other
      exception for a failure worth retrying (the papers stay in the ledger).
      It MAY split a digest into several platform messages.
    - ``stop`` MUST close the connections; it MAY be called without ``start``.
    - An adapter MUST NOT interpret command arguments, select papers or
      touch the core's tables: those are the core's. It MAY keep its
      platform's own records in the same database through
      ``bot.service.db.engine`` (Slack's installation store does, in tables
      the migrations create).
    """

    platform: str

    async def start(self, bot: Bot) -> None: ...

    async def post(self, message: Digest | NothingNew) -> None: ...

    async def stop(self) -> None: ...


# An entry point of the group names one of these: it returns the adapter
# when its platform is configured (tokens present), else None.
AdapterFactory = Callable[[Settings], Adapter | None]


def adapter_factories() -> dict[str, AdapterFactory]:
    """The installed adapters by name."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


class Bot:
    """The core as the adapters see it while the bot runs."""

    def __init__(
        self,
        *,
        service: Service,
        adapters: Sequence[Adapter],
        clock: Callable[[], datetime],
        catch_up: timedelta = timedelta(hours=6),
        ingest_every: timedelta | None = timedelta(hours=1),
    ) -> None:
        self.service = service
        self.adapters = {adapter.platform: adapter for adapter in adapters}
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self.scheduler = DigestScheduler(
            channels=self._channels,
            run=lambda due: service.run_scheduled(due, send=self._post),
            clock=clock,
            grace=catch_up,
            ingest=self._ingest if ingest_every else None,
            ingest_every=ingest_every or timedelta(hours=1),
            interrupted=self._interrupted,
        )

    # -- for adapters --------------------------------------------------------

    async def handle(self, command: IncomingCommand) -> Reply:
        """Answer a ``/papers`` command; a digest it asks for is posted through ``post``."""
        reply = await asyncio.to_thread(self.service.handle, command, send=self._post)
        # The command may have changed the channel's schedule, topics or pause.
        info = await asyncio.to_thread(self.service.channel_info, command.address)
        self.scheduler.update(command.address, info if info and self._serves(info) else None)
        return reply

    async def workspace_gone(self, platform: str, workspace: str, *, reason: str) -> None:
        """The platform says the app left a workspace: pause its channels, keep their papers."""
        count = await asyncio.to_thread(
            self.service.pause_workspace, platform, workspace, reason=reason
        )
        for address in self.scheduler.known(platform, workspace):
            self.scheduler.update(address, None)
        log.warning("%s:%s gone (%s): %d channels paused", platform, workspace, reason, count)

    def stop(self) -> None:
        """Ask ``run`` to shut down (from the loop's thread)."""
        if self._stopped is not None:
            self._stopped.set()

    # -- running -------------------------------------------------------------

    async def run(self, *, ready: Callable[[], None] | None = None) -> None:
        """Start the adapters and the scheduler; return after ``stop``."""
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        try:
            for adapter in self.adapters.values():
                await adapter.start(self)
            self.scheduler.start()
            # Parsing every topic now spares the first digest hour that work.
            warming = asyncio.create_task(asyncio.to_thread(self.service.warm_topics))
            self._on_signals()
            log.info("running with %s", ", ".join(self.adapters))
            if ready is not None:
                ready()
            await self._stopped.wait()
            await warming
        finally:
            self.scheduler.shutdown()
            await self.scheduler.flush()
            for adapter in self.adapters.values():
                try:
                    await adapter.stop()
                except Exception:
                    log.exception("stopping the %s adapter failed", adapter.platform)

    def _on_signals(self) -> None:
        assert self._loop is not None
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError, ValueError):
                # Not the main thread (tests), or a platform without signals.
                return

    def _serves(self, info: ChannelInfo) -> bool:
        return parse_address(info.address).platform in self.adapters

    def _channels(self) -> list[ChannelInfo]:
        # A channel of a platform not running here keeps its papers in the
        # ledger until that platform's adapter runs again.
        return [info for info in self.service.scheduled_channels() if self._serves(info)]

    def _interrupted(self) -> list[str]:
        return [a for a in self.service.interrupted_channels() if parse_address(a).platform in self.adapters]

    def _post(self, message: Digest | NothingNew) -> None:
        """Post from a worker thread through the channel's adapter, on the loop."""
        assert self._loop is not None
        adapter = self.adapters.get(parse_address(message.channel).platform)
        if adapter is None:
            raise RuntimeError(f"no adapter for {message.channel} is running")
        future = asyncio.run_coroutine_threadsafe(adapter.post(message), self._loop)
        future.result(timeout=POST_TIMEOUT)

    def _ingest(self) -> None:
        for report in self.service.ingest():
            if report.changed or report.problems:
                log.info("%s", report.line())
