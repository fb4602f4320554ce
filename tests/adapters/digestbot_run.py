"""`digestbot run` in a process of its own, as a user starts it, with its log read as it comes.

    with DigestbotRun(tmp_path, DISCORD_TOKEN="x", ...) as bot:
        bot.wait_for("retrying in")
    assert bot.returncode == 0 and "Traceback" not in bot.log

Leaving the block sends SIGTERM (what Ctrl-C, docker stop and systemd send) if
the process still runs, and waits for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

TIMEOUT = 30.0


def refused_port() -> int:
    """A local port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DigestbotRun:
    def __init__(self, tmp_path: Path, *args: str, **environ: str) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DIGESTBOT_", "SLACK_", "DISCORD_"))}
        env.update(DIGESTBOT_FEEDS="", **environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), *args, "run"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=env, cwd=tmp_path,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self._lines)

    def lines(self, text: str) -> list[str]:
        return [line.rstrip("\n") for line in self._lines if text in line]

    def wait_for(self, text: str, count: int = 1) -> list[str]:
        """The log's lines holding ``text``, once there are ``count`` of them."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.lines(text)) < count:
            if time.monotonic() > deadline or (self.process.poll() is not None
                                               and not self._reader.is_alive()):
                raise AssertionError(f"{count} x {text!r} never logged; log:\n{self.log}")
            time.sleep(0.02)
        return self.lines(text)

    def wait(self) -> int:
        """Wait for the process to end by itself; its exit code."""
        code = self.process.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        return code

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.wait()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.wait()
            raise


class LateRelay:
    """The network coming back: ``port`` refuses connections until :meth:`open`, then relays
    each one to ``target`` (a fake's port on 127.0.0.1)."""

    def __init__(self, target: int) -> None:
        self.port = refused_port()
        self._target = target
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        server = self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for sock in self._sockets:
            sock.close()
