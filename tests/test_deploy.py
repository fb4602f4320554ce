"""The deployments: docker compose (docker-compose.yml, the Dockerfile,
config/.env.example and config/db.env.example) and systemd
(config/digestbot.service).

No Docker engine runs here. Debian's ``docker-compose`` validates the compose
file without one (``config -q``; CI installs it, see .ci/run) and shows each
service's environment as compose will pass it (``config``); the rest is
read as data: what runs, how its health is checked, where its data lives,
and that the example environments name only known variables and hold no
secret. ``systemd-analyze verify`` checks the unit where systemd is
installed; everywhere, its command line is parsed by digestbot's own parser.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.cli.main import build_parser
from bot.config import all_settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "config" / ".env.example"
UNIT = ROOT / "config" / "digestbot.service"
DB_ENV_EXAMPLE = ROOT / "config" / "db.env.example"
# The core's settings and the installed adapters'.
SETTINGS = all_settings()
SECRET_NAMES = tuple(s.env for s in SETTINGS if s.secret)

# Variables of the PostgreSQL image and of its client library (libpq).
POSTGRES_NAMES = {"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "PGPASSWORD"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def env_example(path: Path = ENV_EXAMPLE) -> list[tuple[str, str, bool]]:
    """(NAME, value, commented out) for every NAME=value line of config/.env.example."""
    found = []
    for line in path.read_text("utf-8").splitlines():
        match = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(\S*)", line.strip())
        if match:
            found.append((match[2], match[3], bool(match[1])))
    return found


# -- docker-compose config -q ------------------------------------------------------


def _docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        reason = ("docker-compose is not installed (Debian: apt-get install docker-compose); "
                  "it validates docker-compose.yml without a Docker engine")
        if os.environ.get("CI"):
            pytest.fail(f"CI must validate the compose file: {reason}")
        pytest.skip(reason)
    return binary


def _compose_run(tmp_path: Path, text: str, *args: str,
                 env_files: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`docker-compose ARGS` on ``text`` in a directory of its own, a checkout's copy.

    ``env_files``: the config/ files to write there (name: text); by default
    copies of the examples, as the README's first step makes them. The user's
    own config/.env and config/db.env are never read.
    """
    (tmp_path / "config").mkdir(exist_ok=True)
    if env_files is None:
        env_files = {".env": ENV_EXAMPLE.read_text("utf-8"),
                     "db.env": DB_ENV_EXAMPLE.read_text("utf-8")}
    for name, content in env_files.items():
        (tmp_path / "config" / name).write_text(content, "utf-8")
    (tmp_path / "docker-compose.yml").write_text(text, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    return subprocess.run(
        [_docker_compose(), "--project-directory", str(tmp_path), "-f",
         str(tmp_path / "docker-compose.yml"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )


def _validate(tmp_path: Path, text: str, **kwargs: dict[str, str]
              ) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` on ``text``."""
    return _compose_run(tmp_path, text, "config", "-q", **kwargs)


def test_docker_compose_validates_the_file(tmp_path: Path) -> None:
    result = _validate(tmp_path, COMPOSE.read_text("utf-8"))
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_a_broken_file(tmp_path: Path) -> None:
    # The failing twin: the same file with a misspelt dependency condition.
    text = COMPOSE.read_text("utf-8").replace("service_healthy", "service_healty")
    assert text != COMPOSE.read_text("utf-8")
    result = _validate(tmp_path, text)
    assert result.returncode != 0
    assert "service_healty" in result.stderr


def _env_files() -> list[str]:
    """Every env file the compose file names, in order, each once."""
    names: list[str] = []
    for service in compose()["services"].values():
        files = service.get("env_file", [])
        for name in [files] if isinstance(files, str) else files:
            if name not in names:
                names.append(name)
    return names


def test_a_fresh_checkout_is_told_which_env_file_to_make_first(tmp_path: Path) -> None:
    # Debian's docker-compose (1.29) has no optional env files: on a fresh
    # checkout compose names the missing file, and the README's first step
    # makes each one from its example.
    result = _validate(tmp_path, COMPOSE.read_text("utf-8"), env_files={})
    assert result.returncode != 0
    assert "env file" in result.stderr.lower()
    assert any(f"config/{name}" in result.stderr for name in (".env", "db.env"))
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Deploy with docker compose", 1)[1].split("\n## ", 1)[0]
    first_step = section.split("\n1. ", 1)[1].split("\n2. ", 1)[0]
    assert _env_files() == ["config/db.env", "config/.env"]
    for name in _env_files():
        assert (ROOT / f"{name}.example").is_file(), name
        assert f"cp {name}.example {name}" in " ".join(first_step.split()), name


def test_the_database_gets_the_password_and_never_a_chat_token(tmp_path: Path) -> None:
    # Every variable filled in, as a user's files would be; compose shows what
    # each service's environment will hold.
    bot_env = "".join(f"{name}=set-{name.lower()}\n"
                      for name, _, _ in env_example() if not name.startswith("DIGESTBOT_"))
    db_env = "".join(f"{name}=the-password\n" for name, _, _ in env_example(DB_ENV_EXAMPLE))
    result = _compose_run(tmp_path, COMPOSE.read_text("utf-8"), "config",
                          env_files={".env": bot_env, "db.env": db_env})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    db, bot = services["db"]["environment"], services["bot"]["environment"]
    assert set(db) <= POSTGRES_NAMES
    assert db["POSTGRES_PASSWORD"] == "the-password"
    assert not set(SECRET_NAMES) & set(db)
    assert set(SECRET_NAMES) <= set(bot)
    assert bot["PGPASSWORD"] == "the-password"


# -- the compose file as data ------------------------------------------------------


def test_compose_runs_postgres_and_the_bot_built_here() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "bot"}
    assert services["db"]["image"].split(":")[0] == "postgres"
    assert services["bot"]["build"] == "."
    assert (ROOT / "Dockerfile").is_file()
    for service in services.values():
        assert service["restart"] == "unless-stopped"


def test_postgres_has_a_health_check_and_a_named_volume() -> None:
    spec = compose()
    db = spec["services"]["db"]
    assert "pg_isready" in db["healthcheck"]["test"]
    volume, target = db["volumes"][0].split(":")[:2]
    assert target == "/var/lib/postgresql/data"
    assert volume in spec["volumes"]


def test_bot_console_can_be_attached_and_detached() -> None:
    # `docker compose attach bot`, then Ctrl-P Ctrl-Q: detaching needs a terminal.
    bot = compose()["services"]["bot"]
    assert bot["stdin_open"] is True and bot["tty"] is True


def test_bot_waits_for_a_healthy_database_and_checks_its_own_health() -> None:
    spec = compose()
    bot = spec["services"]["bot"]
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["healthcheck"]["test"] == ["CMD", "digestbot", "health"]
    # The first start migrates the database and indexes the seed catalog.
    assert bot["healthcheck"]["start_period"]
    volume, target = bot["volumes"][0].split(":")[:2]
    assert target == "/data"
    assert volume in spec["volumes"]


def test_bot_has_a_terminal_for_its_console() -> None:
    # `docker compose attach bot` types into the console, which starts only
    # with a terminal on stdin.
    bot = compose()["services"]["bot"]
    assert bot["tty"] is True and bot["stdin_open"] is True


def test_bot_reaches_the_compose_database_without_a_password_in_the_file() -> None:
    spec = compose()
    db, bot = spec["services"]["db"], spec["services"]["bot"]
    url = make_url(bot["environment"]["DIGESTBOT_DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "db"
    assert url.password is None  # PGPASSWORD, from config/.env
    assert url.username == db["environment"]["POSTGRES_USER"]
    assert url.database == db["environment"]["POSTGRES_DB"]


def test_secrets_and_settings_come_from_the_config_env_files_only() -> None:
    text = COMPOSE.read_text("utf-8")
    services = compose()["services"]
    assert services["bot"]["env_file"] == ["config/db.env", "config/.env"]
    assert services["db"]["env_file"] == "config/db.env"
    # No ${VARIABLE}: nothing is read from the shell or a project .env.
    assert "${" not in text
    secret_like = set(SECRET_NAMES) | {"POSTGRES_PASSWORD", "PGPASSWORD"}
    for service in services.values():
        assert not secret_like & set(service.get("environment", {}))


# -- the Dockerfile ------------------------------------------------------------------


def test_dockerfile_runs_the_bot_as_a_non_root_user_with_data_in_a_volume() -> None:
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert steps[-1] == ("CMD", '["digestbot", "run"]')
    assert json.loads(steps[-1][1]) == ["digestbot", "run"]
    users = [args for kind, args in steps if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("VOLUME", "/data") in steps
    env = " ".join(args for kind, args in steps if kind == "ENV")
    assert "DIGESTBOT_DATA_DIR=/data" in env
    # The bot logs one line per feed ingested and per digest posted at INFO.
    assert "DIGESTBOT_LOG_LEVEL=INFO" in env
    # An installed package has no seeds/ beside it.
    assert ("WORKDIR", "/app") in steps and ("COPY", "seeds ./seeds") in steps
    assert "DIGESTBOT_SEEDS_DIR=/app/seeds" in env
    health = [args for kind, args in steps if kind == "HEALTHCHECK"]
    assert health and health[0].endswith('CMD ["digestbot", "health"]')


def test_dockerfile_installs_without_dev_extras_and_copies_what_exists() -> None:
    steps = dockerfile()
    installs = [args for kind, args in steps if kind == "RUN" and "pip install" in args]
    assert installs == [installs[0]] and re.search(r"pip install \.(\s|$)", installs[0])
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    for kind, args in steps:
        if kind == "COPY":
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert source not in ignored, source
    # Never in the build context: secrets, the venv, history, caches, benchmark output.
    assert {"config/.env", "config/db.env", ".venv", ".git", "bench", "**/__pycache__"} <= ignored


# -- config/.env.example ---------------------------------------------------------------


def test_env_example_names_only_known_variables_and_every_secret() -> None:
    known = set(SECRET_NAMES) | {s.env for s in SETTINGS}
    names = [name for name, _, _ in env_example()]
    assert not set(names) - known, f"unknown names: {sorted(set(names) - known)}"
    active = {name for name, _, commented in env_example() if not commented}
    assert set(SECRET_NAMES) <= active
    assert len(names) == len(set(names))


def test_db_env_example_holds_the_postgres_password_alone() -> None:
    names = [name for name, _, commented in env_example(DB_ENV_EXAMPLE) if not commented]
    assert sorted(names) == ["PGPASSWORD", "POSTGRES_PASSWORD"]


def test_env_example_holds_no_secret() -> None:
    secret_names = set(SECRET_NAMES) | {"POSTGRES_PASSWORD", "PGPASSWORD"}
    for name, value, _ in env_example() + env_example(DB_ENV_EXAMPLE):
        if name in secret_names:
            assert value == "", f"{name} must be empty in the example"
        # Token shapes of Slack and Discord, and long random strings.
        assert not re.search(r"xox[abpr]-|xapp-|[A-Za-z0-9_\-.]{24,}", value), name
    # Settings given a value in the example load as written once uncommented.
    settings = {name: value for name, value, _ in env_example() if name.startswith("DIGESTBOT_")}
    assert settings
    load_settings(environ=settings)


def test_config_env_files_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text("utf-8").splitlines()
    assert {"config/.env", "config/db.env"} <= set(ignored)


def test_readme_gives_the_first_run_steps() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Deploy with docker compose", 1)[1].split("\n## ", 1)[0]
    for step in ("cp config/.env.example config/.env",
                 "cp config/db.env.example config/db.env", "docker compose up -d",
                 "digestbot health", "docker compose logs"):
        assert step in section, step


# -- the systemd unit -------------------------------------------------------------------


def unit() -> dict[str, list[tuple[str, str]]]:
    """Each section's (key, value) pairs in order (a key may repeat), comments dropped."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in UNIT.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def test_unit_runs_the_bot_without_a_console_as_digestbot_parses_it() -> None:
    service = dict(unit()["Service"])
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/.venv/bin/digestbot")
    args = build_parser().parse_args(command[1:])  # exits on a flag digestbot lacks
    assert args.verb == "run" and args.no_console is True


def test_unit_stops_cleanly_and_restarts_on_failure_as_an_ordinary_user() -> None:
    sections = unit()
    service = dict(sections["Service"])
    assert service["Type"] == "simple"
    assert service["KillSignal"] == "SIGTERM"
    # Longer than a post may take (POST_TIMEOUT) before the kill.
    assert int(service["TimeoutStopSec"]) > 120
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("root", "0")
    assert service["WorkingDirectory"].startswith("/")
    assert service["EnvironmentFile"].startswith("-/")  # optional
    environment = [value for key, value in sections["Service"] if key == "Environment"]
    assert f"DIGESTBOT_DATA_DIR=/var/lib/{service['StateDirectory']}" in environment
    assert dict(sections["Install"])["WantedBy"] == "multi-user.target"


def _verify(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` on the unit, its paths moved to this checkout's venv."""
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip("systemd-analyze is not installed (it comes with systemd)")
    venv = Path(sys.executable).parent
    text = text.replace("/opt/digestbot/.venv/bin/", f"{venv}/")
    text = text.replace("/opt/digestbot", str(tmp_path))
    path = tmp_path / "digestbot.service"
    path.write_text(text, "utf-8")
    return subprocess.run([binary, "verify", str(path)], check=False, capture_output=True, text=True,
                          timeout=60)


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    done = _verify(tmp_path, UNIT.read_text("utf-8"))
    assert done.returncode == 0, done.stderr
    assert "digestbot.service" not in done.stderr, done.stderr


def test_systemd_verify_finds_a_broken_unit(tmp_path: Path) -> None:
    done = _verify(tmp_path, UNIT.read_text("utf-8").replace("KillSignal=SIGTERM",
                                                             "KillSignal=SIGTERMINATE"))
    assert "digestbot.service:" in done.stderr and "SIGTERMINATE" in done.stderr, done.stderr


def test_readme_says_how_to_install_the_unit() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## Running the bot", 1)[1].split("\n## ", 1)[0]
    for step in ("config/digestbot.service", "systemctl enable --now digestbot",
                 "journalctl -u digestbot", "--no-console"):
        assert step in section, step
