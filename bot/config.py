"""Settings, each declared once as data: its help text, type, default and range.

This module is the only reader of the process environment. A setting's value
comes from, in order of precedence: a command-line flag, the environment
variable ``DIGESTBOT_<NAME>``, the TOML config file, its default. A secret
(a chat token) comes from the environment only, under its platform's usual
name (``SLACK_BOT_TOKEN``), and never prints.

The core declares its own settings (``SETTINGS``); each chat adapter
declares its platform's beside its factory: the module an entry point of the
``digestbot.adapters`` group names has a ``SETTINGS`` tuple of ``Setting``
(``adapters/slack/__init__.py``). ``all_settings()`` is both, and
``Settings`` holds a value for each, read as ``settings.feed_timeout`` or
``settings.get("slack_http")``; so a third-party adapter brings its own
settings by declaring its entry point.

The config file is ``--config FILE`` or ``DIGESTBOT_CONFIG``; without either,
``config/digestbot.toml`` in the working directory is read when it exists.
``config/digestbot.example.toml`` documents every setting (a test checks it).
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from bot.errors import UserError

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

ENV_PREFIX = "DIGESTBOT_"
DEFAULT_CONFIG_FILE = Path("config/digestbot.toml")
# The project's own seed catalog, beside the packages in a source checkout.
PROJECT_SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
# bot.chat.runtime loads the adapters' factories from the same group.
ADAPTER_GROUP = "digestbot.adapters"


class ConfigError(UserError):
    """A setting could not be read; the message says which and how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Setting:
    """One setting and the values it accepts.

    ``type`` is one of ``str``, ``int``, ``bool``, ``Path`` or ``tuple`` (of
    strings). ``range`` bounds an int (inclusive), ``schemes`` are the
    prefixes a URL may start with, ``check`` says what else is wrong with a
    value (or None). A ``secret`` is read from the environment variable
    ``NAME`` only, never from a file or a flag, and lives in
    ``Settings.secrets``. ``help`` is repeated word for word in
    ``config/digestbot.example.toml``.
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


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("digestbot", appauthor=False))


def _timezone_complaint(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"timezone {name!r} is not an IANA time zone; use e.g. UTC or Europe/Berlin."
    return None


_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def _digest_time_complaint(text: str) -> str | None:
    if _HHMM.fullmatch(text):
        return None
    return f"digest_time must be HH:MM (24-hour), got {text!r}."


def _feeds_complaint(urls: tuple[str, ...]) -> str | None:
    for url in urls:
        if not url.startswith(("https://", "http://")) or len(url) > 2000:
            return (
                f"feeds: {url[:200]!r} is not an http(s) URL of at most 2,000 characters; "
                "list feed URLs such as https://rss.arxiv.org/rss/cs.CV."
            )
    return None


# The core's settings; the chat platforms' are their adapters' (all_settings).
SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="data_dir",
        type=Path,
        default_factory=default_data_dir,
        help="Directory for everything digestbot keeps on disk: the default SQLite "
        "database and the search index. Default: the per-user data directory "
        "(on Linux ~/.local/share/digestbot).",
    ),
    Setting(
        name="database_url",
        type=str,
        default=None,
        help="SQLAlchemy database URL of the catalog, e.g. "
        "postgresql+psycopg://user@host/digestbot. Default: a SQLite file "
        "digestbot.sqlite3 in the data directory.",
    ),
    Setting(
        name="seeds_dir",
        type=Path,
        default=PROJECT_SEEDS_DIR,
        help="Directory of seed files that `digestbot seed` imports when given no path.",
    ),
    Setting(
        name="search_limit",
        type=int,
        default=10,
        range=(1, 100),
        help="Number of results `search` shows when no --limit is given (1-100).",
    ),
    Setting(
        name="timezone",
        type=str,
        default="UTC",
        check=_timezone_complaint,
        help="IANA time zone a new channel's digest time is read in, e.g. Europe/Berlin "
        "(each channel can change its own).",
    ),
    Setting(
        name="digest_time",
        type=str,
        default="09:00",
        check=_digest_time_complaint,
        help="Local time HH:MM of a new channel's daily digest (each channel can change its own).",
    ),
    Setting(
        name="first_digest_days",
        type=int,
        default=7,
        range=(1, 365),
        help="A channel's first digest takes the papers that entered the catalog in this "
        "many days before it (1-365), so a new subscriber is not flooded.",
    ),
    Setting(
        name="catch_up_hours",
        type=int,
        default=6,
        range=(0, 48),
        help="A digest missed while the bot was down is posted once when it starts again, "
        "if its time was at most this many hours ago (0-48; 0 never catches up).",
    ),
    Setting(
        name="quiet_day_line",
        type=bool,
        default=False,
        help="On a scheduled day with nothing new, post one short \"nothing new today\" "
        "line instead of staying silent (true or false).",
    ),
    Setting(
        name="ingest_minutes",
        type=int,
        default=60,
        range=(5, 1440),
        help="How often `digestbot run` looks for new papers, in minutes (5-1440): the "
        "configured feeds and the seed directory.",
    ),
    Setting(
        name="feeds",
        type=tuple,
        default=(
            "https://rss.arxiv.org/rss/cs.CV",
            "https://rss.arxiv.org/rss/eess.IV",
            "https://rss.arxiv.org/rss/cs.LG",
        ),
        check=_feeds_complaint,
        help="RSS/Atom feeds the ingest job reads, as a list of URLs (in the environment: "
        "separated by spaces; empty for none). `digestbot feeds add URL` adds more. "
        "Default: arXiv's daily feeds of cs.CV, eess.IV and cs.LG.",
    ),
    Setting(
        name="feed_timeout",
        type=int,
        default=30,
        range=(5, 300),
        help="Seconds a feed server may take to connect or to send more data (5-300); a "
        "whole fetch may take four times as long.",
    ),
    Setting(
        name="feed_max_mb",
        type=int,
        default=20,
        range=(1, 500),
        help="Largest feed document read, in MB (1-500); a bigger response is refused and "
        "the feed marked failing.",
    ),
    Setting(
        name="index_memory_mb",
        type=int,
        default=1024,
        range=(64, 16384),
        help="Memory in MB the search index may fill while writing before it flushes "
        "to disk (64-16384). More makes large imports faster; small imports use "
        "only what they need.",
    ),
    Setting(
        name="log_level",
        type=str,
        default="WARNING",
        help="Logging level: DEBUG, INFO, WARNING or ERROR.",
    ),
)


@functools.cache
def all_settings() -> tuple[Setting, ...]:
    """The core's settings, then each installed adapter's, by entry-point name.

    An adapter's are the ``SETTINGS`` of the module its entry point names
    (none when it has no such attribute). Only that module is imported, so
    it should be a light one: the packages' ``__init__`` import their
    platform SDKs only when the adapter is created.
    """
    declared = list(SETTINGS)
    owner = {setting.name: "the core" for setting in SETTINGS}
    for point in sorted(entry_points(group=ADAPTER_GROUP), key=lambda ep: ep.name):
        for setting in getattr(import_module(point.module), "SETTINGS", ()):
            if setting.name in owner:
                raise ConfigError(
                    f"The {point.name} adapter declares the setting {setting.name!r}, which "
                    f"{owner[setting.name]} declares too; uninstall one of them."
                )
            owner[setting.name] = f"the {point.name} adapter"
            declared.append(setting)
    return tuple(declared)


def _values_declared() -> dict[str, Setting]:
    return {s.name: s for s in all_settings() if not s.secret}


class Secrets:
    """The secret settings' values (chat platform credentials), from the environment.

    Read as attributes named after the settings: ``secrets.slack_bot_token``
    is ``SLACK_BOT_TOKEN``, None when unset or blank.
    """

    __slots__ = ("_values",)

    def __init__(self, **values: str | None) -> None:
        names = {s.name for s in all_settings() if s.secret}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"Secrets() got an unexpected keyword argument {unknown[0]!r}")
        object.__setattr__(self, "_values", {name: values.get(name) for name in names})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        return cls(**{
            s.name: environ[s.env].strip()
            for s in all_settings()
            if s.secret and environ.get(s.env, "").strip()
        })

    def __getattr__(self, name: str) -> str | None:
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise AttributeError(f"no secret setting {name!r}")
        return values[name]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secrets are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secrets) and self._values == other._values

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._values.items())))

    def __repr__(self) -> str:
        # Never print a secret, e.g. in a traceback or a debug log.
        present = [s.env for s in all_settings() if s.secret and self._values.get(s.name)]
        return f"Secrets(present={present})"


class Settings:
    """A value for each declared setting (``all_settings()``), and the secrets.

    ``settings.feed_timeout`` or ``settings.get("feed_timeout")``. Built by
    ``load_settings``, which checks every value; built directly (tests,
    benchmarks) it takes any declared setting as a keyword, gives the
    others their defaults, and checks nothing.
    """

    __slots__ = ("_values", "secrets", "config_file")

    def __init__(
        self,
        *,
        secrets: Secrets | None = None,
        config_file: Path | None = None,
        **values: Any,
    ) -> None:
        declared = _values_declared()
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise TypeError(f"Settings() got an unexpected keyword argument {unknown[0]!r}")
        resolved = {
            name: values[name] if name in values else setting.initial()
            for name, setting in declared.items()
        }
        object.__setattr__(self, "_values", resolved)
        object.__setattr__(self, "secrets", secrets if secrets is not None else Secrets())
        object.__setattr__(self, "config_file", config_file)

    def get(self, name: str) -> Any:
        """The value of the setting ``name`` (a core's or an adapter's)."""
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
        raise AttributeError("Settings are read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and (
            (self._values, self.secrets, self.config_file)
            == (other._values, other.secrets, other.config_file)
        )

    def __hash__(self) -> int:
        return hash((tuple(self._values.items()), self.secrets, self.config_file))

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


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
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
    kind = "a list of strings" if setting.type is tuple else f"a {setting.type.__name__}"
    raise ConfigError(f"{origin}: {setting.name} must be {kind}, got {value!r}.")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}.") from None
    known = _values_declared()
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

    declared = _values_declared()
    values: dict[str, Any] = {}
    for setting in declared.values():
        if overrides and overrides.get(setting.name) is not None:
            value = _coerce(setting, overrides[setting.name], "command line")
        elif env.get(setting.env) or (setting.type is tuple and setting.env in env):
            # An empty list is a value: DIGESTBOT_FEEDS= means no feeds.
            value = _coerce(setting, env[setting.env], setting.env)
        elif setting.name in file_values:
            value = _coerce(setting, file_values[setting.name], str(config_file))
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
