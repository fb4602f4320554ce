"""A second `digestbot run` on the data directory of a running bot (started by
mistake: it stands by, or is quit at once) leaves `digestbot health` saying
the running bot is healthy: each process writes its own heartbeat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START_SECONDS = 60


def _health(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, "health"], check=False, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=60)


def test_a_second_run_that_stops_leaves_the_running_bot_healthy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DIGESTBOT_", "SLACK_", "DISCORD_"))}
    env.update(DIGESTBOT_FEEDS="", DIGESTBOT_SEEDS_DIR=str(tmp_path / "no-seeds"))
    command = [sys.executable, "-m", "bot", "--data-dir", str(data)]
    # As under a process manager: no terminal, so no console; stopped by SIGTERM.
    live = subprocess.Popen([*command, "run"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + START_SECONDS
        while (health := _health(command, env, tmp_path)).returncode != 0:
            assert time.monotonic() < deadline, health.stdout
            assert live.poll() is None, live.communicate()[1]
            time.sleep(0.2)
        assert "ok   scheduler: leader" in health.stdout, health.stdout

        # The second run finds the scheduler lease taken and is quit at once
        # (how it ends is not the point: that it leaves the first one be is).
        subprocess.run([*command, "run", "--console"], check=False, input="quit\n",
                       capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=START_SECONDS)
        assert live.poll() is None

        health = _health(command, env, tmp_path)
        assert health.returncode == 0, health.stdout
        assert f"ok   bot: process {live.pid} running since" in health.stdout
        assert "ok   scheduler: leader" in health.stdout
        assert health.stdout.splitlines()[-1] == "healthy"
    finally:
        live.send_signal(signal.SIGTERM)
        _, errors = live.communicate(timeout=START_SECONDS)
    assert live.returncode == 0, errors
    # Once the bot itself stops, health says so.
    health = _health(command, env, tmp_path)
    assert health.returncode == 1
    assert f"FAIL bot: process {live.pid} stopped" in health.stdout
