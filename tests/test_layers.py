"""The core never imports a chat platform library or an adapter, only bot/ingest/fetch.py
opens network connections, and inside the core nothing imports upward and nothing cycles."""

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


# -- the order inside the core ------------------------------------------------------------------
#
# model <- store <- ingest | search <- digest <- chat <- cli. A package may import its own
# modules and those of the packages below it; ingest and search stand side by side and never
# import each other. config, errors and gcpause are leaves anyone may import; text may import
# model. Every import counts: inside functions and under TYPE_CHECKING too, which is where a
# cycle hides.

RANK = {"model": 0, "store": 1, "ingest": 2, "search": 2, "digest": 3, "chat": 4, "cli": 5,
        "__main__": 6}
ORDER = "model <- store <- ingest | search <- digest <- chat <- cli"
LEAVES = {"config": set(), "errors": set(), "gcpause": set(), "text": {"model"}}


def _unit(module: str) -> str:
    """``bot.digest.select`` -> ``digest``; ``bot.cli`` -> ``cli``."""
    return module.split(".")[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bot_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bot."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "bot":
                found.update(f"bot.{a.name}" for a in node.names if not a.name.startswith("__"))
            elif node.module.startswith("bot."):
                found.add(node.module)
    return found


CORE_MODULES = {
    _module_name(p): p for p in sorted(CORE.rglob("*.py")) if "migrations" not in p.parts
}


def _allowed(importer: str, imported: str) -> bool:
    source, target = _unit(importer), _unit(imported)
    if source == target or target == "__init__" or imported == "bot":
        return True
    if source in LEAVES:
        return target in LEAVES[source] or (target in LEAVES and not LEAVES[target])
    if target in LEAVES:
        return True
    if source not in RANK or target not in RANK:
        return False
    if RANK[source] == RANK[target]:
        return False  # ingest and search: side by side, never through each other
    return RANK[target] < RANK[source]


@pytest.mark.parametrize("name", sorted(CORE_MODULES))
def test_nothing_in_the_core_imports_upward(name: str) -> None:
    wrong = sorted(i for i in _bot_imports(CORE_MODULES[name]) if not _allowed(name, i))
    assert not wrong, f"{name} imports {wrong}: the order is {ORDER}"


def test_every_core_module_has_a_place_in_the_order() -> None:
    units = {_unit(name) for name in CORE_MODULES if name != "bot"}
    assert units <= set(RANK) | set(LEAVES), units - set(RANK) - set(LEAVES)


def test_there_is_no_import_cycle_in_the_core() -> None:
    graph = {
        name: {i for i in _bot_imports(path) if i in CORE_MODULES and i != name}
        for name, path in CORE_MODULES.items()
    }
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [name, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"


def test_the_layer_check_sees_an_upward_import() -> None:
    # The rules above must be able to fail.
    assert not _allowed("bot.store.catalog", "bot.search.index")
    assert not _allowed("bot.ingest.run", "bot.search.catalog")
    assert not _allowed("bot.model.messages", "bot.chat.commands")
    assert not _allowed("bot.config", "bot.store.db")
    assert _allowed("bot.digest.select", "bot.search.rank")
    assert _allowed("bot.text.terminal", "bot.model.messages")
