"""Where a catalog phase finds the catalog: the service on the data directory, and its papers' source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["catalog_source", "open_service"]


def open_service(data_dir: Path, database_url: str | None = None) -> Any:
    """The service on ``data_dir`` (index, and the SQLite file unless ``database_url``)."""
    from bot.chat.service import Service
    from bot.config import Settings

    return Service.open(Settings(data_dir=data_dir, database_url=database_url))


def catalog_source(params: dict[str, Any]) -> Path | str:
    """Where the papers are: the SQLite file in the data directory, or the database URL."""
    return params.get("database_url") or Path(params["data_dir"]) / "digestbot.sqlite3"
