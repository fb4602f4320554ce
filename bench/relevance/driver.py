"""The bot's CLI verbs, run in this process on one data directory at a set time.

Each call is ``digestbot --data-dir DIR VERB ...`` through ``bot.cli.main``,
with ``DIGESTBOT_FIXED_NOW`` as the clock (the bot's one way to replay a
moment), stdout captured. Nothing of the bot is called around the CLI.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli import main

__all__ = ["Bot", "BotError"]


class BotError(RuntimeError):
    pass


class Bot:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.now: datetime | None = None

    def __call__(self, *args: str) -> str:
        saved = {k: v for k, v in os.environ.items() if k.startswith("DIGESTBOT_")}
        for name in saved:
            del os.environ[name]
        if self.now is not None:
            os.environ["DIGESTBOT_FIXED_NOW"] = self.now.isoformat()
        os.environ["DIGESTBOT_FEEDS"] = ""
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["--data-dir", str(self.data_dir), *args])
        finally:
            for name in [k for k in os.environ if k.startswith("DIGESTBOT_")]:
                del os.environ[name]
            os.environ.update(saved)
        if code != 0:
            raise BotError(f"digestbot {' '.join(args)}: exit {code}: {err.getvalue().strip()}")
        return out.getvalue()

    def json(self, *args: str) -> Any:
        return json.loads(self(*args))
