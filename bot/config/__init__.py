"""Settings, each declared once as data: its help text, type, default and range.

This package is the only reader of the process environment. A setting's value
comes from, in order of precedence: a command-line flag, the environment
variable ``DIGESTBOT_<NAME>``, the TOML config file, its default. A secret
(a chat token) comes from the environment only, under its platform's usual
name (``SLACK_BOT_TOKEN``), and never prints.

The core declares its settings in ``core`` (``SETTINGS``), each with a
``setting.Setting``; a chat adapter declares
its platform's beside its factory, as the ``SETTINGS`` of the module its
``digestbot.adapters`` entry point names, so a third-party adapter brings its
own. ``Settings`` holds a value for each (``all_settings()``), read as
``settings.feed_timeout`` or ``settings.get("slack_http")``.

The config file is ``--config FILE`` or ``DIGESTBOT_CONFIG``; without either,
``config/digestbot.toml`` in the working directory is read when it exists.
``config/digestbot.example.toml`` documents every setting (a test checks it).
This module finds the declarations, holds the values (``Settings``,
``Secrets``) and reads them (``load_settings``).
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bot.config.core import SETTINGS, default_data_dir
from bot.config.setting import ENV_PREFIX, ConfigError, Setting, coerce

__all__ = [
    "ADAPTER_GROUP",
    "SETTINGS",
    "ConfigError",
    "Secrets",
    "Setting",
    "Settings",
    "all_settings",
    "default_data_dir",
    "load_settings",
]

DEFAULT_CONFIG_FILE = Path("config/digestbot.toml")
# bot.chat.runtime loads the adapters' factories from the same group.
ADAPTER_GROUP = "digestbot.adapters"


@functools.cache
def all_settings() -> tuple[Setting, ...]:
    """The core's settings, then each installed adapter's, by entry-point name.

    Every command reads them, so the module an entry point names should be
    light: Slack's and Discord's import their SDKs only in ``create``.
    """
    declared = list(SETTINGS)
    owner = {setting.name: "the core" for setting in SETTINGS}
    for point in sorted(entry_points(group=ADAPTER_GROUP), key=lambda ep: ep.name):
        try:
            module = import_module(point.module)
        except ImportError as exc:
            raise ConfigError(
                f"The {point.name} adapter ({point.value}) cannot be imported: {exc}; "
                "reinstall it, or uninstall it."
            ) from exc
        for setting in getattr(module, "SETTINGS", ()):
            if setting.name in owner:
                raise ConfigError(
                    f"The {point.name} adapter declares the setting {setting.name!r}, which "
                    f"{owner[setting.name]} declares too; uninstall one of them."
                )
            owner[setting.name] = f"the {point.name} adapter"
            declared.append(setting)
    return tuple(declared)


def _declared(*, secret: bool) -> dict[str, Setting]:
    return {s.name: s for s in all_settings() if s.secret is secret}


class _Values:
    """Read-only values of declared settings, by name: ``.name`` or ``.get("name")``."""

    __slots__ = ("_values",)

    def __init__(self, declared: Mapping[str, Setting], values: Mapping[str, Any]) -> None:
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        object.__setattr__(self, "_values", {
            name: values[name] if name in values else setting.initial()
            for name, setting in declared.items()
        })

    def get(self, name: str) -> Any:
        """The value of the setting ``name`` (the core's or an adapter's)."""
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise KeyError(f"no setting {name!r}; the settings are {', '.join(values)}")
        return values[name]

    def __getattr__(self, name: str) -> Any:
        # Reached only for names that are not attributes of the class: settings.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.get(name)
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} are read-only")

    def _state(self) -> tuple[Any, ...]:
        return tuple(self._values.items())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Values) and type(other) is type(self)
                and self._state() == other._state())

    def __hash__(self) -> int:
        return hash(self._state())


class Secrets(_Values):
    """The secret settings (chat platform credentials), from the environment only.

    ``secrets.slack_bot_token`` is ``SLACK_BOT_TOKEN``, None when unset or blank.
    """

    __slots__ = ()

    def __init__(self, **values: str | None) -> None:
        super().__init__(_declared(secret=True), values)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        return cls(**{
            name: environ[s.env].strip()
            for name, s in _declared(secret=True).items()
            if environ.get(s.env, "").strip()
        })

    def __repr__(self) -> str:
        # Never print a secret, e.g. in a traceback or a debug log.
        present = [s.env for name, s in _declared(secret=True).items() if self._values[name]]
        return f"Secrets(present={present})"


class Settings(_Values):
    """A value for each declared setting (``all_settings()``), and the secrets.

    ``settings.feed_timeout`` or ``settings.get("slack_http")``. Built by
    ``load_settings``, which checks every value; built directly (tests,
    benchmarks) it takes any declared setting as a keyword, gives the
    others their defaults, and checks nothing.
    """

    __slots__ = ("secrets", "config_file")

    def __init__(
        self, *, secrets: Secrets | None = None, config_file: Path | None = None, **values: Any
    ) -> None:
        super().__init__(_declared(secret=False), values)
        object.__setattr__(self, "secrets", secrets if secrets is not None else Secrets())
        object.__setattr__(self, "config_file", config_file)

    def _state(self) -> tuple[Any, ...]:
        return (*super()._state(), self.secrets, self.config_file)

    def __repr__(self) -> str:
        fields = [f"{name}={value!r}" for name, value in self._values.items()]
        fields += [f"secrets={self.secrets!r}", f"config_file={self.config_file!r}"]
        return f"Settings({', '.join(fields)})"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'digestbot.sqlite3'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}.") from None
    known = _declared(secret=False)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; known settings are "
            f"{', '.join(known)} (see config/digestbot.example.toml)."
        )
    return data


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings from flags (``overrides``), environment, file and defaults."""
    env = os.environ if environ is None else environ
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    file_values: dict[str, Any] = {}
    if config_file is not None:
        file_values = _read_file(config_file)
    elif DEFAULT_CONFIG_FILE.is_file():
        config_file = DEFAULT_CONFIG_FILE
        file_values = _read_file(config_file)

    declared = _declared(secret=False)
    values: dict[str, Any] = {}
    for setting in declared.values():
        if overrides and overrides.get(setting.name) is not None:
            value = coerce(setting, overrides[setting.name], "command line")
        elif env.get(setting.env) or (setting.type is tuple and setting.env in env):
            # An empty list is a value: DIGESTBOT_FEEDS= means no feeds.
            value = coerce(setting, env[setting.env], setting.env)
        elif setting.name in file_values:
            value = coerce(setting, file_values[setting.name], str(config_file))
        else:
            continue
        values[setting.name] = value
    if values.get("data_dir") is None:
        values.pop("data_dir", None)
    settings = Settings(config_file=config_file, secrets=Secrets.from_environ(env), **values)
    for setting in declared.values():
        complaint = setting.complaint(settings.get(setting.name))
        if complaint:
            raise ConfigError(complaint)
    return settings
