"""Schema migrations (Alembic), run by ``lienthong db upgrade`` and at ``make run``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run on every start (no-op when current)."""
    with database.engine.begin() as connection:
        config = alembic_config(database)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
