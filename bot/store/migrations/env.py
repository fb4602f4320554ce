"""Alembic environment: runs migrations on the engine ``bot.store.db`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from bot.store.models import Base

config = context.config
engine = config.attributes["engine"]

# Any number: it names the lock below.
MIGRATION_LOCK = 0x64696765

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Processes starting together against a new database upgrade it one
        # after another: the later ones then find it current. (SQLite's own
        # write lock does this for a file.) Released at commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies tables.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
