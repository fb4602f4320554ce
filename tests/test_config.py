"""Settings: declared once (by the core or by an adapter), documented in the example
file, read in precedence order."""

from __future__ import annotations

import re
import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from bot import config
from bot.config import Setting, Settings, all_settings, load_settings
from bot.errors import UserError

ConfigError = config.ConfigError
# The core's and the installed adapters' (Slack's and Discord's).
VALUES = [s for s in all_settings() if not s.secret]
SECRETS = [s for s in all_settings() if s.secret]

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "digestbot.example.toml"


def _comment_text(path: Path) -> str:
    lines = [line.lstrip("#").strip() for line in path.read_text("utf-8").splitlines()]
    return " ".join(line for line in lines if line)


@pytest.mark.parametrize("setting", VALUES, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_example(setting) -> None:
    text = EXAMPLE.read_text("utf-8")
    assert re.search(rf"^# {setting.name} = ", text, re.MULTILINE), setting.name
    # The help text is there word for word (line breaks aside).
    assert " ".join(setting.help.split()) in _comment_text(EXAMPLE)


@pytest.mark.parametrize("setting", SECRETS, ids=lambda s: s.env)
def test_every_secret_is_documented_in_the_example(setting) -> None:
    assert re.search(rf"^# {setting.env}: ", EXAMPLE.read_text("utf-8"), re.MULTILINE)
    assert f"{setting.env}: {' '.join(setting.help.split())}" in _comment_text(EXAMPLE)


def test_example_lists_no_unknown_setting() -> None:
    names = re.findall(r"^# (\w+) = ", EXAMPLE.read_text("utf-8"), re.MULTILINE)
    assert sorted(names) == sorted(s.name for s in VALUES)
    secrets = re.findall(r"^# ([A-Z_]+): ", EXAMPLE.read_text("utf-8"), re.MULTILINE)
    assert sorted(secrets) == sorted(s.env for s in SECRETS)


def test_the_platforms_settings_are_their_adapters() -> None:
    from adapters.discord.settings import SETTINGS as DISCORD
    from adapters.slack.settings import SETTINGS as SLACK

    core = {s.name for s in config.SETTINGS}
    assert not [name for name in core if name.startswith(("slack_", "discord_")) or name == "port"]
    assert set(SLACK) | set(DISCORD) <= set(all_settings())
    assert {s.env for s in SECRETS} == {
        "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET", "DISCORD_TOKEN",
    }


def test_example_values_load_when_uncommented(tmp_path: Path) -> None:
    text = re.sub(r"^# (\w+ = )", r"\1", EXAMPLE.read_text("utf-8"), flags=re.MULTILINE)
    config = tmp_path / "digestbot.toml"
    config.write_text(text, "utf-8")
    settings = load_settings(config_file=config, environ={})
    assert settings.search_limit == 10
    assert settings.log_level == "WARNING"


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('search_limit = 7\ndata_dir = "/from/file"\nlog_level = "INFO"\n')
    env = {"DIGESTBOT_DATA_DIR": "/from/env", "DIGESTBOT_SEARCH_LIMIT": "20"}
    settings = load_settings(config_file=config, environ=env, overrides={"data_dir": "/from/flag"})
    assert settings.data_dir == Path("/from/flag")
    assert settings.search_limit == 20
    assert settings.log_level == "INFO"
    assert load_settings(environ={}).search_limit == 10


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = load_settings(environ={"DIGESTBOT_DATA_DIR": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'digestbot.sqlite3'}"
    assert settings.index_dir == tmp_path / "index"
    url = "postgresql+psycopg://u@h/db"
    assert load_settings(environ={"DIGESTBOT_DATABASE_URL": url}).effective_database_url == url


def test_config_file_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("search_limit = 3\n")
    assert load_settings(environ={"DIGESTBOT_CONFIG": str(config)}).search_limit == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("serch_limit = 3\n", "unknown setting 'serch_limit'"),
        ('search_limit = "many"\n', "search_limit must be a whole number"),
        ("search_limit = 1000\n", "between 1 and 100"),
        ("search_limit = \n", "not valid TOML"),
    ],
)
def test_bad_config_file_says_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=config, environ={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DIGESTBOT_SEARCH_LIMIT"):
        load_settings(environ={"DIGESTBOT_SEARCH_LIMIT": "ten"})


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("0", False), ("off", False)])
def test_switches_read_from_the_environment(text: str, value: bool) -> None:
    assert load_settings(environ={"DIGESTBOT_QUIET_DAY_LINE": text}).quiet_day_line is value


def test_bad_switch_and_out_of_range_hours_say_what_is_wrong() -> None:
    with pytest.raises(ConfigError, match="DIGESTBOT_QUIET_DAY_LINE: quiet_day_line must be true or false"):
        load_settings(environ={"DIGESTBOT_QUIET_DAY_LINE": "maybe"})
    with pytest.raises(ConfigError, match="catch_up_hours must be between 0 and 48, got 72"):
        load_settings(environ={"DIGESTBOT_CATCH_UP_HOURS": "72"})


