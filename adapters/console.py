"""The console adapter: a terminal as one chat channel, ``console:local/<name>``.

A person types ``/papers subscribe breast mri`` at the prompt and reads the
reply; digests print when the scheduler posts them. It is what
``digestbot run`` uses when no chat platform is configured and stdin is a
terminal, and what the whole-bot tests drive. Terminal I/O (stdin and
stdout) is its only I/O.

While it shows a prompt it owns the terminal: the log lines that go to the
same terminal (stderr) are written above the prompt, which is drawn again
below them, rather than into the middle of it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.config import Setting, Settings
from bot.digest.deliver import OnPart
from bot.model.address import ChannelAddress
from bot.model.messages import Digest, IncomingCommand, NothingNew
from bot.text.terminal import format_message

if TYPE_CHECKING:
    from bot.chat.runtime import Bot

__all__ = ["SETTINGS", "ConsoleAdapter", "create"]

WORKSPACE = "local"
PREFIX = "/papers"
PROMPT = "papers> "
# Back to the start of the line, and clear it: where the prompt stood.
_CLEAR_LINE = "\r\x1b[K"
QUIT = {"quit", "exit", "/quit", "/exit"}
# The settings this adapter declares (bot.config.all_settings): none, the
# terminal needs no credentials and no address.
SETTINGS: tuple[Setting, ...] = ()


def create(settings: Settings) -> ConsoleAdapter:
    """The entry point: the console is always available."""
    return ConsoleAdapter()


class ConsoleAdapter:
    """Reads ``/papers ...`` lines from ``stdin`` and writes to ``stdout``.

    With ``stdin=None`` it reads nothing and ``say`` is the only way in
    (tests, and embedding).
    """

    platform = "console"

    def __init__(
        self,
        *,
        channel: str = "general",
        stdin: TextIO | None = sys.stdin,
        stdout: TextIO = sys.stdout,
        user: str = "you",
    ) -> None:
        self.channel = channel
        self.address = ChannelAddress(self.platform, WORKSPACE, channel)
        self._stdin = stdin
        self._stdout = stdout
        self._user = user
        self._bot: Bot | None = None
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._interactive = bool(stdin is not None and stdin.isatty())
        self._quitting = False
        self._started = False
        # Writes come from the loop and, as log lines, from any thread.
        self._screen = threading.RLock()
        self._prompted = False  # the prompt is the last thing on the screen
        self._log_lines: list[tuple[logging.Handler, _AbovePrompt]] = []

    async def start(self, bot: Bot) -> None:
        self._bot = bot
        self._started = True
        if self._interactive and _is_terminal(self._stdout):
            self._take_log_lines()
        self._write(
            f"digestbot console: this terminal is the channel {self.address}.\n"
            "Type /papers help for the commands, quit to stop. Digests print here when due."
        )
        if self._stdin is not None:
            loop = asyncio.get_running_loop()
            # A daemon thread, not asyncio.to_thread: a read blocked on the
            # terminal must not keep the process alive after quit.
            threading.Thread(target=self._read, args=(loop,), daemon=True).start()
            self._reader = asyncio.create_task(self._serve())
        self._prompt()

    async def post(
        self, message: Digest | NothingNew, *,
        on_part: OnPart | None = None,
    ) -> int:
        self._write(format_message(message))
        self._prompt()
        if on_part is not None and isinstance(message, Digest):
            on_part([item.paper_id for item in message.items])  # a terminal names no message
        return 1

    async def stop(self) -> None:
        self._started = False
        if self._reader is not None:
            self._reader.cancel()
        self._give_log_lines_back()
        with self._screen:
            self._unprompt()  # the shell's prompt comes next, on a clean line

    async def is_connected(self) -> bool:
        # Its input may end (quit, Ctrl-D) while the bot shuts down: then it is gone.
        return self._started and not self._quitting and not (
            self._reader is not None and self._reader.done()
        )

    async def say(self, line: str) -> None:
        """Handle one line as if typed at the prompt."""
        text = line.strip()
        if not text:
            return
        if text.lower() in QUIT:
            self._quitting = True
            if self._bot is not None:
                self._bot.stop()
            return
        command, _, rest = text.partition(" ")
        if command.lower() != PREFIX:
            self._write("Commands start with /papers, e.g. /papers search ct reconstruction. "
                        "Type /papers help for all of them, quit to stop.")
            return
        assert self._bot is not None, "say() before start()"
        reply = await self._bot.handle(
            IncomingCommand(
                platform=self.platform,
                workspace_id=WORKSPACE,
                channel_id=self.channel,
                user_id=self._user,
                text=rest,
            )
        )
        self._write(format_message(reply))

    async def _serve(self) -> None:
        while True:
            line = await self._lines.get()
            if line is None:  # end of input (after quit, the bot is stopping already)
                if self._bot is not None and not self._quitting:
                    self._bot.stop()
                return
            try:
                await self.say(line)
            except Exception as exc:  # the prompt survives a failed command
                self._write(f"That command failed: {exc}")
            self._prompt()

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self._stdin is not None
        for line in iter(self._stdin.readline, ""):
            with self._screen:
                self._prompted = False  # the Enter that ended the line moved to the next
            loop.call_soon_threadsafe(self._lines.put_nowait, line)
        loop.call_soon_threadsafe(self._lines.put_nowait, None)

    def _write(self, text: str) -> None:
        with self._screen:
            self._unprompt()
            self._stdout.write(text + "\n")
            self._stdout.flush()

    def _prompt(self) -> None:
        if self._interactive and not self._quitting:
            with self._screen:
                if not self._prompted:
                    self._stdout.write(PROMPT)
                    self._stdout.flush()
                    self._prompted = True

    def _unprompt(self) -> None:
        """Take the prompt off the screen (the screen lock held)."""
        if self._prompted:
            self._stdout.write(_CLEAR_LINE if _is_terminal(self._stdout) else "\n")
            self._stdout.flush()
            self._prompted = False

    def above_prompt(self, write: Callable[[], object]) -> None:
        """Run ``write`` (it writes to the terminal) with the prompt moved below what it wrote."""
        with self._screen:
            prompted = self._prompted
            self._unprompt()
            try:
                write()
            finally:
                if prompted and not self._quitting:
                    self._stdout.write(PROMPT)
                    self._stdout.flush()
                    self._prompted = True

    def _take_log_lines(self) -> None:
        """Route the log handlers that write to a terminal through ``above_prompt``."""
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and _is_terminal(handler.stream):
                routed = _AbovePrompt(self, handler)
                root.addHandler(routed)
                root.removeHandler(handler)
                self._log_lines.append((handler, routed))

    def _give_log_lines_back(self) -> None:
        root = logging.getLogger()
        for handler, routed in self._log_lines:
            root.addHandler(handler)
            root.removeHandler(routed)
        self._log_lines.clear()


class _AbovePrompt(logging.Handler):
    """A terminal's log handler, its records written above the console's prompt."""

    def __init__(self, console: ConsoleAdapter, inner: logging.Handler) -> None:
        super().__init__(inner.level)
        self.console = console
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        self.console.above_prompt(lambda: self.inner.handle(record))


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # closed
        return False
