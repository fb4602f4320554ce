"""The core never imports a chat platform library or an adapter, and only bot/ingest/fetch.py
opens network connections."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "bot"
FORBIDDEN = ("slack_bolt", "slack_sdk", "discord", "adapters")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_platform(path: Path) -> None:
    assert not _imports(path) & set(FORBIDDEN)


ADAPTERS = CORE.parent / "adapters"


def _adapter_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.startswith("adapters.")}


def _platform(path: Path) -> str:
    """``console`` for adapters/console.py, ``slack`` for adapters/slack/render.py."""
    return path.relative_to(ADAPTERS).parts[0].removesuffix(".py")


@pytest.mark.parametrize(
    "path", sorted(ADAPTERS.rglob("*.py")), ids=lambda p: str(p.relative_to(ADAPTERS))
)
def test_adapters_never_import_each_other(path: Path) -> None:
    others = {name for name in _adapter_imports(path) if name.split(".")[1] != _platform(path)}
    assert not others


def test_console_adapter_is_registered() -> None:
    from bot.chat.runtime import adapter_factories

    assert "console" in adapter_factories()


NETWORK = ("socket", "ssl", "http", "urllib.request", "aiohttp", "requests", "httpx")


def _full_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_only_the_fetcher_opens_connections_in_the_core(path: Path) -> None:
    if path.name == "fetch.py":
        return
    networked = {
        name for name in _full_imports(path)
        if any(name == n or name.startswith(n + ".") for n in NETWORK)
    }
    networked.discard("http")  # http.HTTPStatus alone opens nothing
    assert not networked, f"{sorted(networked)}: network I/O belongs in bot/ingest/fetch.py"
