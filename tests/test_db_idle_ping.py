"""A pooled PostgreSQL connection the server dropped while it sat idle is replaced, not used.

The pool pings only connections idle longer than ``IDLE_PING_SECONDS`` (a ping per
transaction would be a round trip per step); this checks that the ping still happens.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from orchestrator.store import db as db_module
from orchestrator.store.db import Database


def test_a_connection_dropped_while_idle_is_replaced_on_checkout(database_url, monkeypatch):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to drop a connection")
    database = Database(database_url)
    killer = create_engine(database_url)
    try:
        with database.read() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # the pooled connection counts as idle
        with database.read() as session:
            second = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        database.dispose()
        killer.dispose()
