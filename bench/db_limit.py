"""(g) the database limit: simple committed transactions per second, one connection.

Each transaction is ``UPDATE`` of one row then ``COMMIT`` (durable: PostgreSQL with its
configured ``synchronous_commit``; SQLite in WAL with ``synchronous=NORMAL``, as the
application runs it).  The persisted step is compared with this: it cannot beat it.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from orchestrator.store.db import Database


def committed_transactions(url: str, seconds: float = 3.0) -> dict[str, Any]:
    db = Database(url)
    try:
        with db.write() as session:
            session.execute(text("DROP TABLE IF EXISTS bench_probe"))
            session.execute(text("CREATE TABLE bench_probe (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"))
            session.execute(text("INSERT INTO bench_probe VALUES (1, 0)"))
        count, began = 0, time.perf_counter()
        with db.engine.connect() as connection:
            while time.perf_counter() - began < seconds:
                with connection.begin():
                    connection.execute(text("UPDATE bench_probe SET n = n + 1 WHERE id = 1"))
                count += 1
        elapsed = time.perf_counter() - began
        with db.write() as session:
            session.execute(text("DROP TABLE bench_probe"))
        return {"transactions": count, "seconds": round(elapsed, 2), "per_second": round(count / elapsed, 1)}
    finally:
        db.dispose()
