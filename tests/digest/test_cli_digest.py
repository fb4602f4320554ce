"""`digestbot digest`: its output is the digest's delivery, so the papers are
recorded as delivered only once it was written out.

The real command in a process of its own: one whose reader went away, and one
killed (SIGKILL) while it is still writing (its reader reads nothing, the pipe
fills). Either way the papers stay for the next digest, which prints them.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.config import Settings
from bot.model.papers import PaperRecord

CHANNEL = "console:local/general"
PAPERS = 50  # with their abstracts, more than a pipe holds (64 KiB)


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTBOT_")}
    env.update(DIGESTBOT_DATA_DIR=str(tmp_path / "data"), DIGESTBOT_DATABASE_URL=database_url)
    return env


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    service = Service.open(Settings(data_dir=tmp_path / "data", database_url=database_url))
    service.catalog.import_records(
        PaperRecord(id=f"2611.{n:05d}", title=f"Breast MRI study number {n}",
                    abstract=f"Study {n}. " + "A long abstract that goes on and on. " * 60)
        for n in range(PAPERS))
    service.channels.subscribe(CHANNEL, "breast")
    service.channels.set_max_papers(CHANNEL, PAPERS)
    service.close()
    return _env(tmp_path, database_url)


def _digest(env: dict[str, str], cwd: Path, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "bot", "digest", "--channel", CHANNEL, "--json"],
        env=env, cwd=cwd, stdin=subprocess.DEVNULL, **popen)


def _printed_again(env: dict[str, str], cwd: Path) -> list[str]:
    rerun = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--channel", CHANNEL, "--json"],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    printed = json.loads(rerun.stdout)
    assert printed is not None, "the papers were recorded as delivered, never printed"
    return [paper["id"] for paper in printed["papers"]]


def test_a_digest_its_reader_never_took_stays_for_the_next_one(
    tmp_path: Path, env: dict[str, str],
) -> None:
    child = _digest(env, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader is gone before anything is written (`| head -c 0`)
    error = child.stderr.read().decode()
    assert child.wait(60) == 1
    assert error == ("digestbot: the digest could not be written (Broken pipe); its 50 papers "
                     "stay for the next digest.\n")
    assert len(_printed_again(env, tmp_path)) == PAPERS


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_digest_killed_while_it_is_written_stays_for_the_next_one(
    tmp_path: Path, env: dict[str, str],
) -> None:
    read, write = os.pipe()
    try:
        child = _digest(env, tmp_path, stdout=write, stderr=subprocess.DEVNULL)
        os.close(write)
        # Nothing is read: the pipe fills and the command waits in its write.
        deadline = time.monotonic() + 60
        while _waiting(read) < 60_000:
            assert child.poll() is None, "the command ended though nobody read its output"
            assert time.monotonic() < deadline, f"only {_waiting(read)} bytes written"
            time.sleep(0.05)
        child.kill()
        child.wait(10)
    finally:
        os.close(read)
    assert len(_printed_again(env, tmp_path)) == PAPERS


def _waiting(fd: int) -> int:
    """How many bytes the pipe holds, written and not read."""
    size = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, size)
    return int.from_bytes(size, sys.byteorder)