def test_secrets_come_from_the_environment_only_and_never_print(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('slack_bot_token = "xoxb-from-file"\n')
    with pytest.raises(ConfigError, match="unknown setting 'slack_bot_token'"):
        load_settings(config_file=config, environ={})
    settings = load_settings(environ={"SLACK_BOT_TOKEN": "xoxb-secret", "DISCORD_TOKEN": " "})
    assert settings.secrets.slack_bot_token == "xoxb-secret"
    assert settings.secrets.discord_token is None
    assert "xoxb-secret" not in repr(settings)
    assert "SLACK_BOT_TOKEN" in repr(settings.secrets)


def test_adapter_settings_read_from_file_and_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('slack_http = true\nport = 8080\ndiscord_dev_guild = 42\n')
    settings = load_settings(config_file=config_file,
                             environ={"DIGESTBOT_PORT": "9090", "DISCORD_TOKEN": "t"})
    assert settings.get("slack_http") is True and settings.slack_http is True
    assert settings.get("port") == 9090
    assert settings.discord_dev_guild == 42
    assert settings.get("discord_api_url") == "https://discord.com/api/v10"
    assert settings.secrets.discord_token == "t"
    with pytest.raises(KeyError, match="no setting 'slack_port'"):
        settings.get("slack_port")
    with pytest.raises(AttributeError):
        _ = settings.slack_port


def test_ranges_and_schemes_live_with_the_setting() -> None:
    assert {s.name: s.range for s in all_settings() if s.range}["port"] == (1, 65535)
    with pytest.raises(ConfigError, match="port must be between 1 and 65535, got 0"):
        load_settings(environ={"DIGESTBOT_PORT": "0"})
    with pytest.raises(ConfigError, match="discord_gateway_url must start with wss:// or ws://"):
        load_settings(environ={"DIGESTBOT_DISCORD_GATEWAY_URL": "https://gateway"})
    with pytest.raises(ConfigError, match="index_memory_mb must be between 64 and 16384, got 8"):
        load_settings(environ={"DIGESTBOT_INDEX_MEMORY_MB": "8"})
    with pytest.raises(ConfigError, match="timezone 'Mars/Olympus' is not an IANA time zone"):
        load_settings(environ={"DIGESTBOT_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(ConfigError, match=r"digest_time must be HH:MM \(24-hour\), got '25:00'"):
        load_settings(environ={"DIGESTBOT_DIGEST_TIME": "25:00"})
    with pytest.raises(ConfigError, match="feeds: 'ftp://x' is not an http"):
        load_settings(environ={"DIGESTBOT_FEEDS": "ftp://x"})
    assert load_settings(environ={"DIGESTBOT_FEEDS": ""}).feeds == ()


def test_settings_built_with_keywords_take_defaults_and_refuse_unknown_names(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite:///x.sqlite3")
    assert settings.data_dir == tmp_path and settings.feed_timeout == 30
    assert settings.effective_database_url == "sqlite:///x.sqlite3"
    assert settings.index_dir == tmp_path / "index"
    assert settings.get("port") == 3000 and settings.secrets.slack_bot_token is None
    assert Settings(data_dir=tmp_path) == Settings(data_dir=tmp_path)
    with pytest.raises(TypeError, match="'serch_limit'"):
        Settings(serch_limit=3)
    with pytest.raises(AttributeError):
        settings.search_limit = 3  # type: ignore[misc]


@pytest.fixture
def third_party(monkeypatch: pytest.MonkeyPatch):
    """An installed adapter package "acme" that declares its own settings."""
    module = types.ModuleType("acme_chat")
    module.SETTINGS = (  # type: ignore[attr-defined]
        Setting(name="acme_rooms", type=int, default=3, range=(1, 9), help="Rooms."),
        Setting(name="acme_key", type=str, secret=True, help="Key."),
    )
    monkeypatch.setitem(sys.modules, "acme_chat", module)
    installed = config.entry_points(group=config.ADAPTER_GROUP)
    acme = EntryPoint(name="acme", value="acme_chat:create", group=config.ADAPTER_GROUP)
    monkeypatch.setattr(config, "entry_points", lambda group: [*installed, acme])
    all_settings.cache_clear()
    yield module
    all_settings.cache_clear()


def test_a_third_party_adapter_brings_its_own_settings(tmp_path: Path, third_party) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text("acme_rooms = 5\n")
    settings = load_settings(config_file=config_file, environ={"ACME_KEY": "k"})
    assert settings.get("acme_rooms") == 5 and settings.secrets.acme_key == "k"
    assert "ACME_KEY" in repr(settings.secrets) and "'k'" not in repr(settings)
    assert load_settings(environ={"DIGESTBOT_ACME_ROOMS": "7"}).acme_rooms == 7
    with pytest.raises(ConfigError, match="acme_rooms must be between 1 and 9, got 10"):
        load_settings(environ={"DIGESTBOT_ACME_ROOMS": "10"})


def test_two_adapters_declaring_one_setting_is_an_error(third_party) -> None:
    third_party.SETTINGS = (Setting(name="port", type=int, default=1, help="Port."),)
    with pytest.raises(ConfigError, match="The slack adapter declares the setting 'port', which "
                       "the acme adapter declares too"):
        all_settings()


def test_config_errors_are_user_errors() -> None:
    assert issubclass(ConfigError, UserError)
