"""The whole bot driven by plain text through the console adapter.

``ConsoleBot`` runs the real ``Bot`` (scheduler, core, console adapter) on
an event loop in a background thread, against a real SQLite catalog, with
an injected clock; ``others`` adds chat adapters (Slack against a fake). Tests read as a conversation::

    bot.say("/papers subscribe breast mri")
    assert "now follows" in bot.say("/papers topics")
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from adapters.console import ConsoleAdapter
from bot.chat.runtime import POST_TIMEOUT, Adapter, Bot
from bot.chat.service import Service
from bot.store.db import SchedulerLease

TIMEOUT = 20.0
T = TypeVar("T")


class ConsoleBot:
    def __init__(self, service: Service, clock: Callable[[], datetime], *,
                 catch_up: timedelta = timedelta(hours=6), others: Sequence[Adapter] = (),
                 health_file: Path | None = None, lease: SchedulerLease | None = None,
                 post_timeout: float = POST_TIMEOUT) -> None:
        self.service = service
        self.screen = io.StringIO()
        self.adapter = ConsoleAdapter(stdin=None, stdout=self.screen)
        self.bot = Bot(service=service, adapters=[self.adapter, *others], clock=clock,
                       catch_up=catch_up, ingest_every=None, health_file=health_file,
                       lease=lease, post_timeout=post_timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._running: Future[None] | None = None

    def start(self) -> ConsoleBot:
        self._thread.start()
        ready = threading.Event()
        self._running = asyncio.run_coroutine_threadsafe(self.bot.run(ready=ready.set), self._loop)
        if not ready.wait(TIMEOUT):
            self._running.result(0)  # raises what went wrong
        return self

    def say(self, text: str) -> str:
        """Type ``text`` at the prompt; returns what the channel showed in answer."""
        mark = len(self.screen.getvalue())
        asyncio.run_coroutine_threadsafe(self.adapter.say(text), self._loop).result(TIMEOUT)
        return self.screen.getvalue()[mark:]

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the bot's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(TIMEOUT)

    def wait_for(self, text: str) -> str:
        """The screen once ``text`` appears on it (posted by the scheduler)."""
        deadline = time.monotonic() + TIMEOUT
        while text not in self.screen.getvalue():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen.getvalue()}")
            time.sleep(0.02)
        self.settle()
        return self.screen.getvalue()

    def settle(self) -> None:
        """Wait for digests the scheduler has queued to finish."""
        asyncio.run_coroutine_threadsafe(self.bot.scheduler.flush(), self._loop).result(TIMEOUT)

    def stop(self) -> None:
        if self._running is not None:
            self._loop.call_soon_threadsafe(self.bot.stop)
            self._running.result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()
