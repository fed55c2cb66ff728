"""Alembic environment: the URL comes from the caller (``lienthong db upgrade``), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from orchestrator.calendar import models as _calendar_models  # noqa: F401  (registers its tables)
from orchestrator.dossiers import models as _dossier_models  # noqa: F401  (registers its tables)
from orchestrator.notify import models as _notify_models  # noqa: F401  (registers its tables)
from orchestrator.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
