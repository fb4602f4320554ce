"""A setting's declaration: its name, type, default, the values it accepts, its help.

``Setting`` is what the core (``bot.config.core``) and every chat adapter
(``adapters/<platform>/settings.py``) declare their settings with; ``coerce``
turns what a file, the environment or a flag gave into a value of its type.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import UserError

__all__ = ["ENV_PREFIX", "ConfigError", "Setting", "coerce"]

ENV_PREFIX = "DIGESTBOT_"


class ConfigError(UserError):
    """A setting could not be read; the message says which and how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting and the values it accepts.

    ``type``: ``str``, ``int``, ``bool``, ``Path`` or ``tuple`` (of strings).
    ``range`` bounds an int (inclusive), ``schemes`` are a URL's accepted
    prefixes, ``check`` says what else is wrong with a value (or None). A
    ``secret`` comes from the environment variable ``NAME`` only, into
    ``Settings.secrets``. The example config repeats ``help`` word for word.
    """

    name: str
    type: type
    help: str
    default: Any = None
    default_factory: Callable[[], Any] | None = None
    range: tuple[int, int] | None = None
    schemes: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    secret: bool = False

    @property
    def env(self) -> str:
        return self.name.upper() if self.secret else ENV_PREFIX + self.name.upper()

    def initial(self) -> Any:
        return self.default_factory() if self.default_factory else self.default

    def complaint(self, value: Any) -> str | None:
        """What is wrong with ``value`` (already of ``type``), or None."""
        if value is None:
            return None
        if self.range is not None:
            low, high = self.range
            if not low <= value <= high:
                return f"{self.name} must be between {low} and {high}, got {value}."
        if self.schemes and not value.startswith(self.schemes):
            return f"{self.name} must start with {' or '.join(self.schemes)}, got {value!r}."
        return self.check(value) if self.check else None


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}


# What a setting's value must be, as a person reads it in an error.
_KINDS: dict[type, str] = {
    int: "a whole number", float: "a number", bool: "true or false", str: "text",
    tuple: "a list of strings",
}


def coerce(setting: Setting, value: Any, origin: str) -> Any:
    """``value`` as ``setting.type``; a ConfigError names ``origin`` (a file, a variable)."""
    if value is None:
        return None
    try:
        if setting.type is Path:
            if not isinstance(value, str | os.PathLike):
                raise TypeError
            return Path(value).expanduser()
        if setting.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
                return _BOOLEANS[value.strip().lower()]
            raise TypeError
        if setting.type is int:
            if isinstance(value, bool):
                raise TypeError
            return int(value)
        if setting.type is str:
            if not isinstance(value, str):
                raise TypeError
            return value
        if setting.type is tuple:
            # A TOML array of strings, or one string of items separated by spaces.
            items = value.replace(",", " ").split() if isinstance(value, str) else value
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise TypeError
            return tuple(items)
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError(f"unhandled setting type {setting.type}")
    kind = _KINDS.get(setting.type, f"a {setting.type.__name__}")
    raise ConfigError(f"{origin}: {setting.name} must be {kind}, got {value!r}.")

