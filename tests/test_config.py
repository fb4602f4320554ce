"""Settings: declared once, documented in the example file, read in precedence order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import SETTINGS, ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "digestbot.example.toml"


def _comment_text(path: Path) -> str:
    lines = [line.lstrip("#").strip() for line in path.read_text("utf-8").splitlines()]
    return " ".join(line for line in lines if line)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_example(setting) -> None:
    text = EXAMPLE.read_text("utf-8")
    assert re.search(rf"^# {setting.name} = ", text, re.MULTILINE), setting.name
    # The help text is there word for word (line breaks aside).
    assert " ".join(setting.help.split()) in _comment_text(EXAMPLE)


def test_example_lists_no_unknown_setting() -> None:
    names = re.findall(r"^# (\w+) = ", EXAMPLE.read_text("utf-8"), re.MULTILINE)
    assert sorted(names) == sorted(s.name for s in SETTINGS)


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
        ('search_limit = "many"\n', "search_limit must be a int"),
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
    with pytest.raises(ConfigError, match="DIGESTBOT_QUIET_DAY_LINE: quiet_day_line must be a bool"):
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
