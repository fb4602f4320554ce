"""A bot process killed (SIGKILL) in the middle of a digest run loses and repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.service import Service
from bot.config import Settings
from bot.model.messages import Digest, NothingNew
from bot.model.papers import PaperRecord
from tests.console_bot import ConsoleBot

A, B = "console:local/alpha", "console:local/beta"

# The child runs the scheduler's entry point for both channels. Its "chat
# platform" accepts alpha's digest and hangs on beta's, where it is killed.
CHILD = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime, timedelta
    from bot.config import Settings
    from bot.chat.service import Service
    from pathlib import Path

    service = Service.open(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2]))

    def send(message):
        print("POSTED", message.channel, ",".join(i.paper_id for i in message.items), flush=True)
        if message.channel.endswith("beta"):
            print("HANGING", flush=True)
            time.sleep(600)

    now = datetime.now(UTC)
    service.deliverer.run_scheduled({"console:local/alpha": now, "console:local/beta": now}, send=send)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_digest_neither_loses_nor_duplicates(
    tmp_path: Path, database_url: str, backend: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    service = Service.open(settings)
    service.catalog.import_records([
        PaperRecord(id="2611.00001", title="Breast MRI screening"),
        PaperRecord(id="2611.00002", title="Breast ultrasound"),
        PaperRecord(id="2611.00003", title="Liver CT"),
    ])
    service.channels.subscribe(A, "breast")
    service.channels.subscribe(B, "breast OR liver")
    service.close()

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(settings.data_dir), database_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    lines = []
    for line in child.stdout:
        lines.append(line.strip())
        if line.strip() == "HANGING":
            break
    else:
        child.wait(10)
        pytest.fail(f"the child ended early: {lines} {child.stderr.read() if child.stderr else ''}")
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert lines[0].split(" ")[:2] == ["POSTED", A]
    assert sorted(lines[0].split(" ")[2].split(",")) == ["2611.00001", "2611.00002"]

    restarted = Service.open(settings)
    posted: list[Digest | NothingNew] = []
    if backend == "sqlite":
        # Restarted, the bot finishes the interrupted digest at once (its
        # papers were left pending): beta's papers come again (its post never
        # completed); alpha's were confirmed and never come again.
        bot = ConsoleBot(restarted, lambda: datetime.now(UTC), catch_up=timedelta(0)).start()
        try:
            screen = bot.wait_for("3 new papers for breast OR liver")
        finally:
            bot.stop()
        assert "Breast MRI screening" in screen and "Liver CT" in screen
        assert screen.count("new papers for") == 1
    else:
        # On PostgreSQL beta's claim died with the process's transaction:
        # nothing is pending, and the day's run (the scheduler's catch-up, or
        # another process) posts beta's papers; alpha's were confirmed.
        restarted.deliverer.run_scheduled({A: datetime.now(UTC), B: datetime.now(UTC)}, send=posted.append)
        assert [(m.channel, sorted(i.paper_id for i in m.items)) for m in posted] == [
            (B, ["2611.00001", "2611.00002", "2611.00003"])]
        posted.clear()
    # Once confirmed, never again.
    restarted.deliverer.run_scheduled({A: datetime.now(UTC), B: datetime.now(UTC)}, send=posted.append)
    assert posted == []
    for address in (A, B):
        assert restarted.deliverer.digest(address, send=posted.append) is None
    restarted.close()
