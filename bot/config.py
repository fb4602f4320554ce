"""Settings, declared once as data with help text.

This module is the only reader of the process environment. A setting's value
comes from, in order of precedence: a command-line flag, the environment
variable ``DIGESTBOT_<NAME>``, the TOML config file, the default below.

The config file is ``--config FILE`` or ``DIGESTBOT_CONFIG``; without either,
``config/digestbot.toml`` in the working directory is read when it exists.
``config/digestbot.example.toml`` documents every setting (a test checks it).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

__all__ = [
    "SECRET_NAMES",
    "SETTINGS",
    "ConfigError",
    "Secrets",
    "Setting",
    "Settings",
    "default_data_dir",
    "load_settings",
]

ENV_PREFIX = "DIGESTBOT_"
DEFAULT_CONFIG_FILE = Path("config/digestbot.toml")
# The project's own seed catalog, beside the packages in a source checkout.
PROJECT_SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


class ConfigError(Exception):
    """A setting could not be read; the message says which and how to fix it."""


@dataclass(frozen=True, kw_only=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="data_dir",
        type=Path,
        default=None,
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
        help="Number of results `search` shows when no --limit is given (1-100).",
    ),
    Setting(
        name="timezone",
        type=str,
        default="UTC",
        help="IANA time zone a new channel's digest time is read in, e.g. Europe/Berlin "
        "(each channel can change its own).",
    ),
    Setting(
        name="digest_time",
        type=str,
        default="09:00",
        help="Local time HH:MM of a new channel's daily digest (each channel can change its own).",
    ),
    Setting(
        name="first_digest_days",
        type=int,
        default=7,
        help="A channel's first digest takes the papers that entered the catalog in this "
        "many days before it (1-365), so a new subscriber is not flooded.",
    ),
    Setting(
        name="catch_up_hours",
        type=int,
        default=6,
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
        help="RSS/Atom feeds the ingest job reads, as a list of URLs (in the environment: "
        "separated by spaces; empty for none). `digestbot feeds add URL` adds more. "
        "Default: arXiv's daily feeds of cs.CV, eess.IV and cs.LG.",
    ),
    Setting(
        name="feed_timeout",
        type=int,
        default=30,
        help="Seconds a feed server may take to connect or to send more data (5-300); a "
        "whole fetch may take four times as long.",
    ),
    Setting(
        name="feed_max_mb",
        type=int,
        default=20,
        help="Largest feed document read, in MB (1-500); a bigger response is refused and "
        "the feed marked failing.",
    ),
    Setting(
        name="index_memory_mb",
        type=int,
        default=1024,
        help="Memory in MB the search index may fill while writing before it flushes "
        "to disk (64-16384). More makes large imports faster; small imports use "
        "only what they need.",
    ),
    Setting(
        name="slack_api_url",
        type=str,
        default="https://slack.com/api/",
        help="Base URL of the Slack Web API. Change it only for a Slack deployment with its "
        "own API host (GovSlack-style) or a proxy.",
    ),
    Setting(
        name="slack_http",
        type=bool,
        default=False,
        help="Serve Slack over HTTP (a public request URL, verified with SLACK_SIGNING_SECRET) "
        "instead of Socket Mode (true or false). `digestbot run --slack-http` sets it too.",
    ),
    Setting(
        name="port",
        type=int,
        default=3000,
        help="Port of the HTTP server for Slack's request URLs (/slack/events, and with OAuth "
        "/slack/install and /slack/oauth_redirect), 1-65535.",
    ),
    Setting(
        name="discord_api_url",
        type=str,
        default="https://discord.com/api/v10",
        help="Base URL of Discord's REST API. Change it only to go through a REST proxy in "
        "front of Discord.",
    ),
    Setting(
        name="discord_gateway_url",
        type=str,
        default="wss://gateway.discord.gg/",
        help="Discord's gateway websocket URL. Change it only to go through a gateway proxy.",
    ),
    Setting(
        name="discord_dev_guild",
        type=int,
        default=0,
        help="A Discord server (guild) id whose /papers commands are synced at start for "
        "instant use while developing; 0 syncs them globally only (which Discord may take "
        "a while to show).",
    ),
    Setting(
        name="log_level",
        type=str,
        default="WARNING",
        help="Logging level: DEBUG, INFO, WARNING or ERROR.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def _valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("digestbot", appauthor=False))


# Secrets come from the environment only, under the platforms' usual names,
# never from a file that could be committed.
SECRET_NAMES: tuple[str, ...] = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
)


@dataclass(frozen=True, kw_only=True)
class Secrets:
    """Chat platform credentials, read from the environment (``SECRET_NAMES``)."""

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    discord_token: str | None = None

    def __repr__(self) -> str:
        # Never print a secret, e.g. in a traceback or a debug log.
        present = [name for name in SECRET_NAMES if getattr(self, name.lower())]
        return f"Secrets(present={present})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        return cls(**{
            name.lower(): environ[name].strip()
            for name in SECRET_NAMES
            if environ.get(name, "").strip()
        })


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The values of ``SETTINGS``; the defaults come from that table."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = _BY_NAME["database_url"].default
    seeds_dir: Path = _BY_NAME["seeds_dir"].default
    search_limit: int = _BY_NAME["search_limit"].default
    timezone: str = _BY_NAME["timezone"].default
    digest_time: str = _BY_NAME["digest_time"].default
    first_digest_days: int = _BY_NAME["first_digest_days"].default
    catch_up_hours: int = _BY_NAME["catch_up_hours"].default
    quiet_day_line: bool = _BY_NAME["quiet_day_line"].default
    ingest_minutes: int = _BY_NAME["ingest_minutes"].default
    feeds: tuple[str, ...] = _BY_NAME["feeds"].default
    feed_timeout: int = _BY_NAME["feed_timeout"].default
    feed_max_mb: int = _BY_NAME["feed_max_mb"].default
    index_memory_mb: int = _BY_NAME["index_memory_mb"].default
    slack_api_url: str = _BY_NAME["slack_api_url"].default
    slack_http: bool = _BY_NAME["slack_http"].default
    port: int = _BY_NAME["port"].default
    discord_api_url: str = _BY_NAME["discord_api_url"].default
    discord_gateway_url: str = _BY_NAME["discord_gateway_url"].default
    discord_dev_guild: int = _BY_NAME["discord_dev_guild"].default
    log_level: str = _BY_NAME["log_level"].default
    secrets: Secrets = field(default_factory=lambda: Secrets())
    config_file: Path | None = None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'digestbot.sqlite3'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


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
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting {unknown[0]!r}; known settings are "
            f"{', '.join(_BY_NAME)} (see config/digestbot.example.toml)."
        )
    return data


def _check_range(settings: Settings, name: str, low: int, high: int) -> None:
    value = getattr(settings, name)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}.")


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

    values: dict[str, Any] = {}
    for setting in SETTINGS:
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
    if not 1 <= settings.search_limit <= 100:
        raise ConfigError(f"search_limit must be between 1 and 100, got {settings.search_limit}.")
    if not _valid_timezone(settings.timezone):
        raise ConfigError(
            f"timezone {settings.timezone!r} is not an IANA time zone; use e.g. UTC or Europe/Berlin."
        )
    if not _HHMM.fullmatch(settings.digest_time):
        raise ConfigError(f"digest_time must be HH:MM (24-hour), got {settings.digest_time!r}.")
    if not 1 <= settings.first_digest_days <= 365:
        raise ConfigError(
            f"first_digest_days must be between 1 and 365, got {settings.first_digest_days}."
        )
    _check_range(settings, "catch_up_hours", 0, 48)
    _check_range(settings, "ingest_minutes", 5, 1440)
    _check_range(settings, "port", 1, 65535)
    _check_range(settings, "feed_timeout", 5, 300)
    _check_range(settings, "feed_max_mb", 1, 500)
    for url in settings.feeds:
        if not url.startswith(("https://", "http://")) or len(url) > 2000:
            raise ConfigError(
                f"feeds: {url[:200]!r} is not an http(s) URL of at most 2,000 characters; "
                "list feed URLs such as "
                "https://rss.arxiv.org/rss/cs.CV."
            )
    for name, schemes in (
        ("slack_api_url", ("https://", "http://")),
        ("discord_api_url", ("https://", "http://")),
        ("discord_gateway_url", ("wss://", "ws://")),
    ):
        value = getattr(settings, name)
        if not value.startswith(schemes):
            raise ConfigError(f"{name} must start with {' or '.join(schemes)}, got {value!r}.")
    if not 64 <= settings.index_memory_mb <= 16384:
        raise ConfigError(
            f"index_memory_mb must be between 64 and 16384, got {settings.index_memory_mb}."
        )
    return settings
